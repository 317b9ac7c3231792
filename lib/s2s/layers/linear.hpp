#pragma once
// Linear (affine) layer, as torch.nn.Linear.
//
//   y = W x + b
//
// Shapes: x (in × N), y (out × N); weight W (out × in), bias b (out × 1). N is any number of
// columns: a batch, or all T·B positions of a sequence batch at once (one GEMM).
// Backward, given dy = ∂L/∂y (out × N):
//   ∂L/∂W += dy xᵀ,   ∂L/∂b += Σ_columns dy,   ∂L/∂x += Wᵀ dy.
// Init as PyTorch: W, b ~ U(-1/√in, 1/√in).
#include <string>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

template <typename Real>
class Linear {
 public:
  Linear(ParamLayout& layout, const std::string& name, uword in, uword out, bool bias = true);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // y is overwritten (resized only if its shape differs).
  void forward(const ParameterStore<Real>& params, const Mat<Real>& x, Mat<Real>& y) const;
  // Adds into the parameter gradients and, if dx is given, into dx (in × N).
  void backward(ParameterStore<Real>& params, const Mat<Real>& x, const Mat<Real>& dy,
                Mat<Real>* dx) const;

  uword in_features() const { return in_; }
  uword out_features() const { return out_; }
  bool has_bias() const { return has_bias_; }
  ParamId weight_id() const { return weight_; }
  ParamId bias_id() const { return bias_; }

 private:
  uword in_, out_;
  bool has_bias_;
  ParamId weight_, bias_;
};

}  // namespace s2s
