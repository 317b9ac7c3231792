#pragma once
// Seq2SeqModel: the one interface of every s2s model (RNN encoder-decoders with any attention,
// the Transformer). The trainer, the decoders (greedy, beam), checkpoints, the CLI and the
// attention tooling see only this.
//
// Batches are batching.hpp's Batch: ids time-major (t·B + b), padded with Vocab::kPad; the
// special ids <pad> <unk> <s> </s> are Vocab::kPad, kUnk, kBos, kEos in every vocabulary.
//
// Training:   forward_backward(batch) -> loss; with compute_gradients it also ADDS ∂loss/∂θ into
//             params().grads() (the trainer zeroes them once per step).
// Decoding:   state = encode(src)             once per source batch
//             decode_step(state, prev, logp)  next-token log-probabilities (V × N)
//             reorder(state, rows)            row i of the new state is row rows[i] of the old:
//                                             beam search expands B sources to B·K rows, then
//                                             keeps the chosen beams each step
//             attention(state)                the attention weights of the last step
#include <memory>
#include <string>
#include <vector>

#include "s2s/core/gemm.hpp"
#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/data/vocab.hpp"
#include "s2s/layers/cross_entropy.hpp"

namespace s2s {

struct LossOptions {
  double label_smoothing = 0.0;
  LossNormalization normalization = LossNormalization::tokens;  // cross_entropy.hpp
  // Scheduled sampling: probability of feeding the model's own previous prediction instead of
  // the reference token (0 = pure teacher forcing).
  double sampling_ratio = 0.0;
  // See et al. 2017's coverage loss weight λ (RNN models with model.coverage; 0 = off).
  double coverage_loss = 0.0;
};

struct LossStats {
  double loss = 0.0;      // the normalised loss that was differentiated
  double nll_sum = 0.0;   // summed negative log-likelihood (no smoothing), for perplexity
  double tokens = 0.0;    // non-pad target tokens
  double correct = 0.0;   // argmax predictions equal to the target
};

// Attention weights of one decoder step, per layer and head: weights[l][h] is (S × N).
// RNN models have one layer and one head.
template <typename Real>
struct AttentionWeights {
  std::vector<std::vector<Mat<Real>>> weights;
  bool empty() const { return weights.empty(); }
};

// What encode() returns and decode_step() advances. Each model derives its own.
struct DecodeState {
  virtual ~DecodeState() = default;
  uword rows = 0;  // N: hypotheses decoded in parallel
  gemm::PackCache packs;  // bf16 weights packed once for this decoding (core/gemm.hpp)
};

template <typename Real>
class Seq2SeqModel {
 public:
  virtual ~Seq2SeqModel() = default;
  Seq2SeqModel() = default;
  Seq2SeqModel(const Seq2SeqModel&) = delete;
  Seq2SeqModel& operator=(const Seq2SeqModel&) = delete;

  virtual std::string describe() const = 0;
  virtual ParameterStore<Real>& params() = 0;
  virtual const ParameterStore<Real>& params() const = 0;
  virtual uword source_vocab_size() const = 0;
  virtual uword target_vocab_size() const = 0;
  // The longest source or target, in tokens without <s> and </s>, that the model can take (a
  // table of absolute positions); 0: no limit. Decoding stops its outputs there.
  virtual uword max_length() const { return 0; }

  // Initialises every parameter from rng (PyTorch's default schemes).
  virtual void init(Rng& rng) = 0;

  // Teacher-forced loss of a batch. `training` enables dropout (and scheduled sampling), drawing
  // from rng; `compute_gradients` adds the gradients into params().grads().
  virtual LossStats forward_backward(const Batch& batch, const LossOptions& options,
                                     bool training, bool compute_gradients, Rng& rng) = 0;

  virtual std::unique_ptr<DecodeState> encode(const std::vector<Index>& src,
                                              const std::vector<uword>& src_lengths,
                                              uword src_steps) = 0;
  // prev_tokens: N ids (the <s> id at the first step). log_probs: (V × N), overwritten.
  virtual void decode_step(DecodeState& state, const std::vector<Index>& prev_tokens,
                           Mat<Real>& log_probs) = 0;
  virtual void reorder(DecodeState& state, const std::vector<uword>& rows) = 0;
  // Weights of the last decode_step (empty for models without attention).
  virtual AttentionWeights<Real> attention(const DecodeState& state) const = 0;
};

}  // namespace s2s
