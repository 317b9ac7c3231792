#include "s2s/layer_norm.hpp"

#include <cmath>
#include <stdexcept>

namespace s2s {

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
    double sum = 0.0;
    for (uword i = 0; i < dim_; ++i) sum += xc[i];
    const double mean = sum * inv_dim;
    double sq = 0.0;
    for (uword i = 0; i < dim_; ++i) {
      const double centred = xc[i] - mean;
      sq += centred * centred;
    }
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
