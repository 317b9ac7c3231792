#pragma once
// Layer normalisation over the feature dimension, as torch.nn.LayerNorm(D, eps=1e-5).
// Each column n of x is normalised on its own:
//
//   μ_n = (1/D) Σ_i x_in,   σ²_n = (1/D) Σ_i (x_in − μ_n)²   (biased variance, as PyTorch)
//   r_n = 1 / √(σ²_n + ε),  x̂_in = (x_in − μ_n) r_n
//   y_in = γ_i x̂_in + β_i
//
// Shapes: x, y (D × N); weight γ (D × 1, init 1), bias β (D × 1, init 0).
// Cache: x̂ (D × N), mean μ and rstd r (1 × N).
// Backward, given dy = ∂L/∂y (D × N), with g_in = γ_i dy_in:
//   ∂L/∂γ_i += Σ_n dy_in x̂_in,   ∂L/∂β_i += Σ_n dy_in,
//   ∂L/∂x_in += r_n ( g_in − (1/D) Σ_j g_jn − x̂_in (1/D) Σ_j g_jn x̂_jn ).
#include <string>

#include "s2s/core/params.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

template <typename Real>
struct LayerNormCache {
  Mat<Real> x_hat;      // (D × N) normalised input
  arma::Row<Real> mean;  // (1 × N)
  arma::Row<Real> rstd;  // (1 × N) 1/√(σ² + ε)
};

template <typename Real>
class LayerNorm {
 public:
  LayerNorm(ParamLayout& layout, const std::string& name, uword dim, double eps = 1e-5);

  // γ = 1, β = 0, as PyTorch.
  void init(ParameterStore<Real>& params) const;

  // y and the cache are overwritten (resized only if their shapes differ).
  void forward(const ParameterStore<Real>& params, const Mat<Real>& x, Mat<Real>& y,
               LayerNormCache<Real>& cache) const;
  // Adds into the γ and β gradients and, if dx is given, into dx (D × N).
  void backward(ParameterStore<Real>& params, const Mat<Real>& dy,
                const LayerNormCache<Real>& cache, Mat<Real>* dx) const;

  uword dim() const { return dim_; }
  double eps() const { return eps_; }
  ParamId weight_id() const { return weight_; }
  ParamId bias_id() const { return bias_; }

 private:
  uword dim_;
  double eps_;
  ParamId weight_, bias_;
};

}  // namespace s2s
