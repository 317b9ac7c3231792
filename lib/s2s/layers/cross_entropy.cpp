#include "s2s/layers/cross_entropy.hpp"

#include <cmath>
#include <stdexcept>

#include "s2s/core/choice.hpp"

namespace s2s {

template <typename Real>
void log_softmax(const Mat<Real>& logits, Mat<Real>& log_probs) {
  const uword vocab = logits.n_rows;
  if (vocab == 0) throw std::invalid_argument("log_softmax over 0 classes");
  log_probs.set_size(vocab, logits.n_cols);
  for (uword n = 0; n < logits.n_cols; ++n) {
    const Real* z = logits.colptr(n);
    Real* out = log_probs.colptr(n);
    Real max_z = z[0];
    for (uword c = 1; c < vocab; ++c) max_z = z[c] > max_z ? z[c] : max_z;
    double sum_exp = 0.0;  // each term ≤ 1, accumulated in double
    for (uword c = 0; c < vocab; ++c) sum_exp += std::exp(z[c] - max_z);
    const Real log_norm = max_z + static_cast<Real>(std::log(sum_exp));
    for (uword c = 0; c < vocab; ++c) out[c] = z[c] - log_norm;
  }
}

LossNormalization parse_loss_normalization(const std::string& name) {
  return parse_choice<LossNormalization>("loss normalization", name,
      {{"tokens", LossNormalization::tokens}, {"sentences", LossNormalization::sentences},
       {"none", LossNormalization::none}});
}

template <typename Real>
SoftmaxCrossEntropy<Real>::SoftmaxCrossEntropy(const CrossEntropyConfig& config)
    : config_(config) {
  if (!(config.label_smoothing >= 0.0 && config.label_smoothing <= 1.0))
    throw std::invalid_argument("label smoothing must be in [0, 1], got " +
                                std::to_string(config.label_smoothing));
}

template <typename Real>
CrossEntropyResult SoftmaxCrossEntropy<Real>::forward(const Mat<Real>& logits,
                                                      const std::vector<Index>& targets,
                                                      CrossEntropyCache<Real>& cache,
                                                      uword num_sentences) const {
  const uword vocab = logits.n_rows;
  if (targets.size() != logits.n_cols)
    throw std::invalid_argument("cross entropy: " + std::to_string(targets.size()) +
                                " targets for " + std::to_string(logits.n_cols) + " columns");
  log_softmax(logits, cache.log_probs);
  const double eps = config_.label_smoothing;
  const double smooth_per_class = eps / static_cast<double>(vocab);

  CrossEntropyResult result;
  double loss_sum = 0.0;
  for (uword n = 0; n < targets.size(); ++n) {
    const Index target = targets[n];
    if (target == config_.ignore_index) continue;
    if (target < 0 || static_cast<uword>(target) >= vocab)
      throw std::out_of_range("cross entropy: target " + std::to_string(target) +
                              " outside [0, " + std::to_string(vocab) + ")");
    const Real* lp = cache.log_probs.colptr(n);
    const double nll = -static_cast<double>(lp[target]);
    double sum_neg_lp = 0.0;  // Σ_c −log q_c
    uword argmax = 0;
    for (uword c = 0; c < vocab; ++c) {
      sum_neg_lp -= lp[c];
      if (lp[c] > lp[argmax]) argmax = c;
    }
    loss_sum += (1.0 - eps) * nll + smooth_per_class * sum_neg_lp;
    result.nll_sum += nll;
    result.tokens += 1;
    if (argmax == static_cast<uword>(target)) result.correct += 1;
  }

  switch (config_.normalization) {
    case LossNormalization::tokens:
      result.norm = result.tokens > 0 ? static_cast<double>(result.tokens) : 1.0;
      break;
    case LossNormalization::sentences:
      if (num_sentences == 0)
        throw std::invalid_argument("cross entropy: sentence normalization needs num_sentences");
      result.norm = static_cast<double>(num_sentences);
      break;
    case LossNormalization::none:
      result.norm = 1.0;
      break;
  }
  result.loss = loss_sum / result.norm;
  cache.norm = result.norm;
  return result;
}

template <typename Real>
void SoftmaxCrossEntropy<Real>::backward(const std::vector<Index>& targets,
                                         const CrossEntropyCache<Real>& cache,
                                         Mat<Real>& dlogits) const {
  const uword vocab = cache.log_probs.n_rows;
  if (targets.size() != cache.log_probs.n_cols)
    throw std::invalid_argument("cross entropy backward: " + std::to_string(targets.size()) +
                                " targets for " + std::to_string(cache.log_probs.n_cols) +
                                " columns");
  const Real inv_norm = static_cast<Real>(1.0 / cache.norm);
  const Real smooth = static_cast<Real>(config_.label_smoothing / static_cast<double>(vocab));
  const Real on_target = static_cast<Real>(1.0 - config_.label_smoothing);
  dlogits.set_size(vocab, cache.log_probs.n_cols);
  for (uword n = 0; n < targets.size(); ++n) {
    Real* dz = dlogits.colptr(n);
    const Index target = targets[n];
    if (target == config_.ignore_index) {
      for (uword c = 0; c < vocab; ++c) dz[c] = Real(0);
      continue;
    }
    const Real* lp = cache.log_probs.colptr(n);
    for (uword c = 0; c < vocab; ++c) dz[c] = (std::exp(lp[c]) - smooth) * inv_norm;
    dz[target] -= on_target * inv_norm;
  }
}

template void log_softmax<float>(const Mat<float>&, Mat<float>&);
template void log_softmax<double>(const Mat<double>&, Mat<double>&);
template class SoftmaxCrossEntropy<float>;
template class SoftmaxCrossEntropy<double>;

}  // namespace s2s
