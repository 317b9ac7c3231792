#pragma once
// RNN encoder-decoder with any attention variant (or none), behind Seq2SeqModel.
//
// Sizes: E embedding, H = model.hidden_size (the encoder's output size and the decoder's state
// size; a bidirectional encoder gives each direction H/2, as OpenNMT-py does, so every variant
// works with either encoder), V_src, V_tgt vocabularies.
//
// Encoder:  x_j = dropout_emb(Emb_src(x_j));  h_1..h_S = RNN_enc(x)            (H × S·B)
// Bridge:   decoder initial state per layer from the encoder's final states:
//             zero   s_0 = 0
//             copy   s_0^l = [h_fwd; h_bwd] of encoder layer l (top layer if the depths differ);
//                    LSTM cells copied likewise
//             tanh   s_0^l = tanh(W_b [h_fwd; h_bwd]_top + b_b) for every layer; LSTM c_0 = 0
// Decoder step t (e_t = dropout_emb(Emb_tgt(y_{t−1})), s_t the top layer's state):
//   none      s_t = RNN(e_t, s_{t−1});                               o_t = s_t
//   bahdanau, monotonic, monotonic-chunk
//             c_t = Attn(s_{t−1}); s_t = RNN([e_t; c_t], s_{t−1});   o_t = tanh(W_o [s_t; c_t; e_t] + b_o)
//   dot, luong-*
//             s_t = RNN([e_t; o_{t−1}] (input feeding) or e_t, s_{t−1}),  o_0 = 0
//             c_t = Attn(s_t);                                        o_t = tanh(W_c [c_t; s_t])
// Output:   logits_t = W_out dropout(o_t) + b_out (W_out = Emb_tgtᵀ when tied)
// Loss:     softmax cross-entropy with the pad id ignored, label smoothing, normalisation; with
//           coverage (model.coverage) and LossOptions::coverage_loss λ > 0, plus See et al.'s
//           λ Σ_t Σ_j min(a_tj, cov_tj) over the real target steps, normalised alike.
// Copy (model.copy; See et al. 2017, layers/pointer_generator.hpp): the output distribution mixes
// generating, softmax(logits_t), with copying source tokens through a_t, gated by
//   p_gen,t = σ(w_g · [s_t; c_t; e_t] + b_g)   (bahdanau flow; luong: [c_t; s_t; e_t])
// over the extended vocabulary: the model then takes source ids in each sentence's extended
// vocabulary (Vocab::extend; ids ≥ V are embedded as <unk>, and so are target inputs ≥ V) and
// decode_step returns (V + X) rows, X the most source tokens outside the vocabulary in the batch.
// The loss is −log P(y_t) of that mixture, normalised as the cross-entropy would be.
// Recurrent attention (coverage, monotonic; attention.hpp) carries its state from step to step:
// in training in the step caches, in decoding in the decode state (reordered with the beams).
//
// Decoding (encode, decode_step) runs the same step equations one step at a time. When the target
// vocabulary is small next to rows × source length (characters, phonemes), encode() also
// computes W_ih[:, :E] Emb_tgt and (Bahdanau) W_o[:, 2H:] Emb_tgt for every target id, and each
// step looks up its columns instead of multiplying the embeddings again: the same sums in
// another order (equal up to rounding), about 18 % fewer multiply-adds per step for G2P.
//
// Parameter names: encoder.embedding.weight, encoder.rnn.layer{l}[.fwd|.bwd].weight_ih, ...,
// bridge.weight/bias, decoder.embedding.weight, decoder.rnn.layer{l}.weight_ih, ...,
// decoder.attention.*, decoder.output_proj.* (bahdanau) or decoder.attention_combine.weight
// (dot, luong-*), decoder.copy_gate.weight/bias (copy), decoder.output.weight/bias.
//
// Training runs the decoder step by step (the attention variants need it) with DecoderRnn
// (decoder_rnn.hpp): the embedding half of the decoder's input projection and every weight
// gradient are one GEMM over all T·B positions, as are the output layer and the loss, and the
// output projection W_o / W_c whenever o_t does not feed the next step (no input feeding, no
// scheduled sampling). Its buffers live in a workspace kept across batches (no allocation once
// the largest batch shape has been seen).
//
// Code: rnn_seq2seq.cpp (construction, encoder and bridge forward, the decoding API),
// rnn_seq2seq_step.cpp (the decoder step of each flow: decoding's and training's versions side by
// side, and the training step's backward), rnn_seq2seq_train.cpp (forward_backward in named
// parts: encoder, decoder, output and loss forward; their backward in reverse).
#include <memory>
#include <string>

