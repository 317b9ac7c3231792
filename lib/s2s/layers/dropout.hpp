#pragma once
// Inverted dropout, as torch.nn.Dropout.
//
//   training:  y = x ⊙ m / (1 − p),  m_i ~ Bernoulli(1 − p) drawn from the caller's Rng
//   eval:      y = x
//
// Shapes: x, y any (rows × cols). The mask (already divided by 1 − p) is the cache.
// Backward: ∂L/∂x += ∂L/∂y ⊙ m / (1 − p)  (or += ∂L/∂y when the layer was off).
// Deterministic: the same Rng state gives the same mask.
//
// The mask takes ONE 64-bit draw s from the caller's Rng per call, whatever the size: element i
// keeps iff u_i ≥ round(p · 2³²), where u_{2j} and u_{2j+1} are the low and high 32 bits of
// SplitMix64's j-th output from s (Steele, Lea & Flood 2014: z = s + (j+1)·γ, then its
// finaliser). One Mersenne Twister draw per element had been 15 % of a Transformer training
// step; this is a vectorised loop. p is thus applied in steps of 2⁻³².
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

template <typename Real>
struct DropoutCache {
  Mat<Real> scale;  // m / (1 − p), same shape as x; empty when dropout was off
};

template <typename Real>
class Dropout {
 public:
  explicit Dropout(double p = 0.0);  // throws std::invalid_argument unless 0 ≤ p < 1

  double p() const { return p_; }
  bool active(bool training) const { return training && p_ > 0.0; }

  void forward(const Mat<Real>& x, Mat<Real>& y, DropoutCache<Real>& cache, bool training,
               Rng& rng) const;
  void backward(const Mat<Real>& dy, const DropoutCache<Real>& cache, Mat<Real>& dx) const;

 private:
  double p_;
};

}  // namespace s2s
