#include "s2s/layers/output_layer.hpp"

#include <cmath>

#include "s2s/core/gemm.hpp"

namespace s2s {

template <typename Real>
OutputLayer<Real>::OutputLayer(ParamLayout& layout, const std::string& name, uword input_size,
                               uword vocab_size, std::optional<ParamId> tied_embedding)
    : input_size_(input_size), tied_(tied_embedding) {
  if (!tied_) weight_ = layout.add(name + ".weight", vocab_size, input_size);
  bias_ = layout.add(name + ".bias", vocab_size, 1);
}

template <typename Real>
void OutputLayer<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(input_size_));
  if (!tied_) rng.fill_uniform(params.value(weight_), -bound, bound);
  rng.fill_uniform(params.value(bias_), -bound, bound);
}

template <typename Real>
void OutputLayer<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& o,
                                Mat<Real>& logits) const {
  if (tied_)
    gemm::weight_t_product(params.value(*tied_), o, logits);  // (V × D)(D × N)
  else
    gemm::weight_product(params.value(weight_), o, logits);  // (V × D)(D × N)
  logits.each_col() += params.value(bias_).col(0);
}

template <typename Real>
void OutputLayer<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& o,
                                 const Mat<Real>& d_logits, Mat<Real>& d_o) const {
  params.grad(bias_) += arma::sum(d_logits, 1);
  if (tied_) {
    gemm::gradient_product(o, d_logits, params.grad(*tied_));  // (D × N)(N × V)
    gemm::weight_product(params.value(*tied_), d_logits, d_o);  // (D × V)(V × N)
  } else {
    gemm::gradient_product(d_logits, o, params.grad(weight_));  // (V × N)(N × D)
    gemm::weight_t_product(params.value(weight_), d_logits, d_o);
  }
}

template class OutputLayer<float>;
template class OutputLayer<double>;

}  // namespace s2s
