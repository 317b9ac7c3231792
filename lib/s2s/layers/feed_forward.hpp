#pragma once
// Position-wise feed-forward block of a Transformer layer, as the linear1 → activation →
// dropout → linear2 of torch.nn.TransformerEncoderLayer.
//
//   u = W_1 x + b_1            (F × N)
//   a = act(u)                 ReLU: max(0, u);  GELU: u Φ(u) = ½ u (1 + erf(u/√2)), the exact
//                              form (PyTorch's default approximate='none')
//   a' = dropout(a)
//   y = W_2 a' + b_2           (D × N)
// Shapes: x, y (D × N), N any number of columns (all T·B positions, or one decoding step);
// W_1 (F × D), b_1 (F), W_2 (D × F), b_2 (D).
// Backward, given ∂y (D × N):
//   ∂W_2 += ∂y a'ᵀ, ∂b_2 += Σ ∂y, ∂a' = W_2ᵀ ∂y, ∂a = dropout backward of ∂a'
//   ∂u = ∂a ⊙ act'(u),  ReLU: [u > 0] (0 at u = 0, as PyTorch);  GELU: Φ(u) + u φ(u)
//   ∂W_1 += ∂u xᵀ, ∂b_1 += Σ ∂u, ∂x += W_1ᵀ ∂u
// Parameter names: <name>.linear1.weight/bias, <name>.linear2.weight/bias.
// Init as nn.Transformer: weights xavier_uniform U(±√(6 / (D + F))), biases as nn.Linear
// U(±1/√fan_in).
#include <string>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"
#include "s2s/layers/dropout.hpp"
#include "s2s/layers/linear.hpp"

namespace s2s {

enum class FeedForwardActivation { kRelu, kGelu };

// "relu" | "gelu"; otherwise "Unknown activation: X. Valid options: relu, gelu".
FeedForwardActivation parse_feed_forward_activation(const std::string& name);

template <typename Real>
struct FeedForwardCache {
  Mat<Real> pre;      // (F × N) u
  Mat<Real> hidden;   // (F × N) a
  Mat<Real> dropped;  // (F × N) a'
  DropoutCache<Real> dropout;
};

template <typename Real>
class FeedForward {
 public:
  FeedForward(ParamLayout& layout, const std::string& name, uword d_model, uword ff_size,
              FeedForwardActivation activation, double dropout);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // y (D × N) and the cache are overwritten (resized only if their shapes differ).
  void forward(const ParameterStore<Real>& params, const Mat<Real>& x, bool training, Rng& rng,
               FeedForwardCache<Real>& cache, Mat<Real>& y) const;
  // Adds into the parameter gradients and into dx (D × N).
  void backward(ParameterStore<Real>& params, const Mat<Real>& x,
                const FeedForwardCache<Real>& cache, const Mat<Real>& dy, Mat<Real>& dx) const;

  uword d_model() const { return linear1_.in_features(); }
  uword ff_size() const { return linear1_.out_features(); }
  FeedForwardActivation activation() const { return activation_; }

 private:
  Linear<Real> linear1_, linear2_;
  FeedForwardActivation activation_;
  Dropout<Real> dropout_;
};

}  // namespace s2s
