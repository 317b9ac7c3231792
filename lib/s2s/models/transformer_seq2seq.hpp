#pragma once
// Transformer encoder-decoder (Vaswani et al. 2017) behind Seq2SeqModel.
//
// Sizes: D = model.d_model, H = model.heads, F = model.ff_size, N = model.transformer_layers
// (encoder and decoder each), V_src, V_tgt vocabularies. Layers: transformer_layers.hpp.
//
// Encoder:  x_0 = dropout_emb(√D · Emb_src(src) + P_src)            (D × S·B)
//           x_l = EncoderLayer_l(x_{l−1}, source padding mask),  l = 1 … N
//           m   = LN_enc(x_N) (pre-norm) or x_N (post-norm)          the memory
// Decoder:  z_0 = dropout_emb(√D · Emb_tgt(<s> y_1 … y_n) + P_tgt)   (D × T·B)
//           z_l = DecoderLayer_l(z_{l−1}, m)   masked (causal + padding) self-attention and
//                                              cross-attention to m (source padding mask)
//           o   = LN_dec(z_N) (pre-norm) or z_N (post-norm)
// Output:   logits = W_out o + b_out,  W_out = Emb_tgtᵀ when model.tie_embeddings or
//           model.share_embeddings (then also Emb_src = Emb_tgt; needs V_src = V_tgt)
// Loss:     softmax cross-entropy (cross_entropy.hpp), pad ignored, label smoothing.
// Dropout:  model.embed_dropout on x_0 and z_0; model.dropout on every residual branch and the
//           FFN's hidden layer; model.attention_dropout on the attention weights.
// P: sinusoidal or learned (model.positions, positional_encoding.hpp), positions 0 … 1023; or
// none (P = 0) with model.positions = alibi | t5, which bias the self-attention scores instead
// (relative_position_bias.hpp; encoder symmetric / bidirectional, decoder causal, none on the
// cross-attention) and set no length limit.
// Padding: no real position attends to a padded one (weights exactly 0), and padded positions
// get exactly zero gradients; their values (x_l, z_l at padded columns) are finite but not
// zeroed, as in PyTorch.
//
// Decoding: encode() runs the encoder and projects every decoder layer's cross-attention keys and
// values once; decode_step() embeds the previous tokens at position t and runs each layer for that
// one position against its cached self-attention keys/values of positions < t (O(t) per step);
// reorder() permutes those caches (and the cross-attention ones when the sources change).
// attention() gives the cross-attention weights of the last step, weights[l][h] (S × N) for decoder
// layers l = 0 … N−1 in order and heads h = 0 … H−1 (so the decoding code's "layer 0, heads
// averaged" is the first decoder layer).
//
// Parameter names: encoder.embedding.weight (D × V_src), decoder.embedding.weight (or one
// embedding.weight when shared), encoder.positions.weight / decoder.positions.weight (learned),
// encoder.layer{l}.*, decoder.layer{l}.* (with t5 positions also their
// self_attn.relative_bias.weight), encoder.norm.* / decoder.norm.* (pre-norm),
// decoder.output.weight (V_tgt × D, unless tied or shared), decoder.output.bias.
// Init: as nn.Transformer for the layers (xavier_uniform weights); embeddings and learned
// positions N(0, D^−½) as fairseq / OpenNMT-py (so √D · Emb has unit scale), pad column 0; the
// output layer as nn.Linear(D, V_tgt).
//
// Scheduled sampling (LossOptions::sampling_ratio > 0) is not supported: the decoder is run on
// all target positions at once. forward_backward throws std::invalid_argument if asked.
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "s2s/core/config.hpp"
#include "s2s/layers/dropout.hpp"
#include "s2s/layers/embedding.hpp"
#include "s2s/layers/layer_norm.hpp"
#include "s2s/layers/output_layer.hpp"
#include "s2s/layers/positional_encoding.hpp"
#include "s2s/models/seq2seq_model.hpp"
#include "s2s/models/transformer_layers.hpp"

namespace s2s {

template <typename Real>
class TransformerSeq2Seq final : public Seq2SeqModel<Real> {
 public:
  static constexpr uword kMaxPositions = 1024;

  // Throws std::invalid_argument on an inconsistent config, e.g. model.share_embeddings with
  // different vocabulary sizes.
  TransformerSeq2Seq(const ModelConfig& config, uword source_vocab_size, uword target_vocab_size);
  ~TransformerSeq2Seq() override;

  std::string describe() const override;
  ParameterStore<Real>& params() override { return *params_; }
  const ParameterStore<Real>& params() const override { return *params_; }
  uword source_vocab_size() const override { return src_vocab_; }
  uword target_vocab_size() const override { return tgt_vocab_; }
  void init(Rng& rng) override;
  uword max_length() const override { return src_positions_ ? kMaxPositions - 1 : 0; }

  LossStats forward_backward(const Batch& batch, const LossOptions& options, bool training,
                             bool compute_gradients, Rng& rng) override;

  std::unique_ptr<DecodeState> encode(const std::vector<Index>& src,
                                      const std::vector<uword>& src_lengths,
                                      uword src_steps) override;
  void decode_step(DecodeState& state, const std::vector<Index>& prev_tokens,
                   Mat<Real>& log_probs) override;
  void reorder(DecodeState& state, const std::vector<uword>& rows) override;
  AttentionWeights<Real> attention(const DecodeState& state) const override;

  // Teacher-forced log-probabilities of every target position of a batch, (V × T·B), without
  // dropout: what decode_step() gives step by step (the incremental-decoding tests use it).
  void forced_log_probs(const Batch& batch, Mat<Real>& log_probs);

 private:
  struct EncoderCache;
  struct DecoderCache;
  struct TransformerDecodeState;

  void encode_batch(const std::vector<Index>& src, const std::vector<uword>& lengths, uword steps,
                    bool training, Rng& rng, EncoderCache& cache) const;
  void encoder_backward(const EncoderCache& cache, const Mat<Real>& d_output);
  // Encoder and decoder over a whole batch; logits (V × T·B).
  void forward_batch(const Batch& batch, bool training, Rng& rng, EncoderCache& enc,
                     DecoderCache& dec, Mat<Real>& logits) const;
  const Embedding<Real>& src_embedding() const { return src_embed_ ? *src_embed_ : *tgt_embed_; }
  bool tied_output() const { return config_.tie_embeddings || config_.share_embeddings; }
  void output_logits(const Mat<Real>& o, Mat<Real>& logits) const;

  ModelConfig config_;
  uword src_vocab_, tgt_vocab_, D_, layers_;
  NormPlacement norm_;
  std::unique_ptr<Embedding<Real>> tgt_embed_;
  std::unique_ptr<Embedding<Real>> src_embed_;  // null when shared: the source uses tgt_embed_
  std::unique_ptr<PositionalEncoding<Real>> src_positions_, tgt_positions_;  // null: relative
  std::vector<TransformerEncoderLayer<Real>> encoder_;
  std::vector<TransformerDecoderLayer<Real>> decoder_;
  std::optional<LayerNorm<Real>> encoder_norm_, decoder_norm_;  // pre-norm only
  std::unique_ptr<OutputLayer<Real>> output_;  // W_out (or the target embeddingᵀ), b_out
  Dropout<Real> embed_dropout_;
  std::unique_ptr<ParameterStore<Real>> params_;
};

}  // namespace s2s
