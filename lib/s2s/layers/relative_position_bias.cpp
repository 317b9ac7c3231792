#include "s2s/layers/relative_position_bias.hpp"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <stdexcept>

namespace s2s {

template <typename Real>
RelativePositionBias<Real>::RelativePositionBias(ParamLayout& layout, const std::string& name,
                                                 RelativeBiasKind kind, uword heads,
                                                 uword d_model, bool bidirectional)
    : kind_(kind), heads_(heads), d_model_(d_model), bidirectional_(bidirectional) {
  if (kind == RelativeBiasKind::kNone || heads == 0)
    throw std::invalid_argument(name + ": a relative position bias needs a kind and heads > 0");
  if (kind == RelativeBiasKind::kAlibi) {
    for (uword h = 0; h < heads; ++h)
      slopes_.push_back(static_cast<Real>(
          std::exp2(-8.0 * static_cast<double>(h + 1) / static_cast<double>(heads))));
    return;
  }
  weight_ = layout.add(name + ".weight", kBuckets, heads);
  const uword side = bidirectional ? kBuckets / 2 : kBuckets;  // N
  const uword exact = side / 2;
  bucket_of_distance_.resize(kMaxDistance);
  for (uword n = 0; n < kMaxDistance; ++n) {
    if (n < exact) {
      bucket_of_distance_[n] = n;
      continue;
    }
    const double large = std::log(static_cast<double>(n) / exact) /
                         std::log(static_cast<double>(kMaxDistance) / exact) *
                         static_cast<double>(side - exact);
    bucket_of_distance_[n] = std::min(exact + static_cast<uword>(large), side - 1);
  }
}

template <typename Real>
void RelativePositionBias<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  if (has_parameters())
    rng.fill_normal(params.value(weight_), 0.0, 1.0 / std::sqrt(static_cast<double>(d_model_)));
}

template <typename Real>
uword RelativePositionBias<Real>::bucket(long relative) const {
  uword offset = 0, n;
  if (bidirectional_) {
    if (relative > 0) offset = kBuckets / 2;
    n = static_cast<uword>(std::labs(relative));
  } else {
    n = relative < 0 ? static_cast<uword>(-relative) : 0;
  }
  const uword side = bidirectional_ ? kBuckets / 2 : kBuckets;
  return offset + (n < kMaxDistance ? bucket_of_distance_[n] : side - 1);
}

template <typename Real>
Real RelativePositionBias<Real>::value(const ParameterStore<Real>& params, uword head,
                                       long relative) const {
  if (kind_ == RelativeBiasKind::kAlibi)
    return -slopes_.at(head) * static_cast<Real>(std::labs(relative));
  return params.value(weight_)(bucket(relative), head);
}

template <typename Real>
void RelativePositionBias<Real>::add(const ParameterStore<Real>& params, uword head,
                                     uword query_position, uword end, Real* column) const {
  const long t = static_cast<long>(query_position);
  if (kind_ == RelativeBiasKind::kAlibi) {
    const Real m = slopes_[head];
    for (uword j = 0; j < end; ++j)
      column[j] -= m * static_cast<Real>(std::labs(static_cast<long>(j) - t));
    return;
  }
  const Real* table = params.value(weight_).colptr(head);  // (32) head h
  for (uword j = 0; j < end; ++j) column[j] += table[bucket(static_cast<long>(j) - t)];
}

template <typename Real>
void RelativePositionBias<Real>::backward(ParameterStore<Real>& params, uword head,
                                          uword query_position, uword end,
                                          const Real* d_column) const {
  if (!has_parameters()) return;
  const long t = static_cast<long>(query_position);
  Real* d_table = params.grad(weight_).colptr(head);
  for (uword j = 0; j < end; ++j) d_table[bucket(static_cast<long>(j) - t)] += d_column[j];
}

template class RelativePositionBias<float>;
template class RelativePositionBias<double>;

}  // namespace s2s
