#include "s2s/models/transformer_seq2seq.hpp"

#include <algorithm>
#include <cmath>
#include <optional>
#include <sstream>
#include <stdexcept>

#include "s2s/layers/cross_entropy.hpp"
#include "s2s/models/sequence_loss.hpp"

namespace s2s {

// ---------------------------------------------------------------------------------------------
// Caches (plain structs: what forward keeps for backward)

template <typename Real>
struct TransformerSeq2Seq<Real>::EncoderCache {
  std::vector<Index> src;                    // (S·B) time-major
  std::vector<uword> lengths;                // (B)
  uword batch = 0, steps = 0;
  Mat<Real> embedded;                        // (D × S·B) √D · Emb(src) + P
  DropoutCache<Real> embed_dropout;
  std::vector<Mat<Real>> inputs;             // N + 1: inputs[l] enters layer l, inputs[N] leaves
  std::vector<EncoderLayerCache<Real>> layers;
  LayerNormCache<Real> norm;
  Mat<Real> output;                          // (D × S·B) the memory m
};

template <typename Real>
struct TransformerSeq2Seq<Real>::DecoderCache {
  std::vector<MhaMemory<Real>> memories;     // per layer: cross-attention K, V of m
  Mat<Real> embedded;                        // (D × T·B)
  DropoutCache<Real> embed_dropout;
  std::vector<Mat<Real>> inputs;             // N + 1, as the encoder's
  std::vector<DecoderLayerCache<Real>> layers;
  LayerNormCache<Real> norm;
  Mat<Real> output;                          // (D × T·B) o
};

template <typename Real>
struct TransformerSeq2Seq<Real>::TransformerDecodeState : DecodeState {
  std::vector<DecoderLayerState<Real>> layers;
  Mat<Real> x, y;                            // (D × N) layer input / output, swapped per layer
  LayerNormCache<Real> norm;
  Mat<Real> output, logits;                  // (D × N), (V × N)
  uword t = 0;                               // steps run so far
  std::vector<uword> source_of_row, next_sources;  // which source each row decodes
  Mat<Real> spare_weights;                   // reorder() scratch for the last step's weights
};

// ---------------------------------------------------------------------------------------------
// Construction

template <typename Real>
TransformerSeq2Seq<Real>::TransformerSeq2Seq(const ModelConfig& config, uword source_vocab_size,
                                             uword target_vocab_size)
    : config_(config),
      src_vocab_(source_vocab_size),
      tgt_vocab_(target_vocab_size),
      D_(static_cast<uword>(std::max(config.d_model, 0))),
      layers_(static_cast<uword>(std::max(config.transformer_layers, 0))),
      norm_(parse_norm_placement(config.norm)),
      embed_dropout_(config.embed_dropout) {
  if (config.d_model <= 0 || config.heads <= 0 || config.d_model % config.heads != 0)
    throw std::invalid_argument("model.d_model (" + std::to_string(config.d_model) +
                                ") must be a positive multiple of model.heads (" +
                                std::to_string(config.heads) + ")");
  if (config.ff_size <= 0 || config.transformer_layers <= 0)
    throw std::invalid_argument("model.ff_size and model.transformer_layers must be positive");
  if (config.share_embeddings && src_vocab_ != tgt_vocab_)
    throw std::invalid_argument(
        "model.share_embeddings=true needs one joint vocabulary, but the source has " +
        std::to_string(src_vocab_) + " entries and the target " + std::to_string(tgt_vocab_) +
        "; set model.share_embeddings=false (model.tie_embeddings=true still ties the target "
        "embedding and the output layer)");
  TransformerLayerConfig lc;
  lc.d_model = D_;
  lc.heads = static_cast<uword>(config.heads);
  lc.ff_size = static_cast<uword>(config.ff_size);
  lc.norm = norm_;
  lc.activation = parse_feed_forward_activation(config.activation);
  lc.dropout = config.dropout;
  lc.attention_dropout = config.attention_dropout;
  const PositionKind positions = parse_position_kind(config.positions);
  lc.position_bias = relative_bias_kind(positions);
  const bool absolute_positions = lc.position_bias == RelativeBiasKind::kNone;
  const double scale = std::sqrt(static_cast<double>(D_));

  ParamLayout layout;
  // One side's stack: "SIDE.embedding" (unless shared), "SIDE.positions" (absolute positions
  // only), "SIDE.layer{l}", "SIDE.norm" (pre-norm only), in this order in the layout.
  auto add_side = [&](const std::string& side, uword vocab, std::unique_ptr<Embedding<Real>>& embed,
                      std::unique_ptr<PositionalEncoding<Real>>& position_table, auto& stack,
                      std::optional<LayerNorm<Real>>& final_norm) {
    if (!config.share_embeddings)
      embed = std::make_unique<Embedding<Real>>(layout, side + ".embedding", vocab, D_,
                                                Vocab::kPad, scale);
    if (absolute_positions)
      position_table = std::make_unique<PositionalEncoding<Real>>(layout, side + ".positions",
                                                                  positions, D_, kMaxPositions);
    stack.reserve(layers_);
    for (uword l = 0; l < layers_; ++l)
      stack.emplace_back(layout, side + ".layer" + std::to_string(l), lc);
    if (norm_ == NormPlacement::kPre) final_norm.emplace(layout, side + ".norm", D_);
  };
  if (config.share_embeddings)
    tgt_embed_ = std::make_unique<Embedding<Real>>(layout, "embedding", tgt_vocab_, D_,
                                                   Vocab::kPad, scale);
  add_side("encoder", src_vocab_, src_embed_, src_positions_, encoder_, encoder_norm_);
  add_side("decoder", tgt_vocab_, tgt_embed_, tgt_positions_, decoder_, decoder_norm_);
  output_ = std::make_unique<OutputLayer<Real>>(
      layout, "decoder.output", D_, tgt_vocab_,
      tied_output() ? std::optional<ParamId>(tgt_embed_->weight_id()) : std::nullopt);
  params_ = std::make_unique<ParameterStore<Real>>(std::move(layout));
}

template <typename Real>
TransformerSeq2Seq<Real>::~TransformerSeq2Seq() = default;

template <typename Real>
std::string TransformerSeq2Seq<Real>::describe() const {
  std::ostringstream out;
  out << "transformer d_model " << D_ << " heads " << config_.heads << " ff " << config_.ff_size
      << " layers " << layers_ << "+" << layers_ << " norm " << config_.norm << " activation "
      << config_.activation << " positions " << config_.positions
      << (config_.share_embeddings ? " shared embeddings"
                                   : (config_.tie_embeddings ? " tied output" : ""))
      << " parameters " << params_->size();
  return out.str();
}

template <typename Real>
void TransformerSeq2Seq<Real>::init(Rng& rng) {
  ParameterStore<Real>& p = *params_;
  const double embed_std = 1.0 / std::sqrt(static_cast<double>(D_));
  auto init_embedding = [&](const Embedding<Real>& e) {
    Mat<Real>& w = p.value(e.weight_id());
    rng.fill_normal(w, 0.0, embed_std);
    w.col(static_cast<uword>(Vocab::kPad)).zeros();
  };
  if (src_embed_) init_embedding(*src_embed_);
  if (src_positions_) src_positions_->init(p, rng);
  for (const auto& layer : encoder_) layer.init(p, rng);
  if (encoder_norm_) encoder_norm_->init(p);
  init_embedding(*tgt_embed_);
  if (tgt_positions_) tgt_positions_->init(p, rng);
  for (const auto& layer : decoder_) layer.init(p, rng);
  if (decoder_norm_) decoder_norm_->init(p);
  output_->init(p, rng);  // nn.Linear(D, V): U(±1/√D)
}

// ---------------------------------------------------------------------------------------------
// Encoder

template <typename Real>
void TransformerSeq2Seq<Real>::encode_batch(const std::vector<Index>& src,
                                            const std::vector<uword>& lengths, uword steps,
                                            bool training, Rng& rng, EncoderCache& c) const {
  const ParameterStore<Real>& p = *params_;
  if (src.size() != steps * lengths.size())
    throw std::invalid_argument("transformer: " + std::to_string(src.size()) +
                                " source ids for " + std::to_string(lengths.size()) + " x " +
                                std::to_string(steps) + " positions");
  c.src = src;
  c.lengths = lengths;
  c.batch = lengths.size();
  c.steps = steps;
  src_embedding().forward(p, src, c.embedded);
  if (src_positions_) src_positions_->add(p, c.embedded, c.batch);
  c.inputs.resize(layers_ + 1);
  c.layers.resize(layers_);
  embed_dropout_.forward(c.embedded, c.inputs[0], c.embed_dropout, training, rng);
  for (uword l = 0; l < layers_; ++l)
    encoder_[l].forward(p, c.inputs[l], lengths, training, rng, c.layers[l], c.inputs[l + 1]);
  if (encoder_norm_)
    encoder_norm_->forward(p, c.inputs[layers_], c.output, c.norm);
  else
    c.output = c.inputs[layers_];
}

template <typename Real>
void TransformerSeq2Seq<Real>::encoder_backward(const EncoderCache& c, const Mat<Real>& d_output) {
  ParameterStore<Real>& p = *params_;
  Mat<Real> dx(arma::size(d_output), arma::fill::zeros), d_in(arma::size(d_output));
  if (encoder_norm_)
    encoder_norm_->backward(p, d_output, c.norm, &dx);
  else
    dx = d_output;
  for (uword l = layers_; l-- > 0;) {
    d_in.zeros();
    encoder_[l].backward(p, c.layers[l], dx, d_in);
    dx.swap(d_in);
  }
  Mat<Real> d_embedded(arma::size(dx), arma::fill::zeros);
  embed_dropout_.backward(dx, c.embed_dropout, d_embedded);
  if (src_positions_) src_positions_->backward(p, d_embedded, c.batch);
  src_embedding().backward(p, c.src, d_embedded);
}

template <typename Real>
void TransformerSeq2Seq<Real>::output_logits(const Mat<Real>& o, Mat<Real>& logits) const {
  output_->forward(*params_, o, logits);
}

// ---------------------------------------------------------------------------------------------
// Training: teacher-forced loss and backward

template <typename Real>
void TransformerSeq2Seq<Real>::forward_batch(const Batch& batch, bool training, Rng& rng,
                                             EncoderCache& enc, DecoderCache& dec,
                                             Mat<Real>& logits) const {
  const ParameterStore<Real>& p = *params_;
  const uword B = batch.size;
  encode_batch(batch.source_ids, batch.source_lengths, batch.source_steps, training, rng, enc);

  dec.memories.resize(layers_);
  for (uword l = 0; l < layers_; ++l)
    decoder_[l].project_memory(p, enc.output, batch.source_lengths, batch.source_steps,
                               dec.memories[l]);
  tgt_embed_->forward(p, batch.target_input_ids, dec.embedded);
  if (tgt_positions_) tgt_positions_->add(p, dec.embedded, B);
  dec.inputs.resize(layers_ + 1);
  dec.layers.resize(layers_);
  embed_dropout_.forward(dec.embedded, dec.inputs[0], dec.embed_dropout, training, rng);
  for (uword l = 0; l < layers_; ++l)
    decoder_[l].forward(p, dec.inputs[l], batch.target_lengths, dec.memories[l], training, rng,
                        dec.layers[l], dec.inputs[l + 1]);
  if (decoder_norm_)
    decoder_norm_->forward(p, dec.inputs[layers_], dec.output, dec.norm);
  else
    dec.output = dec.inputs[layers_];

  output_logits(dec.output, logits);
}

template <typename Real>
void TransformerSeq2Seq<Real>::forced_log_probs(const Batch& batch, Mat<Real>& log_probs) {
  Rng unused(0);
  EncoderCache enc;
  DecoderCache dec;
  Mat<Real> logits;
  forward_batch(batch, false, unused, enc, dec, logits);
  log_softmax(logits, log_probs);
}

template <typename Real>
LossStats TransformerSeq2Seq<Real>::forward_backward(const Batch& batch,
                                                     const LossOptions& options, bool training,
                                                     bool compute_gradients, Rng& rng) {
  if (training && options.sampling_ratio > 0)
    throw std::invalid_argument(
        "model.type=transformer does not support scheduled sampling: set "
        "train.sampling_ratio=0");
  ParameterStore<Real>& p = *params_;
  gemm::PackCache packs;  // the weights do not change during the call
  gemm::UsePacks use_packs(packs);
  const uword B = batch.size, T = batch.target_steps;

  EncoderCache enc;
  DecoderCache dec;
  Mat<Real> logits;  // (V × T·B), one GEMM
  forward_batch(batch, training, rng, enc, dec, logits);
  CrossEntropyCache<Real> loss_cache;
  const LossStats stats = sequence_loss_forward(logits, batch, options, loss_cache);
  if (!compute_gradients) return stats;

  // ---- backward ----
  Mat<Real> d_logits;
  sequence_loss_backward(batch, options, loss_cache, d_logits);
  logits.reset();
  Mat<Real> d_output;  // (D × T·B)
  output_->backward(p, dec.output, d_logits, d_output);
  d_logits.reset();

  Mat<Real> dz(D_, T * B, arma::fill::zeros), d_in(D_, T * B);
  if (decoder_norm_)
    decoder_norm_->backward(p, d_output, dec.norm, &dz);
  else
    dz = d_output;
  std::vector<MhaMemoryGrad<Real>> memory_grads(layers_);
  for (uword l = 0; l < layers_; ++l) decoder_[l].begin_backward(dec.memories[l], memory_grads[l]);
  for (uword l = layers_; l-- > 0;) {
    d_in.zeros();
    decoder_[l].backward(p, dec.layers[l], dec.memories[l], dz, d_in, memory_grads[l]);
    dz.swap(d_in);
  }
  Mat<Real> d_embedded(D_, T * B, arma::fill::zeros);
  embed_dropout_.backward(dz, dec.embed_dropout, d_embedded);
  if (tgt_positions_) tgt_positions_->backward(p, d_embedded, B);
  tgt_embed_->backward(p, batch.target_input_ids, d_embedded);

  Mat<Real> d_memory(arma::size(enc.output), arma::fill::zeros);
  for (uword l = 0; l < layers_; ++l)
    decoder_[l].project_memory_backward(p, enc.output, dec.memories[l], memory_grads[l],
                                        d_memory);
  encoder_backward(enc, d_memory);
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Decoding

template <typename Real>
std::unique_ptr<DecodeState> TransformerSeq2Seq<Real>::encode(const std::vector<Index>& src,
                                                              const std::vector<uword>& src_lengths,
                                                              uword src_steps) {
  auto state = std::make_unique<TransformerDecodeState>();
  gemm::UsePacks use_packs(state->packs);
  Rng unused(0);  // no dropout at inference
  EncoderCache enc;
  encode_batch(src, src_lengths, src_steps, false, unused, enc);
  const uword B = src_lengths.size();
  state->rows = B;
  state->layers.resize(layers_);
  // Room for outputs as long as the source and a few more; the self-attention caches double
  // beyond it (multi_head_attention.cpp). Room for the longest allowed output (2·S + 10) would
  // reserve 2–3× what outputs use: at beam 10 that made decoding the peak of the process's
  // memory (882 MB against 425 MB for training, benchmark Transformer).
  const uword capacity = src_steps + 4;
  for (uword l = 0; l < layers_; ++l) {
    decoder_[l].project_memory(*params_, enc.output, src_lengths, src_steps,
                               state->layers[l].cross_memory);
    decoder_[l].begin_decoding(state->layers[l], B, capacity);
  }
  state->source_of_row.resize(B);
  for (uword i = 0; i < B; ++i) state->source_of_row[i] = i;
  return state;
}

template <typename Real>
void TransformerSeq2Seq<Real>::decode_step(DecodeState& base,
                                           const std::vector<Index>& prev_tokens,
                                           Mat<Real>& log_probs) {
  auto& s = static_cast<TransformerDecodeState&>(base);
  gemm::UsePacks use_packs(s.packs);
  if (prev_tokens.size() != s.rows)
    throw std::invalid_argument("decode_step: " + std::to_string(prev_tokens.size()) +
                                " tokens for " + std::to_string(s.rows) + " rows");
  const ParameterStore<Real>& p = *params_;
  tgt_embed_->forward(p, prev_tokens, s.x);
  if (tgt_positions_) tgt_positions_->add(p, s.x, s.rows, s.t);
  for (uword l = 0; l < layers_; ++l) {
    decoder_[l].step(p, s.x, s.layers[l], s.y);
    s.x.swap(s.y);
  }
  if (decoder_norm_) {
    decoder_norm_->forward(p, s.x, s.output, s.norm);
    output_logits(s.output, s.logits);
  } else {
    output_logits(s.x, s.logits);
  }
  log_softmax(s.logits, log_probs);
  ++s.t;
}

template <typename Real>
void TransformerSeq2Seq<Real>::reorder(DecodeState& base, const std::vector<uword>& rows) {
  auto& s = static_cast<TransformerDecodeState&>(base);
  const uword N_old = s.rows, N = rows.size();
  s.next_sources.resize(N);
  for (uword i = 0; i < N; ++i) s.next_sources[i] = s.source_of_row.at(rows[i]);
  const bool same_sources = s.next_sources == s.source_of_row;
  for (uword l = 0; l < layers_; ++l) {
    DecoderLayerState<Real>& layer = s.layers[l];
    const uword H = decoder_[l].heads();
    reorder_memory(layer.self_memory, H, rows);
    if (!same_sources) reorder_memory(layer.cross_memory, H, rows);
    Mat<Real>& w = layer.cross_buffers.weights;  // (S × H·N_old), head h = columns h·N_old + n
    if (w.is_empty()) continue;
    s.spare_weights.set_size(w.n_rows, H * N);
    for (uword h = 0; h < H; ++h)
      for (uword i = 0; i < N; ++i)
        std::copy(w.colptr(h * N_old + rows[i]), w.colptr(h * N_old + rows[i]) + w.n_rows,
                  s.spare_weights.colptr(h * N + i));
    w.swap(s.spare_weights);
  }
  s.source_of_row.swap(s.next_sources);
  s.rows = N;
}

template <typename Real>
AttentionWeights<Real> TransformerSeq2Seq<Real>::attention(const DecodeState& base) const {
  const auto& s = static_cast<const TransformerDecodeState&>(base);
  AttentionWeights<Real> result;
  if (s.t == 0) return result;
  const uword N = s.rows;
  result.weights.resize(layers_);
  for (uword l = 0; l < layers_; ++l) {
    const Mat<Real>& w = s.layers[l].cross_buffers.weights;
    for (uword h = 0; h < decoder_[l].heads(); ++h)
      result.weights[l].push_back(w.cols(h * N, (h + 1) * N - 1));
  }
  return result;
}

template class TransformerSeq2Seq<float>;
template class TransformerSeq2Seq<double>;

}  // namespace s2s
