#include "s2s/models/rnn_seq2seq.hpp"

#include <algorithm>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "s2s/core/gemm.hpp"
#include "s2s/attention/attention_factory.hpp"
#include "s2s/core/activations.hpp"
#include "s2s/core/choice.hpp"
#include "s2s/models/rnn_seq2seq_caches.hpp"

namespace s2s {

using rnn_seq2seq_detail::tanh_inplace;
using rnn_seq2seq_detail::zero_states;

Bridge parse_bridge(const std::string& name) {
  return parse_choice<Bridge>("bridge", name,
      {{"zero", Bridge::kZero}, {"copy", Bridge::kCopy}, {"tanh", Bridge::kTanh}});
}

namespace rnn_seq2seq_detail {

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

template void tanh_inplace(Mat<float>&);
template void tanh_inplace(Mat<double>&);
template void tanh_backward(const Mat<float>&, const Mat<float>&, Mat<float>&);
template void tanh_backward(const Mat<double>&, const Mat<double>&, Mat<double>&);

}  // namespace rnn_seq2seq_detail

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
      cell_(parse_rnn_cell_type(config.cell)),
      bridge_type_(parse_bridge(config.bridge)),
      embed_dropout_(config.embed_dropout),
      dropout_(config.dropout) {
  if (config.bidirectional && H_ % 2 != 0)
    throw std::invalid_argument("model.hidden_size must be even for a bidirectional encoder");
  if (config.tie_embeddings && E_ != H_)
    throw std::invalid_argument("model.tie_embeddings needs model.embed_size == model.hidden_size");
  const std::string& a = config.attention;
  if (a == "none")
    flow_ = Flow::kNone;
  else if (parse_attention_type(a) == AttentionType::kBahdanau ||
           is_monotonic(parse_attention_type(a)))
    flow_ = Flow::kBahdanau;  // the query is s_{t−1}; c_t feeds the RNN
  else
    flow_ = Flow::kLuong;  // dot, luong-*
  if (config.coverage && flow_ == Flow::kNone)
    throw std::invalid_argument("model.coverage needs attention (bahdanau or luong-concat)");
  if (config.copy && flow_ == Flow::kNone)
    throw std::invalid_argument("model.copy needs attention (it copies through the weights)");
  if (config.copy && src_vocab_ != tgt_vocab_)
    throw std::invalid_argument("model.copy needs one vocabulary for both sides "
                                "(data.joint_vocab=true)");
  if (flow_ == Flow::kNone && bridge_type_ == Bridge::kZero)
    throw std::invalid_argument("model.attention=none needs model.bridge=tanh or copy");
  decoder_input_size_ = E_;
  if (flow_ == Flow::kBahdanau) decoder_input_size_ += H_;
  if (flow_ == Flow::kLuong && config.input_feeding) decoder_input_size_ += H_;

  ParamLayout layout;
  src_embed_ = std::make_unique<Embedding<Real>>(layout, "encoder.embedding", src_vocab_, E_,
                                                 Vocab::kPad);
  RnnStackConfig enc{cell_, E_, config.bidirectional ? H_ / 2 : H_,
                     static_cast<uword>(config.encoder_layers), config.bidirectional,
                     config.dropout};
  encoder_ = std::make_unique<RnnStack<Real>>(layout, "encoder.rnn", enc);
  if (bridge_type_ == Bridge::kTanh)
    bridge_ = std::make_unique<Linear<Real>>(layout, "bridge", H_, H_);
  tgt_embed_ = std::make_unique<Embedding<Real>>(layout, "decoder.embedding", tgt_vocab_, E_,
                                                 Vocab::kPad);
  RnnStackConfig dec{cell_, decoder_input_size_, H_, static_cast<uword>(config.decoder_layers),
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
    ac.scaled = config.dot_scale && parse_attention_type(a) == AttentionType::kDot;
    ac.window = static_cast<uword>(config.local_window);
    ac.coverage = config.coverage;
    ac.chunk_width = static_cast<uword>(config.chunk_width);
    attention_ = make_attention<Real>(ac, layout);
  }
  if (flow_ == Flow::kBahdanau)
    output_proj_ = std::make_unique<Linear<Real>>(layout, "decoder.output_proj", 2 * H_ + E_, H_);
  if (flow_ == Flow::kLuong)
    output_proj_ =
        std::make_unique<Linear<Real>>(layout, "decoder.attention_combine", 2 * H_, H_, false);
  if (config.copy)
    copy_gate_ = std::make_unique<Linear<Real>>(layout, "decoder.copy_gate", 2 * H_ + E_, 1);
  output_ = std::make_unique<OutputLayer<Real>>(
      layout, "decoder.output", H_, tgt_vocab_,
      config.tie_embeddings ? std::optional<ParamId>(tgt_embed_->weight_id()) : std::nullopt);
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
      << (copy_gate_ ? " copy" : "") << " bridge " << config_.bridge << " parameters "
      << params_->size();
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
  if (copy_gate_) copy_gate_->init(p, rng);
  output_->init(p, rng);
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
  if (copy_gate_) {  // extended ids: a source token outside the vocabulary is read as <unk>
    cache.src_extended = src;
    for (Index& id : cache.src)
      if (static_cast<uword>(id) >= src_vocab_) id = Vocab::kUnk;
  }
  cache.lengths = lengths;
  cache.batch = lengths.size();
  cache.steps = steps;
  src_embed_->forward(p, cache.src, cache.embedded);
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
  const bool lstm = cell_ == RnnCellType::kLstm;
  initial = zero_states<Real>(layers, H_, B, lstm);
  if (bridge_type_ == Bridge::kCopy) {
    for (uword l = 0; l < layers; ++l) {
      const uword from = encoder_final.size() == layers ? l : encoder_final.size() - 1;
      initial[l].h = encoder_final[from].h;
      if (lstm) initial[l].c = encoder_final[from].c;
    }
  } else if (bridge_type_ == Bridge::kTanh) {
    bridge_->forward(*params_, encoder_final.back().h, cache.bridge_out);
    tanh_inplace(cache.bridge_out);
    for (auto& s : initial) s.h = cache.bridge_out;
  }
}

template <typename Real>
void RnnSeq2Seq<Real>::output_logits(const Mat<Real>& o, Mat<Real>& logits) const {
  output_->forward(*params_, o, logits);
}

// ---------------------------------------------------------------------------------------------
// Decoding

template <typename Real>
std::unique_ptr<DecodeState> RnnSeq2Seq<Real>::encode(const std::vector<Index>& src,
                                                      const std::vector<uword>& src_lengths,
                                                      uword src_steps) {
  auto state = std::make_unique<RnnDecodeState>();
  gemm::UsePacks use_packs(state->packs);
  Rng unused(0);  // no dropout at inference
  encode_batch(src, src_lengths, src_steps, false, unused, state->encoder, state->states);
  if (attention_) {
    state->encoder.keys.hard = true;
    attention_->begin_state(state->encoder.keys, state->step.attn.state);
  }
  state->rows = src_lengths.size();
  state->feed.zeros(H_, state->rows);
  state->source_of_row.resize(state->rows);
  for (uword i = 0; i < state->rows; ++i) state->source_of_row[i] = i;
  if (copy_gate_) {
    state->extended_size = tgt_vocab_;
    for (Index id : src)
      state->extended_size = std::max(state->extended_size, static_cast<uword>(id) + 1);
    state->copy_source = src;
    return state;  // the gate reads e_t, which the tables below would skip
  }
  // Tables cost G·H·E·V multiply-adds once; they save G·H·E per row and step. Worth it when the
  // vocabulary is smaller than the rows times the steps to come (about the source length):
  // characters and phonemes, not 30k subwords.
  const ParameterStore<Real>& p = *params_;
  if (tgt_vocab_ <= state->rows * std::max<uword>(src_steps, 1)) {
    const Mat<Real>& embedding = p.value(tgt_embed_->weight_id());  // (E × V)
    gemm::weight_product(columns(p.value(decoder_->layer(0).cell(0).weight_ih_id()), 0, E_),
                         embedding, state->embed_to_gates);
    if (flow_ == Flow::kBahdanau)
      gemm::weight_product(columns(p.value(output_proj_->weight_id()), 2 * H_, E_), embedding,
                           state->embed_to_output);
  }
  return state;
}

template <typename Real>
void RnnSeq2Seq<Real>::decode_step(DecodeState& base, const std::vector<Index>& prev_tokens,
                                   Mat<Real>& log_probs) {
  auto& s = static_cast<RnnDecodeState&>(base);
  gemm::UsePacks use_packs(s.packs);
  if (prev_tokens.size() != s.rows)
    throw std::invalid_argument("decode_step: " + std::to_string(prev_tokens.size()) +
                                " tokens for " + std::to_string(s.rows) + " rows");
  Rng unused(0);
  const std::vector<Index>* tokens = &prev_tokens;
  if (copy_gate_) {  // a copied token past the vocabulary is fed back as <unk>
    s.prev_in_vocab = prev_tokens;
    for (Index& id : s.prev_in_vocab)
      if (static_cast<uword>(id) >= tgt_vocab_) id = Vocab::kUnk;
    tokens = &s.prev_in_vocab;
  }
  const ProjectedEmbeddings* projected = nullptr;
  if (!s.embed_to_gates.is_empty()) {
    gather_columns(s.embed_to_gates, *tokens, s.projected.gates);
    if (!s.embed_to_output.is_empty())
      gather_columns(s.embed_to_output, *tokens, s.projected.output);
    projected = &s.projected;
  } else {
    tgt_embed_->forward(*params_, *tokens, s.embedded);
  }
  step_forward(attention_ ? &s.encoder.keys : nullptr, projected ? s.projected.gates : s.embedded,
               s.t, s.states, s.feed, s.next, s.output, s.step, false, unused, projected);
  std::swap(s.states, s.next);
  if (attention_ && attention_->recurrent()) attention_->next_state(s.step.attn, s.step.attn.state);
  s.feed = s.output;
  output_logits(s.output, s.logits);
  if (copy_gate_) {
    copy_gate_->forward(*params_, copy_gate_input(s.step.combine_in, s.embedded, s.gate_in),
                        s.gate);
    pointer_generator_log_probs(s.logits, s.gate, s.step.weights,
                                s.copy_source, s.extended_size, log_probs);
  } else {
    log_softmax(s.logits, log_probs);
  }
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
  if (!s.step.attn.state.is_empty()) s.step.attn.state = s.step.attn.state.cols(idx);
  std::vector<uword> sources(rows.size());
  for (uword i = 0; i < rows.size(); ++i) sources[i] = s.source_of_row.at(rows[i]);
  const bool same_sources = sources == s.source_of_row;
  s.source_of_row = std::move(sources);
  s.rows = rows.size();
  if (copy_gate_ && !same_sources) {  // row i copies from source source_of_row[i]
    const std::vector<Index>& src = s.encoder.src_extended;
    const uword S = s.encoder.steps, B = s.encoder.batch, N = s.rows;
    s.copy_source.resize(S * N);
    for (uword j = 0; j < S; ++j)
      for (uword i = 0; i < N; ++i) s.copy_source[j * N + i] = src[j * B + s.source_of_row[i]];
  }
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
