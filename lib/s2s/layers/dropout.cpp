#include "s2s/layers/dropout.hpp"

#include <cmath>
#include <cstdint>
#include <stdexcept>
#include <string>

#include "s2s/core/activations.hpp"  // S2S_VECTOR_CLONES

namespace s2s {

template <typename Real>
Dropout<Real>::Dropout(double p) : p_(p) {
  if (!(p >= 0.0 && p < 1.0))
    throw std::invalid_argument("dropout probability must be in [0, 1), got " + std::to_string(p));
}

namespace {

// scale_i = 0 (dropped) or keep_scale, and y_i = x_i · scale_i, for i < n; see the header.
template <typename Real>
S2S_VECTOR_CLONES void dropout_mask(const Real* x, Real* y, Real* scale, uword n,
                                    std::uint64_t seed, std::uint32_t threshold,
                                    Real keep_scale) {
  constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ULL;
  auto keep = [&](std::uint32_t u) { return u < threshold ? Real(0) : keep_scale; };
  const uword pairs = n / 2;
  for (uword j = 0; j < pairs; ++j) {
    std::uint64_t z = seed + (j + 1) * kGamma;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    const Real lo = keep(static_cast<std::uint32_t>(z));
    const Real hi = keep(static_cast<std::uint32_t>(z >> 32));
    scale[2 * j] = lo;
    scale[2 * j + 1] = hi;
    y[2 * j] = x[2 * j] * lo;
    y[2 * j + 1] = x[2 * j + 1] * hi;
  }
  if (n % 2 == 1) {
    std::uint64_t z = seed + (pairs + 1) * kGamma;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    scale[n - 1] = keep(static_cast<std::uint32_t>(z));
    y[n - 1] = x[n - 1] * scale[n - 1];
  }
}

}  // namespace

template <typename Real>
void Dropout<Real>::forward(const Mat<Real>& x, Mat<Real>& y, DropoutCache<Real>& cache,
                            bool training, Rng& rng) const {
  if (!active(training)) {
    cache.scale.reset();
    y = x;
    return;
  }
  const Real keep_scale = Real(1.0 / (1.0 - p_));
  // round(p · 2³²) < 2³² since p < 1 (checked in the constructor); p ≥ 1 − 2⁻³³ rounds up
  // to 2³² and is clamped.
  const double scaled = std::round(p_ * 4294967296.0);
  const std::uint32_t threshold =
      scaled >= 4294967295.0 ? 0xFFFFFFFFu : static_cast<std::uint32_t>(scaled);
  cache.scale.set_size(x.n_rows, x.n_cols);
  if (&y != &x) y.set_size(x.n_rows, x.n_cols);
  dropout_mask(x.memptr(), y.memptr(), cache.scale.memptr(), x.n_elem, rng.engine()(), threshold,
               keep_scale);
}

template <typename Real>
void Dropout<Real>::backward(const Mat<Real>& dy, const DropoutCache<Real>& cache,
                             Mat<Real>& dx) const {
  if (cache.scale.is_empty())
    dx += dy;
  else
    dx += dy % cache.scale;
}

template class Dropout<float>;
template class Dropout<double>;

}  // namespace s2s
