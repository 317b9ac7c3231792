#include "s2s/models/sequence_loss.hpp"

#include <algorithm>

namespace s2s {

namespace {

template <typename Real>
SoftmaxCrossEntropy<Real> make_loss(const LossOptions& options) {
  CrossEntropyConfig config;
  config.ignore_index = Vocab::kPad;
  config.label_smoothing = options.label_smoothing;
  config.normalization = options.normalization;
  return SoftmaxCrossEntropy<Real>(config);
}

}  // namespace

template <typename Real>
LossStats sequence_loss_forward(const Mat<Real>& logits, const Batch& batch,
                                const LossOptions& options, CrossEntropyCache<Real>& cache) {
  const CrossEntropyResult r =
      make_loss<Real>(options).forward(logits, batch.target_output_ids, cache, batch.size);
  LossStats stats;
  stats.loss = r.loss;
  stats.nll_sum = r.nll_sum;
  stats.tokens = static_cast<double>(r.tokens);
  stats.correct = static_cast<double>(r.correct);
  return stats;
}

double loss_denominator(const LossOptions& options, double tokens, uword sentences) {
  switch (options.normalization) {
    case LossNormalization::tokens: return std::max(tokens, 1.0);
    case LossNormalization::sentences: return static_cast<double>(std::max<uword>(sentences, 1));
    case LossNormalization::none: break;
  }
  return 1.0;
}

template <typename Real>
void sequence_loss_backward(const Batch& batch, const LossOptions& options,
                            const CrossEntropyCache<Real>& cache, Mat<Real>& d_logits) {
  make_loss<Real>(options).backward(batch.target_output_ids, cache, d_logits);
}

template LossStats sequence_loss_forward<float>(const Mat<float>&, const Batch&,
                                                const LossOptions&, CrossEntropyCache<float>&);
template LossStats sequence_loss_forward<double>(const Mat<double>&, const Batch&,
                                                 const LossOptions&, CrossEntropyCache<double>&);
template void sequence_loss_backward<float>(const Batch&, const LossOptions&,
                                            const CrossEntropyCache<float>&, Mat<float>&);
template void sequence_loss_backward<double>(const Batch&, const LossOptions&,
                                             const CrossEntropyCache<double>&, Mat<double>&);

}  // namespace s2s
