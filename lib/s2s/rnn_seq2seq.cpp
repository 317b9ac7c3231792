#include "s2s/rnn_seq2seq.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

#include "s2s/activations.hpp"
#include "s2s/sequence_loss.hpp"

namespace s2s {

// ---------------------------------------------------------------------------------------------
// Caches (plain structs: what forward keeps for backward)

template <typename Real>
struct RnnSeq2Seq<Real>::EncoderCache {
  std::vector<Index> src;                      // (S·B) time-major
  std::vector<uword> lengths;                  // (B)
  uword batch = 0, steps = 0;
  Mat<Real> embedded;                          // (E × S·B)
  Mat<Real> embedded_dropped;                  // (E × S·B) the encoder's input
  DropoutCache<Real> embed_dropout;
  Mat<Real> outputs;                           // (H × S·B) the attention memory
  std::vector<RnnState<Real>> final_states;    // per encoder layer, (H × B)
  RnnStackCache<Real> rnn;
  AttentionKeys<Real> keys;
  Mat<Real> bridge_out;                        // (H × B) tanh bridge output
};

template <typename Real>
struct RnnSeq2Seq<Real>::StepCache {
  Mat<Real> x;                  // (X × N) decoder RNN input, when it is not just e_t
  Mat<Real> gx0;                // (G·H × N) layer 0's input projection from ProjectedEmbeddings
  RnnStackStepCache<Real> rnn;
  AttentionStepCache<Real> attn;
  Mat<Real> context;            // (H × N) c_t
  Mat<Real> weights;            // (S × N) a_t
  Mat<Real> combine_in;         // bahdanau (2H+E × N) [s_t; c_t; e_t]; luong (2H × N) [c_t; s_t]
};

template <typename Real>
struct RnnSeq2Seq<Real>::RnnDecodeState : DecodeState {
  EncoderCache encoder;
  std::vector<RnnState<Real>> states, next;  // per decoder layer (H × N)
  Mat<Real> feed;                            // (H × N) o_{t−1} (input feeding), zeros at t = 0
  Mat<Real> embedded, output, logits;        // (E × N), (H × N), (V × N)
  StepCache step;
  uword t = 0;
  std::vector<uword> source_of_row;          // which source each row decodes
  // Decoding tables, when cheaper than per-step products (encode()): the embedding part of the
  // decoder's layer-0 input projection and of Bahdanau's output projection, for every target id.
  Mat<Real> embed_to_gates;                  // (G·H × V) W_ih[:, :E] Emb_tgt, or empty
  Mat<Real> embed_to_output;                 // (H × V) W_o[:, 2H:] Emb_tgt (bahdanau), or empty
  ProjectedEmbeddings projected;             // the step's columns of the two tables
};

namespace {

// out.col(i) = table.col(ids[i]) (the <pad> id of a finished row is a valid column too).
template <typename Real>
void gather_columns(const Mat<Real>& table, const std::vector<Index>& ids, Mat<Real>& out) {
  out.set_size(table.n_rows, ids.size());
  for (uword i = 0; i < ids.size(); ++i) {
    const Real* from = table.colptr(static_cast<uword>(ids[i]));
    std::copy(from, from + table.n_rows, out.colptr(i));
  }
}

template <typename Real>
S2S_VECTOR_CLONES void tanh_inplace(Mat<Real>& m) {
  Real* p = m.memptr();
  for (uword i = 0; i < m.n_elem; ++i) p[i] = activation::tanh(p[i]);
}

// d_pre = d_out ⊙ (1 − out²): the derivative through out = tanh(pre).
template <typename Real>
void tanh_backward(const Mat<Real>& out, const Mat<Real>& d_out, Mat<Real>& d_pre) {
  d_pre.set_size(out.n_rows, out.n_cols);
  const Real* o = out.memptr();
  const Real* d = d_out.memptr();
  Real* r = d_pre.memptr();
  for (uword i = 0; i < out.n_elem; ++i) r[i] = d[i] * (Real(1) - o[i] * o[i]);
}

template <typename Real>
std::vector<RnnState<Real>> zero_states(uword layers, uword H, uword N, bool lstm) {
  std::vector<RnnState<Real>> states(layers);
  for (auto& s : states) {
    s.h.zeros(H, N);
    if (lstm) s.c.zeros(H, N);
  }
  return states;
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Construction

template <typename Real>
RnnSeq2Seq<Real>::RnnSeq2Seq(const ModelConfig& config, uword source_vocab_size,
                             uword target_vocab_size)
    : config_(config),
      src_vocab_(source_vocab_size),
      tgt_vocab_(target_vocab_size),
      E_(config.embed_size),
      H_(config.hidden_size),
      embed_dropout_(config.embed_dropout),
      dropout_(config.dropout) {
  if (config.bidirectional && H_ % 2 != 0)
    throw std::invalid_argument("model.hidden_size must be even for a bidirectional encoder");
  if (config.tie_embeddings && E_ != H_)
    throw std::invalid_argument("model.tie_embeddings needs model.embed_size == model.hidden_size");
  const std::string& a = config.attention;
  if (a == "none")
    flow_ = Flow::kNone;
  else if (a == "bahdanau")
    flow_ = Flow::kBahdanau;
  else
    flow_ = Flow::kLuong;  // dot, luong-* (make_attention rejects unknown names below)
  if (flow_ == Flow::kNone && config.bridge == "zero")
    throw std::invalid_argument("model.attention=none needs model.bridge=tanh or copy");
  const RnnCellType cell = parse_rnn_cell_type(config.cell);
  decoder_input_size_ = E_;
  if (flow_ == Flow::kBahdanau) decoder_input_size_ += H_;
  if (flow_ == Flow::kLuong && config.input_feeding) decoder_input_size_ += H_;

  ParamLayout layout;
  src_embed_ = std::make_unique<Embedding<Real>>(layout, "encoder.embedding", src_vocab_, E_,
                                                 Vocab::kPad);
  RnnStackConfig enc{cell, E_, config.bidirectional ? H_ / 2 : H_,
                     static_cast<uword>(config.encoder_layers), config.bidirectional,
                     config.dropout};
  encoder_ = std::make_unique<RnnStack<Real>>(layout, "encoder.rnn", enc);
  if (config.bridge == "tanh") bridge_ = std::make_unique<Linear<Real>>(layout, "bridge", H_, H_);
  else if (config.bridge != "zero" && config.bridge != "copy")
    throw std::invalid_argument("Unknown bridge: " + config.bridge +
                                ". Valid options: zero, copy, tanh");
  tgt_embed_ = std::make_unique<Embedding<Real>>(layout, "decoder.embedding", tgt_vocab_, E_,
                                                 Vocab::kPad);
  RnnStackConfig dec{cell, decoder_input_size_, H_, static_cast<uword>(config.decoder_layers),
                     false, config.dropout};
  decoder_ = std::make_unique<RnnStack<Real>>(layout, "decoder.rnn", dec);
  decoder_steps_ = std::make_unique<DecoderRnn<Real>>(*decoder_);
  if (flow_ != Flow::kNone) {
    AttentionConfig ac;
    ac.type = a;
    ac.name = "decoder.attention";
    ac.query_size = H_;
    ac.memory_size = H_;
    ac.hidden_size = H_;
    ac.scaled = config.dot_scale && a == "dot";
    ac.window = static_cast<uword>(config.local_window);
    attention_ = make_attention<Real>(ac, layout);
  }
  if (flow_ == Flow::kBahdanau)
    output_proj_ = std::make_unique<Linear<Real>>(layout, "decoder.output_proj", 2 * H_ + E_, H_);
  if (flow_ == Flow::kLuong)
    output_proj_ =
        std::make_unique<Linear<Real>>(layout, "decoder.attention_combine", 2 * H_, H_, false);
  if (!config.tie_embeddings) out_weight_ = layout.add("decoder.output.weight", tgt_vocab_, H_);
  out_bias_ = layout.add("decoder.output.bias", tgt_vocab_, 1);
  params_ = std::make_unique<ParameterStore<Real>>(std::move(layout));
}

template <typename Real>
RnnSeq2Seq<Real>::~RnnSeq2Seq() = default;

template <typename Real>
std::string RnnSeq2Seq<Real>::describe() const {
  std::ostringstream out;
  out << "rnn " << config_.cell << " encoder " << config_.encoder_layers << "x"
      << (config_.bidirectional ? "bi" : "uni") << " decoder " << config_.decoder_layers
      << " hidden " << H_ << " embed " << E_ << " attention " << config_.attention
      << " bridge " << config_.bridge << " parameters " << params_->size();
  return out.str();
}

template <typename Real>
void RnnSeq2Seq<Real>::init(Rng& rng) {
  ParameterStore<Real>& p = *params_;
  src_embed_->init(p, rng);
  encoder_->init(p, rng);
  if (bridge_) bridge_->init(p, rng);
  tgt_embed_->init(p, rng);
  decoder_->init(p, rng);
  if (attention_) attention_->init(p, rng);
  if (output_proj_) output_proj_->init(p, rng);
  const double bound = 1.0 / std::sqrt(static_cast<double>(H_));  // nn.Linear(H, V)
  if (!config_.tie_embeddings) rng.fill_uniform(p.value(out_weight_), -bound, bound);
  rng.fill_uniform(p.value(out_bias_), -bound, bound);
}

// ---------------------------------------------------------------------------------------------
// Encoder and bridge

template <typename Real>
void RnnSeq2Seq<Real>::encode_batch(const std::vector<Index>& src,
                                    const std::vector<uword>& lengths, uword steps, bool training,
                                    Rng& rng, EncoderCache& cache,
                                    std::vector<RnnState<Real>>& initial) const {
  const ParameterStore<Real>& p = *params_;
  cache.src = src;
  cache.lengths = lengths;
  cache.batch = lengths.size();
  cache.steps = steps;
  src_embed_->forward(p, src, cache.embedded);
  embed_dropout_.forward(cache.embedded, cache.embedded_dropped, cache.embed_dropout, training,
                         rng);
  encoder_->forward(p, cache.embedded_dropped, lengths, nullptr, cache.outputs,
                    cache.final_states, cache.rnn, training, rng);
  bridge_forward(cache.final_states, initial, cache);
  if (attention_)
    attention_->precompute(p, cache.outputs, length_mask<Real>(lengths, steps), cache.batch, steps,
                           cache.keys);
}

template <typename Real>
void RnnSeq2Seq<Real>::bridge_forward(const std::vector<RnnState<Real>>& encoder_final,
                                      std::vector<RnnState<Real>>& initial,
                                      EncoderCache& cache) const {
  const uword layers = decoder_->num_layers(), B = cache.batch;
  const bool lstm = config_.cell == "lstm";
  initial = zero_states<Real>(layers, H_, B, lstm);
  if (config_.bridge == "copy") {
    for (uword l = 0; l < layers; ++l) {
      const uword from = encoder_final.size() == layers ? l : encoder_final.size() - 1;
      initial[l].h = encoder_final[from].h;
      if (lstm) initial[l].c = encoder_final[from].c;
    }
  } else if (config_.bridge == "tanh") {
    bridge_->forward(*params_, encoder_final.back().h, cache.bridge_out);
    tanh_inplace(cache.bridge_out);
    for (auto& s : initial) s.h = cache.bridge_out;
  }
}

// ---------------------------------------------------------------------------------------------
// One decoder step

template <typename Real>
void RnnSeq2Seq<Real>::step_forward(const AttentionKeys<Real>* keys, const Mat<Real>& e, uword t,
                                    const std::vector<RnnState<Real>>& prev,
                                    const Mat<Real>& feed, std::vector<RnnState<Real>>& next,
                                    Mat<Real>& o, StepCache& cache, bool training, Rng& rng,
                                    const ProjectedEmbeddings* projected) const {
  const ParameterStore<Real>& p = *params_;
  const uword N = e.n_cols;
  // The decoder RNN on [e_t; x_step] (x_step: Bahdanau's c_t, Luong's o_{t−1}, or nothing).
  // With projected embeddings, layer 0's W_ih [e_t; x_step] = (W_ih[:, :E] e_t, gathered) +
  // W_ih[:, E:] x_step.
  auto rnn_step = [&](const Mat<Real>* x_step) {
    if (projected != nullptr) {
      cache.gx0 = projected->gates;
      if (x_step != nullptr) {
        const Mat<Real>& w_ih = p.value(decoder_->layer(0).cell(0).weight_ih_id());
        cache.gx0 += column_block(w_ih, E_, x_step->n_rows) * *x_step;
      }
      decoder_->step_forward_projected(p, cache.gx0, prev, next, cache.rnn, training, rng);
    } else if (x_step != nullptr) {
      cache.x.set_size(decoder_input_size_, N);
      cache.x.rows(0, E_ - 1) = e;
      cache.x.rows(E_, E_ + x_step->n_rows - 1) = *x_step;
      decoder_->step_forward(p, cache.x, prev, next, cache.rnn, training, rng);
    } else {
      decoder_->step_forward(p, e, prev, next, cache.rnn, training, rng);
    }
  };
  switch (flow_) {
    case Flow::kNone:
      rnn_step(nullptr);
      o = next.back().h;
      return;
    case Flow::kBahdanau: {
      attention_->forward(p, *keys, prev.back().h, t, cache.attn, cache.context, cache.weights);
      rnn_step(&cache.context);
      if (projected != nullptr) {  // W_o [s_t; c_t; e_t] = W_o[:, :2H] [s_t; c_t] + (W_o[:, 2H:] e_t)
        cache.combine_in.set_size(2 * H_, N);
        cache.combine_in.rows(0, H_ - 1) = next.back().h;
        cache.combine_in.rows(H_, 2 * H_ - 1) = cache.context;
        o = projected->output;
        o += column_block(p.value(output_proj_->weight_id()), 0, 2 * H_) * cache.combine_in;
        o.each_col() += p.value(output_proj_->bias_id()).col(0);
        tanh_inplace(o);
        return;
      }
      cache.combine_in.set_size(2 * H_ + E_, N);
      cache.combine_in.rows(0, H_ - 1) = next.back().h;
      cache.combine_in.rows(H_, 2 * H_ - 1) = cache.context;
      cache.combine_in.rows(2 * H_, 2 * H_ + E_ - 1) = e;
      break;
    }
    case Flow::kLuong: {
      rnn_step(config_.input_feeding ? &feed : nullptr);
      attention_->forward(p, *keys, next.back().h, t, cache.attn, cache.context, cache.weights);
      cache.combine_in.set_size(2 * H_, N);
      cache.combine_in.rows(0, H_ - 1) = cache.context;
      cache.combine_in.rows(H_, 2 * H_ - 1) = next.back().h;
      break;
    }
  }
  output_proj_->forward(p, cache.combine_in, o);
  tanh_inplace(o);
}

template <typename Real>
void RnnSeq2Seq<Real>::output_logits(const Mat<Real>& o, Mat<Real>& logits) const {
  const ParameterStore<Real>& p = *params_;
  if (config_.tie_embeddings)
    logits = p.value(tgt_embed_->weight_id()).t() * o;  // (V × E)(E × N)
  else
    logits = p.value(out_weight_) * o;  // (V × H)(H × N)
  logits.each_col() += p.value(out_bias_).col(0);
}

// ---------------------------------------------------------------------------------------------
// Training: teacher-forced loss and backward

template <typename Real>
struct RnnSeq2Seq<Real>::TrainWorkspace {
  EncoderCache encoder;
  std::vector<RnnState<Real>> initial;            // per decoder layer (H × B), from the bridge
  DecoderRnnCache<Real> rnn;
  std::vector<AttentionStepCache<Real>> attn;     // [t]
  AttentionKeysGrad<Real> attn_grad;
  std::vector<Index> inputs;                      // (T·B) what was fed: y_{t−1} or a sample
  std::vector<Index> step_ids;                    // (B)
  Mat<Real> embedded, embedded_dropped;           // (E × T·B)
  std::vector<DropoutCache<Real>> embed_dropouts; // [t]
  Mat<Real> x;                                    // (I_s × B) the decoder RNN's step input
  Mat<Real> context;                              // (H × T·B) c_t
  Mat<Real> weights;                              // (S × B) a_t of the current step
  Mat<Real> combine_in;  // bahdanau (2H+E × T·B) [s_t; c_t; e_t]; luong (2H × T·B) [c_t; s_t]
  Mat<Real> O, O_dropped, logits, step_logits;    // (H × T·B), (H × T·B), (V × T·B), (V × B)
  DropoutCache<Real> out_dropout;
  CrossEntropyCache<Real> loss;
  Mat<Real> zero_feed;                            // (H × B) o_{−1} = 0
  // backward
  Mat<Real> d_logits, d_O_dropped, d_O, d_pre, d_combine;  // d_pre (H × T·B), d_combine as combine_in
  Mat<Real> d_embedded_dropped, d_embedded;       // (E × T·B)
  Mat<Real> dx, d_s, d_c;                         // (I_s × B), (H × B), (H × B)
  std::vector<RnnState<Real>> d_initial;
  Mat<Real> d_memory, d_src_dropped, d_src;       // (H × S·B), (E × S·B), (E × S·B)
};

template <typename Real>
LossStats RnnSeq2Seq<Real>::forward_backward(const Batch& batch, const LossOptions& options,
                                             bool training, bool compute_gradients, Rng& rng) {
  ParameterStore<Real>& p = *params_;
  const uword B = batch.size, T = batch.target_steps;
  const bool lstm = config_.cell == "lstm";
  if (!work_) work_ = std::make_unique<TrainWorkspace>();
  TrainWorkspace& w = *work_;
  EncoderCache& enc = w.encoder;
  encode_batch(batch.source_ids, batch.source_lengths, batch.source_steps, training, rng, enc,
               w.initial);
  const AttentionKeys<Real>* keys = attention_ ? &enc.keys : nullptr;

  // Scheduled sampling replaces some inputs y_{t−1} by the model's own previous argmax, so the
  // step inputs are then known only inside the loop; `inputs` records what was actually fed (the
  // embedding's backward needs it). o_t is needed inside the loop with sampling or input feeding;
  // otherwise the output projection runs once over all T·B columns after it.
  const bool sampling = training && options.sampling_ratio > 0;
  const bool feeding = flow_ == Flow::kLuong && config_.input_feeding;
  const bool outputs_in_loop = flow_ != Flow::kNone && (sampling || feeding);
  const uword known_rows = sampling ? 0 : E_;       // rows of the RNN input known before the loop
  const uword step_rows = decoder_input_size_ - known_rows;
  w.inputs = batch.target_input_ids;
  w.step_ids.resize(B);
  w.embedded.set_size(E_, T * B);
  w.embedded_dropped.set_size(E_, T * B);
  w.embed_dropouts.resize(T);
  w.O.set_size(H_, T * B);
  w.context.set_size(H_, T * B);
  if (flow_ == Flow::kBahdanau) w.combine_in.set_size(2 * H_ + E_, T * B);
  if (flow_ == Flow::kLuong) w.combine_in.set_size(2 * H_, T * B);
  if (attention_) w.attn.resize(T);
  w.zero_feed.zeros(H_, B);
  auto embed_step = [&](uword t) {
    std::copy(w.inputs.begin() + t * B, w.inputs.begin() + (t + 1) * B, w.step_ids.begin());
    Mat<Real> e = step_view(w.embedded, t, B), ed = step_view(w.embedded_dropped, t, B);
    tgt_embed_->forward(p, w.step_ids, e);
    embed_dropout_.forward(e, ed, w.embed_dropouts[t], training, rng);
  };
  if (!sampling)
    for (uword t = 0; t < T; ++t) embed_step(t);
  decoder_steps_->begin(p, sampling ? nullptr : &w.embedded_dropped, T, B, w.initial, w.rnn);
  // x_t = [e_t (when not known before the loop); the flow's per-step part]
  auto step_input = [&](const Mat<Real>& e, const Mat<Real>* extra) -> const Mat<Real>& {
    if (!sampling) return extra != nullptr ? *extra : w.x;
    w.x.set_size(step_rows, B);
    w.x.rows(0, E_ - 1) = e;
    if (extra != nullptr) w.x.rows(E_, step_rows - 1) = *extra;
    return w.x;
  };
  if (!sampling && flow_ == Flow::kNone) w.x.reset();  // no per-step input
  if (!sampling && flow_ == Flow::kLuong && !feeding) w.x.reset();

  for (uword t = 0; t < T; ++t) {
    if (sampling) {
      if (t > 0) {
        output_logits(step_view(w.O, t - 1, B), w.step_logits);
        for (uword b = 0; b < B; ++b)
          if (w.inputs[t * B + b] != Vocab::kPad && rng.uniform() < options.sampling_ratio)
            w.inputs[t * B + b] = static_cast<Index>(w.step_logits.col(b).index_max());
      }
      embed_step(t);
    }
    const Mat<Real> e = step_view(w.embedded_dropped, t, B);
    Mat<Real> c = step_view(w.context, t, B);
    switch (flow_) {
      case Flow::kNone:
        decoder_steps_->step_forward(p, t, step_input(e, nullptr), w.rnn, training, rng);
        break;
      case Flow::kBahdanau: {  // c_t = Attn(s_{t−1}); s_t = RNN([e_t; c_t], s_{t−1})
        attention_->forward(p, *keys, decoder_steps_->top_state(w.rnn, t), t, w.attn[t], c,
                            w.weights);
        decoder_steps_->step_forward(p, t, step_input(e, &c), w.rnn, training, rng);
        const uword col = t * B, last = col + B - 1;
        w.combine_in.submat(0, col, H_ - 1, last) = decoder_steps_->top_state(w.rnn, t + 1);
        w.combine_in.submat(H_, col, 2 * H_ - 1, last) = c;
        w.combine_in.submat(2 * H_, col, 2 * H_ + E_ - 1, last) = e;
        break;
      }
      case Flow::kLuong: {  // s_t = RNN([e_t; o_{t−1}], s_{t−1}); c_t = Attn(s_t)
        const Mat<Real> feed = t > 0 ? step_view(w.O, t - 1, B) : w.zero_feed;
        decoder_steps_->step_forward(p, t, step_input(e, feeding ? &feed : nullptr), w.rnn,
                                     training, rng);
        const Mat<Real> s = decoder_steps_->top_state(w.rnn, t + 1);
        attention_->forward(p, *keys, s, t, w.attn[t], c, w.weights);
        const uword col = t * B, last = col + B - 1;
        w.combine_in.submat(0, col, H_ - 1, last) = c;
        w.combine_in.submat(H_, col, 2 * H_ - 1, last) = s;
        break;
      }
    }
    if (flow_ == Flow::kNone) {
      Mat<Real> o = step_view(w.O, t, B);
      o = decoder_steps_->top_state(w.rnn, t + 1);
    } else if (outputs_in_loop) {  // o_t = tanh(W [..] + b)
      Mat<Real> o = step_view(w.O, t, B);
      output_proj_->forward(p, step_view(w.combine_in, t, B), o);
      tanh_inplace(o);
    }
  }
  if (flow_ != Flow::kNone && !outputs_in_loop) {
    output_proj_->forward(p, w.combine_in, w.O);  // all T·B columns in one GEMM
    tanh_inplace(w.O);
  }

  // Output layer and loss over all T·B positions at once.
  dropout_.forward(w.O, w.O_dropped, w.out_dropout, training, rng);
  output_logits(w.O_dropped, w.logits);
  const LossStats stats = sequence_loss_forward(w.logits, batch, options, w.loss);
  if (!compute_gradients) return stats;

  // ---- backward ----
  sequence_loss_backward(batch, options, w.loss, w.d_logits);
  p.grad(out_bias_) += arma::sum(w.d_logits, 1);
  if (config_.tie_embeddings) {
    p.grad(tgt_embed_->weight_id()) += w.O_dropped * w.d_logits.t();  // (E × N)(N × V)
    w.d_O_dropped = p.value(tgt_embed_->weight_id()) * w.d_logits;     // (E × V)(V × N)
  } else {
    p.grad(out_weight_) += w.d_logits * w.O_dropped.t();  // (V × N)(N × H)
    w.d_O_dropped = p.value(out_weight_).t() * w.d_logits;
  }
  w.d_O.zeros(H_, T * B);
  dropout_.backward(w.d_O_dropped, w.out_dropout, w.d_O);

  w.d_embedded_dropped.zeros(E_, T * B);
  decoder_steps_->begin_backward(nullptr, w.rnn);
  if (attention_) attention_->begin_backward(enc.keys, w.attn_grad);
  if (flow_ != Flow::kNone) {
    w.d_pre.set_size(H_, T * B);
    w.d_combine.set_size(w.combine_in.n_rows, T * B);
    if (!outputs_in_loop) {  // d_O is complete: the output projection's backward in one GEMM
      tanh_backward(w.O, w.d_O, w.d_pre);
      w.d_combine.zeros();
      output_proj_->backward(p, w.combine_in, w.d_pre, &w.d_combine);
    }
  }
  const Mat<Real>* w_proj = output_proj_ ? &p.value(output_proj_->weight_id()) : nullptr;
  for (uword t = T; t-- > 0;) {
    Mat<Real> d_o = step_view(w.d_O, t, B);
    Mat<Real> d_e = step_view(w.d_embedded_dropped, t, B);
    if (flow_ == Flow::kNone) {
      decoder_steps_->step_backward(p, t, &d_o, w.dx, w.rnn);
      if (sampling) d_e += w.dx;
      continue;
    }
    Mat<Real> d_combine = step_view(w.d_combine, t, B);
    if (outputs_in_loop) {  // d_o_t is complete now (step t + 1 has added its feed gradient)
      Mat<Real> d_pre = step_view(w.d_pre, t, B);
      tanh_backward(step_view(w.O, t, B), d_o, d_pre);
      d_combine = w_proj->t() * d_pre;
    }
    if (flow_ == Flow::kBahdanau) {
      w.d_s = d_combine.rows(0, H_ - 1);
      w.d_c = d_combine.rows(H_, 2 * H_ - 1);
      d_e += d_combine.rows(2 * H_, 2 * H_ + E_ - 1);
      decoder_steps_->step_backward(p, t, &w.d_s, w.dx, w.rnn);
      if (sampling) {
        d_e += w.dx.rows(0, E_ - 1);
        w.d_c += w.dx.rows(E_, E_ + H_ - 1);
      } else {
        w.d_c += w.dx;
      }
      attention_->backward(p, enc.keys, w.attn[t], w.d_c, nullptr,
                           decoder_steps_->d_top_state(w.rnn), w.attn_grad);
    } else {  // Luong
      w.d_c = d_combine.rows(0, H_ - 1);
      w.d_s = d_combine.rows(H_, 2 * H_ - 1);
      attention_->backward(p, enc.keys, w.attn[t], w.d_c, nullptr, w.d_s, w.attn_grad);
      decoder_steps_->step_backward(p, t, &w.d_s, w.dx, w.rnn);
      if (sampling) d_e += w.dx.rows(0, E_ - 1);
      if (feeding && t > 0) {
        Mat<Real> d_feed = step_view(w.d_O, t - 1, B);
        if (sampling)
          d_feed += w.dx.rows(E_, E_ + H_ - 1);
        else
          d_feed += w.dx;
      }
    }
  }
  decoder_steps_->finish_backward(p, w.rnn, sampling ? nullptr : &w.d_embedded_dropped,
                                  &w.d_initial);
  if (outputs_in_loop) output_proj_->backward(p, w.combine_in, w.d_pre, nullptr);  // ∂W once
  w.d_embedded.zeros(E_, T * B);
  for (uword t = 0; t < T; ++t) {
    Mat<Real> d_in = step_view(w.d_embedded, t, B);
    embed_dropout_.backward(step_view(w.d_embedded_dropped, t, B), w.embed_dropouts[t], d_in);
  }
  tgt_embed_->backward(p, w.inputs, w.d_embedded);

  // Attention memory, bridge, encoder.
  w.d_memory.zeros(H_, enc.outputs.n_cols);
  if (attention_) attention_->precompute_backward(p, enc.keys, w.attn_grad, w.d_memory);
  std::vector<RnnState<Real>> d_final =
      zero_states<Real>(encoder_->num_layers(), H_, B, lstm);
  const std::vector<RnnState<Real>>& d_initial = w.d_initial;
  if (config_.bridge == "copy") {
    for (uword l = 0; l < d_initial.size(); ++l) {
      const uword to = d_final.size() == d_initial.size() ? l : d_final.size() - 1;
      d_final[to].h += d_initial[l].h;
      if (lstm) d_final[to].c += d_initial[l].c;
    }
  } else if (config_.bridge == "tanh") {
    Mat<Real> d_out(H_, B, arma::fill::zeros), d_bridge_pre;
    for (const auto& d : d_initial) d_out += d.h;
    tanh_backward(enc.bridge_out, d_out, d_bridge_pre);
    bridge_->backward(p, enc.final_states.back().h, d_bridge_pre, &d_final.back().h);
  }
  w.d_src_dropped.zeros(E_, enc.embedded.n_cols);
  encoder_->backward(p, enc.embedded_dropped, enc.rnn, &w.d_memory, &d_final, &w.d_src_dropped,
                     nullptr);
  w.d_src.zeros(E_, enc.embedded.n_cols);
  embed_dropout_.backward(w.d_src_dropped, enc.embed_dropout, w.d_src);
  src_embed_->backward(p, enc.src, w.d_src);
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Decoding

template <typename Real>
std::unique_ptr<DecodeState> RnnSeq2Seq<Real>::encode(const std::vector<Index>& src,
                                                      const std::vector<uword>& src_lengths,
                                                      uword src_steps) {
  auto state = std::make_unique<RnnDecodeState>();
  Rng unused(0);  // no dropout at inference
  encode_batch(src, src_lengths, src_steps, false, unused, state->encoder, state->states);
  state->rows = src_lengths.size();
  state->feed.zeros(H_, state->rows);
  state->source_of_row.resize(state->rows);
  for (uword i = 0; i < state->rows; ++i) state->source_of_row[i] = i;
  // Tables cost G·H·E·V multiply-adds once; they save G·H·E per row and step. Worth it when the
  // vocabulary is smaller than the rows times the steps to come (about the source length):
  // characters and phonemes, not 30k subwords.
  const ParameterStore<Real>& p = *params_;
  if (tgt_vocab_ <= state->rows * std::max<uword>(src_steps, 1)) {
    const Mat<Real>& embedding = p.value(tgt_embed_->weight_id());  // (E × V)
    state->embed_to_gates =
        column_block(p.value(decoder_->layer(0).cell(0).weight_ih_id()), 0, E_) * embedding;
    if (flow_ == Flow::kBahdanau)
      state->embed_to_output =
          column_block(p.value(output_proj_->weight_id()), 2 * H_, E_) * embedding;
  }
  return state;
}

template <typename Real>
void RnnSeq2Seq<Real>::decode_step(DecodeState& base, const std::vector<Index>& prev_tokens,
                                   Mat<Real>& log_probs) {
  auto& s = static_cast<RnnDecodeState&>(base);
  if (prev_tokens.size() != s.rows)
    throw std::invalid_argument("decode_step: " + std::to_string(prev_tokens.size()) +
                                " tokens for " + std::to_string(s.rows) + " rows");
  Rng unused(0);
  const ProjectedEmbeddings* projected = nullptr;
  if (!s.embed_to_gates.is_empty()) {
    gather_columns(s.embed_to_gates, prev_tokens, s.projected.gates);
    if (!s.embed_to_output.is_empty())
      gather_columns(s.embed_to_output, prev_tokens, s.projected.output);
    projected = &s.projected;
  } else {
    tgt_embed_->forward(*params_, prev_tokens, s.embedded);
  }
  step_forward(attention_ ? &s.encoder.keys : nullptr, projected ? s.projected.gates : s.embedded,
               s.t, s.states, s.feed, s.next, s.output, s.step, false, unused, projected);
  std::swap(s.states, s.next);
  s.feed = s.output;
  output_logits(s.output, s.logits);
  log_softmax(s.logits, log_probs);
  ++s.t;
}

template <typename Real>
void RnnSeq2Seq<Real>::reorder(DecodeState& base, const std::vector<uword>& rows) {
  auto& s = static_cast<RnnDecodeState&>(base);
  const arma::uvec idx(std::vector<arma::uword>(rows.begin(), rows.end()));
  for (auto& state : s.states) {
    state.h = state.h.cols(idx);
    if (!state.c.is_empty()) state.c = state.c.cols(idx);
  }
  s.feed = s.feed.cols(idx);
  if (!s.step.weights.is_empty()) s.step.weights = s.step.weights.cols(idx);
  std::vector<uword> sources(rows.size());
  for (uword i = 0; i < rows.size(); ++i) sources[i] = s.source_of_row.at(rows[i]);
  const bool same_sources = sources == s.source_of_row;
  s.source_of_row = std::move(sources);
  s.rows = rows.size();
  if (!attention_ || same_sources) return;
  // The keys are batch-major: row b owns the S columns [b·S, (b+1)·S) (attention.hpp).
  AttentionKeys<Real>& k = s.encoder.keys;
  const uword S = k.steps;
  auto reorder_blocks = [&](Mat<Real>& m) {
    if (m.is_empty()) return;
    Mat<Real> out(m.n_rows, S * rows.size());
    for (uword i = 0; i < rows.size(); ++i)
      out.cols(i * S, (i + 1) * S - 1) = m.cols(rows[i] * S, (rows[i] + 1) * S - 1);
    m = std::move(out);
  };
  reorder_blocks(k.values);
  reorder_blocks(k.keys);
  k.lengths = k.lengths.elem(idx);
  k.batch = rows.size();
}

template <typename Real>
AttentionWeights<Real> RnnSeq2Seq<Real>::attention(const DecodeState& base) const {
  const auto& s = static_cast<const RnnDecodeState&>(base);
  AttentionWeights<Real> w;
  if (attention_ && !s.step.weights.is_empty()) w.weights = {{s.step.weights}};
  return w;
}

template class RnnSeq2Seq<float>;
template class RnnSeq2Seq<double>;

}  // namespace s2s
