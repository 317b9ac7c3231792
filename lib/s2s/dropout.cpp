#include "s2s/dropout.hpp"

#include <stdexcept>
#include <string>

namespace s2s {

template <typename Real>
Dropout<Real>::Dropout(double p) : p_(p) {
  if (!(p >= 0.0 && p < 1.0))
    throw std::invalid_argument("dropout probability must be in [0, 1), got " + std::to_string(p));
}

template <typename Real>
void Dropout<Real>::forward(const Mat<Real>& x, Mat<Real>& y, DropoutCache<Real>& cache,
                            bool training, Rng& rng) const {
  if (!active(training)) {
    cache.scale.reset();
    y = x;
    return;
  }
  const Real keep_scale = Real(1.0 / (1.0 - p_));
  cache.scale.set_size(x.n_rows, x.n_cols);
  auto& engine = rng.engine();
  for (uword i = 0; i < cache.scale.n_elem; ++i) {
    const double u = static_cast<double>(engine() >> 11) * 0x1.0p-53;  // uniform [0, 1)
    cache.scale[i] = u < p_ ? Real(0) : keep_scale;
  }
  y = x % cache.scale;
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
