#pragma once
// Softmax cross-entropy over a vocabulary, as
// torch.nn.functional.cross_entropy(logits, targets, ignore_index=p, label_smoothing=ε).
// Each column n is one position with target y_n; positions with y_n = p are ignored.
//
//   log q_n = log_softmax(z_n) = z_n − max(z_n) − log Σ_c exp(z_cn − max(z_n))   (stable)
//   smoothed target  t_cn = (1 − ε) [c = y_n] + ε / V    (ε/V on EVERY class, target included)
//   ℓ_n = −Σ_c t_cn log q_cn = (1 − ε)(−log q_{y_n, n}) + (ε/V) Σ_c (−log q_cn)
//   L = (1/norm) Σ_{n : y_n ≠ p} ℓ_n
//
// norm: `tokens` = number of non-ignored positions (PyTorch's reduction='mean'),
//       `sentences` = a number of sentences given by the caller, `none` = 1 (reduction='sum').
// Shapes: logits z (V × N), targets N ids (time-major, as tensor.hpp), dlogits (V × N).
// Backward:  ∂L/∂z_cn = (q_cn − t_cn) / norm,  and exactly 0 in ignored columns.
// The loss starts the backward pass, so backward OVERWRITES dlogits instead of adding into it:
// that saves a zeroing pass over the largest matrix of the model.
// If no position counts (all ignored), L = 0 and the gradient is 0 (PyTorch would give NaN).
#include <string>
#include <vector>

#include "s2s/core/tensor.hpp"

namespace s2s {

// Column-wise, numerically stable log-softmax: log_probs (V × N) overwritten (resized only if its
// shape differs). For decoding and for the loss below.
template <typename Real>
void log_softmax(const Mat<Real>& logits, Mat<Real>& log_probs);

enum class LossNormalization { tokens, sentences, none };

// "tokens" | "sentences" | "none"; throws std::invalid_argument
// "Unknown loss normalization: X. Valid options: tokens, sentences, none".
LossNormalization parse_loss_normalization(const std::string& name);

struct CrossEntropyConfig {
  Index ignore_index = -1;  // the padding id; -1: nothing ignored
  double label_smoothing = 0.0;  // ε in [0, 1]
  LossNormalization normalization = LossNormalization::tokens;
};

struct CrossEntropyResult {
  double loss = 0.0;     // L, normalised as configured (with label smoothing)
  double nll_sum = 0.0;  // Σ −log q_{y_n, n} over counted positions, unsmoothed: for perplexity
  double norm = 1.0;     // the divisor used
  uword tokens = 0;      // non-ignored positions
  uword correct = 0;     // non-ignored positions whose argmax (first maximum) is the target
};

template <typename Real>
struct CrossEntropyCache {
  Mat<Real> log_probs;  // (V × N)
  double norm = 1.0;
};

template <typename Real>
class SoftmaxCrossEntropy {
 public:
  // Throws std::invalid_argument unless 0 ≤ label_smoothing ≤ 1.
  explicit SoftmaxCrossEntropy(const CrossEntropyConfig& config);

  // num_sentences is used (and must be > 0) only with LossNormalization::sentences.
  // Throws std::out_of_range on a (non-ignored) target outside [0, V).
  CrossEntropyResult forward(const Mat<Real>& logits, const std::vector<Index>& targets,
                             CrossEntropyCache<Real>& cache, uword num_sentences = 0) const;
  // dlogits is overwritten with ∂L/∂z (V × N); the same targets as forward.
  void backward(const std::vector<Index>& targets, const CrossEntropyCache<Real>& cache,
                Mat<Real>& dlogits) const;

  const CrossEntropyConfig& config() const { return config_; }

 private:
  CrossEntropyConfig config_;
};

}  // namespace s2s
