#include "s2s/layers/layer_norm.hpp"

#include <cmath>
#include <stdexcept>

#include "s2s/core/activations.hpp"  // S2S_VECTOR_CLONES

namespace s2s {

namespace {

constexpr uword kLanes = 8;  // partial sums: one AVX-512 register of doubles

// Σ_i (x_i − shift)^power for power 1 or 2, in double, as kLanes interleaved partial sums added
// in a fixed order at the end: the compiler can vectorise it (a single running sum it may not
// reorder), and the result does not depend on the vector width.
template <int power, typename Real>
S2S_VECTOR_CLONES double lane_sum(const Real* x, uword n, double shift) {
  double acc[kLanes] = {};
  const uword whole = n / kLanes * kLanes;
  for (uword i = 0; i < whole; i += kLanes)
    for (uword j = 0; j < kLanes; ++j) {
      const double v = static_cast<double>(x[i + j]) - shift;
      acc[j] += power == 1 ? v : v * v;
    }
  for (uword i = whole; i < n; ++i) {
    const double v = static_cast<double>(x[i]) - shift;
    acc[i - whole] += power == 1 ? v : v * v;
  }
  double sum = 0.0;
  for (uword j = 0; j < kLanes; ++j) sum += acc[j];
  return sum;
}

}  // namespace

template <typename Real>
LayerNorm<Real>::LayerNorm(ParamLayout& layout, const std::string& name, uword dim, double eps)
    : dim_(dim), eps_(eps) {
  if (dim == 0) throw std::invalid_argument(name + ": layer norm over 0 features");
  weight_ = layout.add(name + ".weight", dim, 1);
  bias_ = layout.add(name + ".bias", dim, 1);
}

template <typename Real>
void LayerNorm<Real>::init(ParameterStore<Real>& params) const {
  params.value(weight_).ones();
  params.value(bias_).zeros();
}

template <typename Real>
void LayerNorm<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& x, Mat<Real>& y,
                              LayerNormCache<Real>& cache) const {
  if (x.n_rows != dim_)
    throw std::invalid_argument("layer norm: input has " + std::to_string(x.n_rows) +
                                " features, expected " + std::to_string(dim_));
  const uword cols = x.n_cols;
  const Real* gamma = params.value(weight_).memptr();  // (D)
  const Real* beta = params.value(bias_).memptr();     // (D)
  y.set_size(dim_, cols);
  cache.x_hat.set_size(dim_, cols);
  cache.mean.set_size(cols);
  cache.rstd.set_size(cols);
  const double inv_dim = 1.0 / static_cast<double>(dim_);
  for (uword n = 0; n < cols; ++n) {
    const Real* xc = x.colptr(n);
    // Two passes in double: exact enough for float inputs with a large common offset.
    const double mean = lane_sum<1>(xc, dim_, 0.0) * inv_dim;
    const double sq = lane_sum<2>(xc, dim_, mean);
    const double rstd = 1.0 / std::sqrt(sq * inv_dim + eps_);
    cache.mean(n) = static_cast<Real>(mean);
    cache.rstd(n) = static_cast<Real>(rstd);
    Real* xh = cache.x_hat.colptr(n);
    Real* yc = y.colptr(n);
    for (uword i = 0; i < dim_; ++i) {
      xh[i] = static_cast<Real>((xc[i] - mean) * rstd);
      yc[i] = gamma[i] * xh[i] + beta[i];
    }
  }
}

template <typename Real>
void LayerNorm<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& dy,
                               const LayerNormCache<Real>& cache, Mat<Real>* dx) const {
  const uword cols = dy.n_cols;
  const Real* gamma = params.value(weight_).memptr();  // (D)
  Real* dgamma = params.grad(weight_).memptr();        // (D)
  Real* dbeta = params.grad(bias_).memptr();           // (D)
  const Real inv_dim = static_cast<Real>(1.0 / static_cast<double>(dim_));
  for (uword n = 0; n < cols; ++n) {
    const Real* dyc = dy.colptr(n);
    const Real* xh = cache.x_hat.colptr(n);
    Real sum_g = 0;       // Σ_j g_jn
    Real sum_g_xhat = 0;  // Σ_j g_jn x̂_jn
    for (uword i = 0; i < dim_; ++i) {
      dgamma[i] += dyc[i] * xh[i];
      dbeta[i] += dyc[i];
      const Real g = gamma[i] * dyc[i];
      sum_g += g;
      sum_g_xhat += g * xh[i];
    }
    if (dx == nullptr) continue;
    const Real mean_g = sum_g * inv_dim;
    const Real mean_g_xhat = sum_g_xhat * inv_dim;
    const Real rstd = cache.rstd(n);
    Real* dxc = dx->colptr(n);
    for (uword i = 0; i < dim_; ++i)
      dxc[i] += rstd * (gamma[i] * dyc[i] - mean_g - xh[i] * mean_g_xhat);
  }
}

template class LayerNorm<float>;
template class LayerNorm<double>;

}  // namespace s2s
