#include "s2s/rnn_seq2seq.hpp"

#include <cmath>
#include <sstream>
#include <stdexcept>

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
};

namespace {

template <typename Real>
void tanh_inplace(Mat<Real>& m) {
  Real* p = m.memptr();
  for (uword i = 0; i < m.n_elem; ++i) p[i] = std::tanh(p[i]);
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
                                    Mat<Real>& o, StepCache& cache, bool training,
                                    Rng& rng) const {
  const ParameterStore<Real>& p = *params_;
  const uword N = e.n_cols;
  switch (flow_) {
    case Flow::kNone:
      decoder_->step_forward(p, e, prev, next, cache.rnn, training, rng);
      o = next.back().h;
      return;
    case Flow::kBahdanau: {
      attention_->forward(p, *keys, prev.back().h, t, cache.attn, cache.context, cache.weights);
      cache.x.set_size(decoder_input_size_, N);
      cache.x.rows(0, E_ - 1) = e;
      cache.x.rows(E_, E_ + H_ - 1) = cache.context;
      decoder_->step_forward(p, cache.x, prev, next, cache.rnn, training, rng);
      cache.combine_in.set_size(2 * H_ + E_, N);
      cache.combine_in.rows(0, H_ - 1) = next.back().h;
      cache.combine_in.rows(H_, 2 * H_ - 1) = cache.context;
      cache.combine_in.rows(2 * H_, 2 * H_ + E_ - 1) = e;
      break;
    }
    case Flow::kLuong: {
      if (config_.input_feeding) {
        cache.x.set_size(decoder_input_size_, N);
        cache.x.rows(0, E_ - 1) = e;
        cache.x.rows(E_, E_ + H_ - 1) = feed;
        decoder_->step_forward(p, cache.x, prev, next, cache.rnn, training, rng);
      } else {
        decoder_->step_forward(p, e, prev, next, cache.rnn, training, rng);
      }
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
LossStats RnnSeq2Seq<Real>::forward_backward(const Batch& batch, const LossOptions& options,
                                             bool training, bool compute_gradients, Rng& rng) {
  ParameterStore<Real>& p = *params_;
  const uword B = batch.size, T = batch.target_steps;
  const bool lstm = config_.cell == "lstm";

  EncoderCache enc;
  std::vector<std::vector<RnnState<Real>>> states(T + 1);  // states[t]: entering step t
  encode_batch(batch.source_ids, batch.source_lengths, batch.source_steps, training, rng, enc,
               states[0]);
  const AttentionKeys<Real>* keys = attention_ ? &enc.keys : nullptr;

  // Decoder, step by step. Scheduled sampling replaces some inputs y_{t−1} by the model's own
  // previous argmax; `inputs` records what was actually fed (the embedding's backward needs it).
  const bool sampling = training && options.sampling_ratio > 0;
  std::vector<Index> inputs = batch.target_input_ids;
  std::vector<Index> step_ids(B);
  Mat<Real> embedded(E_, T * B), embedded_dropped(E_, T * B);
  std::vector<DropoutCache<Real>> embed_dropouts(T);
  Mat<Real> O(H_, T * B);  // output vectors o_t
  const Mat<Real> zero_feed(H_, B, arma::fill::zeros);
  std::vector<StepCache> caches(T);
  for (uword t = 1; t <= T; ++t) states[t] = zero_states<Real>(decoder_->num_layers(), H_, B, lstm);
  Mat<Real> step_logits;
  for (uword t = 0; t < T; ++t) {
    if (sampling && t > 0) {
      output_logits(step_view(O, t - 1, B), step_logits);
      for (uword b = 0; b < B; ++b)
        if (inputs[t * B + b] != Vocab::kPad && rng.uniform() < options.sampling_ratio)
          inputs[t * B + b] = static_cast<Index>(step_logits.col(b).index_max());
    }
    std::copy(inputs.begin() + t * B, inputs.begin() + (t + 1) * B, step_ids.begin());
    Mat<Real> e = step_view(embedded, t, B), ed = step_view(embedded_dropped, t, B);
    tgt_embed_->forward(p, step_ids, e);
    embed_dropout_.forward(e, ed, embed_dropouts[t], training, rng);
    Mat<Real> o = step_view(O, t, B);
    const Mat<Real>& feed = t > 0 ? step_view(O, t - 1, B) : zero_feed;
    step_forward(keys, ed, t, states[t], feed, states[t + 1], o, caches[t], training, rng);
  }

  // Output layer and loss over all T·B positions at once.
  Mat<Real> O_dropped, logits;
  DropoutCache<Real> out_dropout;
  dropout_.forward(O, O_dropped, out_dropout, training, rng);
  output_logits(O_dropped, logits);
  CrossEntropyCache<Real> loss_cache;
  const LossStats stats = sequence_loss_forward(logits, batch, options, loss_cache);
  if (!compute_gradients) return stats;

  // ---- backward ----
  Mat<Real> d_logits;
  sequence_loss_backward(batch, options, loss_cache, d_logits);
  Mat<Real> d_O_dropped;
  p.grad(out_bias_) += arma::sum(d_logits, 1);
  if (config_.tie_embeddings) {
    p.grad(tgt_embed_->weight_id()) += O_dropped * d_logits.t();  // (E × N)(N × V)
    d_O_dropped = p.value(tgt_embed_->weight_id()) * d_logits;    // (E × V)(V × N)
  } else {
    p.grad(out_weight_) += d_logits * O_dropped.t();  // (V × N)(N × H)
    d_O_dropped = p.value(out_weight_).t() * d_logits;
  }
  Mat<Real> d_O(H_, T * B, arma::fill::zeros);
  dropout_.backward(d_O_dropped, out_dropout, d_O);

  Mat<Real> d_embedded_dropped(E_, T * B, arma::fill::zeros);
  std::vector<std::vector<RnnState<Real>>> d_states(T + 1);
  for (auto& d : d_states) d = zero_states<Real>(decoder_->num_layers(), H_, B, lstm);
  AttentionKeysGrad<Real> attention_grad;
  if (attention_) attention_->begin_backward(enc.keys, attention_grad);
  // Per-step scratch, sized once.
  Mat<Real> d_pre(H_, B), d_combine, d_s(H_, B), d_c(H_, B), dx(decoder_input_size_, B);
  for (uword t = T; t-- > 0;) {
    StepCache& c = caches[t];
    Mat<Real> d_o = step_view(d_O, t, B);
    Mat<Real> d_e = step_view(d_embedded_dropped, t, B);
    dx.zeros();
    if (flow_ == Flow::kNone) {
      decoder_->step_backward(p, c.rnn, &d_o, &d_states[t + 1], &dx, &d_states[t]);
      d_e += dx;
      continue;
    }
    tanh_backward(step_view(O, t, B), d_o, d_pre);
    d_combine.zeros(c.combine_in.n_rows, B);
    output_proj_->backward(p, c.combine_in, d_pre, &d_combine);
    if (flow_ == Flow::kBahdanau) {
      d_s = d_combine.rows(0, H_ - 1);
      d_c = d_combine.rows(H_, 2 * H_ - 1);
      d_e += d_combine.rows(2 * H_, 2 * H_ + E_ - 1);
      decoder_->step_backward(p, c.rnn, &d_s, &d_states[t + 1], &dx, &d_states[t]);
      d_e += dx.rows(0, E_ - 1);
      d_c += dx.rows(E_, E_ + H_ - 1);
      attention_->backward(p, enc.keys, c.attn, d_c, nullptr, d_states[t].back().h,
                           attention_grad);
    } else {  // Luong
      d_c = d_combine.rows(0, H_ - 1);
      d_s = d_combine.rows(H_, 2 * H_ - 1);
      attention_->backward(p, enc.keys, c.attn, d_c, nullptr, d_s, attention_grad);
      decoder_->step_backward(p, c.rnn, &d_s, &d_states[t + 1], &dx, &d_states[t]);
      d_e += dx.rows(0, E_ - 1);
      if (config_.input_feeding && t > 0) {
        Mat<Real> d_feed = step_view(d_O, t - 1, B);
        d_feed += dx.rows(E_, E_ + H_ - 1);
      }
    }
  }
  Mat<Real> d_embedded(E_, T * B, arma::fill::zeros);
  for (uword t = 0; t < T; ++t) {
    Mat<Real> d_in = step_view(d_embedded, t, B);
    embed_dropout_.backward(step_view(d_embedded_dropped, t, B), embed_dropouts[t], d_in);
  }
  tgt_embed_->backward(p, inputs, d_embedded);

  // Attention memory, bridge, encoder.
  Mat<Real> d_memory(H_, enc.outputs.n_cols, arma::fill::zeros);
  if (attention_) attention_->precompute_backward(p, enc.keys, attention_grad, d_memory);
  std::vector<RnnState<Real>> d_final =
      zero_states<Real>(encoder_->num_layers(), H_, B, lstm);
  const std::vector<RnnState<Real>>& d_initial = d_states[0];
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
  Mat<Real> d_src_dropped(E_, enc.embedded.n_cols, arma::fill::zeros);
  encoder_->backward(p, enc.embedded_dropped, enc.rnn, &d_memory, &d_final, &d_src_dropped,
                     nullptr);
  Mat<Real> d_src(E_, enc.embedded.n_cols, arma::fill::zeros);
  embed_dropout_.backward(d_src_dropped, enc.embed_dropout, d_src);
  src_embed_->backward(p, enc.src, d_src);
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
  tgt_embed_->forward(*params_, prev_tokens, s.embedded);
  step_forward(attention_ ? &s.encoder.keys : nullptr, s.embedded, s.t, s.states, s.feed, s.next,
               s.output, s.step, false, unused);
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