#include "s2s/attention/attention.hpp"
#include "s2s/core/config.hpp"
#include "s2s/layers/cross_entropy.hpp"
#include "s2s/layers/dropout.hpp"
#include "s2s/layers/embedding.hpp"
#include "s2s/layers/linear.hpp"
#include "s2s/layers/output_layer.hpp"
#include "s2s/layers/pointer_generator.hpp"
#include "s2s/models/seq2seq_model.hpp"
#include "s2s/rnn/decoder_rnn.hpp"
#include "s2s/rnn/rnn_stack.hpp"

namespace s2s {

// model.bridge, parsed once. Throws std::invalid_argument listing the valid options.
enum class Bridge { kZero, kCopy, kTanh };
Bridge parse_bridge(const std::string& name);

template <typename Real>
class RnnSeq2Seq final : public Seq2SeqModel<Real> {
 public:
  // Throws std::invalid_argument on an inconsistent config (config.hpp's validate()).
  RnnSeq2Seq(const ModelConfig& config, uword source_vocab_size, uword target_vocab_size);
  ~RnnSeq2Seq() override;

  std::string describe() const override;
  ParameterStore<Real>& params() override { return *params_; }
  const ParameterStore<Real>& params() const override { return *params_; }
  uword source_vocab_size() const override { return src_vocab_; }
  uword target_vocab_size() const override { return tgt_vocab_; }
  void init(Rng& rng) override;

  LossStats forward_backward(const Batch& batch, const LossOptions& options, bool training,
                             bool compute_gradients, Rng& rng) override;

  std::unique_ptr<DecodeState> encode(const std::vector<Index>& src,
                                      const std::vector<uword>& src_lengths,
                                      uword src_steps) override;
  void decode_step(DecodeState& state, const std::vector<Index>& prev_tokens,
                   Mat<Real>& log_probs) override;
  void reorder(DecodeState& state, const std::vector<uword>& rows) override;
  AttentionWeights<Real> attention(const DecodeState& state) const override;

 private:
  enum class Flow { kNone, kBahdanau, kLuong };
  // Plain structs of what forward keeps (rnn_seq2seq_caches.hpp).
  struct EncoderCache;
  struct StepCache;
  struct RnnDecodeState;
  struct TrainWorkspace;
  // The embedding parts of a decoding step's products, looked up in precomputed tables:
  // gates = W_ih[:, :E] e_t (G·H × N) of the decoder's layer 0, output = W_o[:, 2H:] e_t (H × N)
  // for Bahdanau (else empty).
  struct ProjectedEmbeddings {
    Mat<Real> gates, output;
  };

  // Encoder forward (rnn_seq2seq.cpp): encoder, bridge and attention keys for a source batch.
  void encode_batch(const std::vector<Index>& src, const std::vector<uword>& lengths, uword steps,
                    bool training, Rng& rng, EncoderCache& cache,
                    std::vector<RnnState<Real>>& initial) const;
  void bridge_forward(const std::vector<RnnState<Real>>& encoder_final,
                      std::vector<RnnState<Real>>& initial, EncoderCache& cache) const;
  void output_logits(const Mat<Real>& o, Mat<Real>& logits) const;

