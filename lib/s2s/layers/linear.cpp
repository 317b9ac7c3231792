#include "s2s/layers/linear.hpp"

#include <cmath>

#include "s2s/core/gemm.hpp"

namespace s2s {

template <typename Real>
Linear<Real>::Linear(ParamLayout& layout, const std::string& name, uword in, uword out, bool bias)
    : in_(in), out_(out), has_bias_(bias) {
  weight_ = layout.add(name + ".weight", out, in);
  if (has_bias_) bias_ = layout.add(name + ".bias", out, 1);
}

template <typename Real>
void Linear<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(in_));
  rng.fill_uniform(params.value(weight_), -bound, bound);
  if (has_bias_) rng.fill_uniform(params.value(bias_), -bound, bound);
}

template <typename Real>
void Linear<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                           Mat<Real>& y) const {
  gemm::weight_product(params.value(weight_), x, y);  // (out × in)(in × N)
  if (has_bias_) y.each_col() += params.value(bias_).col(0);
}

template <typename Real>
void Linear<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& x, const Mat<Real>& dy,
                            Mat<Real>* dx) const {
  gemm::gradient_product(dy, x, params.grad(weight_));    // (out × N)(N × in)
  if (has_bias_) params.grad(bias_) += arma::sum(dy, 1);  // (out × 1)
  if (dx != nullptr) gemm::weight_t_product(params.value(weight_), dy, *dx, true);  // (in × out)(out × N)
}

template class Linear<float>;
template class Linear<double>;

}  // namespace s2s