  // The decoder step of each flow, in its two versions side by side (rnn_seq2seq_step.cpp).
  // Decoding: one step on the RnnStack single-step API. x is built from e (E × N) and the flow's
  // extra input; writes `next` states, the output vector o (H × N), and the step's attention
  // weights when there is attention. With `projected`, e is not read: the embedding parts of the
  // products come from it instead (same equations, another order of summation).
  void step_forward(const AttentionKeys<Real>* keys, const Mat<Real>& e, uword t,
                    const std::vector<RnnState<Real>>& prev, const Mat<Real>& feed,
                    std::vector<RnnState<Real>>& next, Mat<Real>& o, StepCache& cache,
                    bool training, Rng& rng, const ProjectedEmbeddings* projected = nullptr) const;
  // Training: step t of a whole batch on DecoderRnn, writing into the workspace's (· × T·B)
  // buffers, and its backward.
  void train_step_none(uword t, bool training, Rng& rng, TrainWorkspace& w) const;
  void train_step_bahdanau(uword t, bool training, Rng& rng, TrainWorkspace& w) const;
  void train_step_luong(uword t, bool training, Rng& rng, TrainWorkspace& w) const;
  void train_step_backward_none(uword t, TrainWorkspace& w);
  void train_step_backward_bahdanau(uword t, TrainWorkspace& w);
  void train_step_backward_luong(uword t, TrainWorkspace& w);
  // What step t's attention takes besides the query, before its forward: the recurrent
  // variants' state from step t − 1, monotonic attention's training noise.
  void train_attention_inputs(uword t, bool training, Rng& rng, TrainWorkspace& w) const;
  // Step t's attention backward, with the coverage loss's gradients when it is on.
  void train_attention_backward(uword t, Mat<Real>& d_query, TrainWorkspace& w);
  // x_t of a training step: [e_t (when not known before the loop); the flow's per-step part].
  const Mat<Real>& train_step_input(const Mat<Real>& e, const Mat<Real>* extra,
                                    TrainWorkspace& w) const;

  // The training pass (rnn_seq2seq_train.cpp), forward_backward in the order it runs.
  void plan_batch(const Batch& batch, const LossOptions& options, bool training,
                  TrainWorkspace& w) const;
  void embed_target_step(uword t, bool training, Rng& rng, TrainWorkspace& w) const;
  void sample_inputs(uword t, const LossOptions& options, Rng& rng, TrainWorkspace& w) const;
  void decoder_forward(const LossOptions& options, bool training, Rng& rng,
                       TrainWorkspace& w) const;
  LossStats output_forward(const Batch& batch, const LossOptions& options, bool training,
                           Rng& rng, TrainWorkspace& w) const;
  // Copy: the gate's input [s_t; c_t; e_t] (bahdanau: combine_in itself; luong: [combine_in; e_t]
  // built into `buffer`), for decoding's N rows or training's T·B columns.
  const Mat<Real>& copy_gate_input(const Mat<Real>& combine_in, const Mat<Real>& embedded,
                                   Mat<Real>& buffer) const;
  // Copy: the pointer-generator loss over all T·B positions (its gradients for output_backward).
  LossStats copy_loss_forward(const Batch& batch, const LossOptions& options,
                              TrainWorkspace& w) const;
  void copy_loss_backward(const Batch& batch, TrainWorkspace& w);
  // See et al.'s coverage loss (normalised, 0 when off) and its gradients into the workspace.
  double coverage_loss_forward(const Batch& batch, const LossOptions& options,
                               const LossStats& stats, TrainWorkspace& w) const;
  void output_backward(const Batch& batch, const LossOptions& options, TrainWorkspace& w);
  void decoder_backward(TrainWorkspace& w);
  void target_embedding_backward(TrainWorkspace& w);
  void bridge_backward(TrainWorkspace& w);
  void encoder_backward(TrainWorkspace& w);

  ModelConfig config_;
  uword src_vocab_, tgt_vocab_;
  uword E_, H_;
  RnnCellType cell_;
  Flow flow_;
  Bridge bridge_type_;
  uword decoder_input_size_;

  std::unique_ptr<Embedding<Real>> src_embed_, tgt_embed_;
  std::unique_ptr<RnnStack<Real>> encoder_, decoder_;
  std::unique_ptr<DecoderRnn<Real>> decoder_steps_;  // decoder_ in teacher-forced training
  std::unique_ptr<Linear<Real>> bridge_;           // tanh bridge
  std::unique_ptr<Attention<Real>> attention_;     // null for none
  std::unique_ptr<Linear<Real>> output_proj_;      // bahdanau: W_o, b_o; luong: W_c (no bias)
  std::unique_ptr<Linear<Real>> copy_gate_;        // copy: w_g, b_g (1 output)
  std::unique_ptr<OutputLayer<Real>> output_;      // W_out (or Emb_tgtᵀ), b_out
  Dropout<Real> embed_dropout_, dropout_;
  std::unique_ptr<ParameterStore<Real>> params_;
  std::unique_ptr<TrainWorkspace> work_;           // forward_backward's buffers
};

}  // namespace s2s
