#include "s2s/layers/positional_encoding.hpp"

#include <cmath>
#include <stdexcept>

#include "s2s/core/choice.hpp"

namespace s2s {

PositionKind parse_position_kind(const std::string& name) {
  return parse_choice<PositionKind>("positions", name,
      {{"sinusoidal", PositionKind::kSinusoidal}, {"learned", PositionKind::kLearned},
       {"alibi", PositionKind::kAlibi}, {"t5", PositionKind::kT5}});
}

RelativeBiasKind relative_bias_kind(PositionKind kind) {
  if (kind == PositionKind::kAlibi) return RelativeBiasKind::kAlibi;
  if (kind == PositionKind::kT5) return RelativeBiasKind::kT5;
  return RelativeBiasKind::kNone;
}

template <typename Real>
PositionalEncoding<Real>::PositionalEncoding(ParamLayout& layout, const std::string& name,
                                             PositionKind kind, uword dim, uword max_positions)
    : kind_(kind), dim_(dim), max_positions_(max_positions) {
  if (dim == 0 || max_positions == 0)
    throw std::invalid_argument(name + ": positional encoding needs dim and max_positions > 0");
  if (relative_bias_kind(kind) != RelativeBiasKind::kNone)
    throw std::invalid_argument(name + ": alibi and t5 positions are attention biases "
                                "(relative_position_bias.hpp), not added encodings");
  if (kind == PositionKind::kLearned) {
    weight_ = layout.add(name + ".weight", dim, max_positions);
    return;
  }
  table_.set_size(dim, max_positions);
  const double log_base = std::log(10000.0) / static_cast<double>(dim);
  for (uword p = 0; p < max_positions; ++p)
    for (uword i = 0; 2 * i < dim; ++i) {
      const double angle = static_cast<double>(p) * std::exp(-2.0 * i * log_base);
      table_(2 * i, p) = static_cast<Real>(std::sin(angle));
      if (2 * i + 1 < dim) table_(2 * i + 1, p) = static_cast<Real>(std::cos(angle));
    }
}

template <typename Real>
void PositionalEncoding<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  if (kind_ == PositionKind::kLearned)
    rng.fill_normal(params.value(weight_), 0.0, 1.0 / std::sqrt(static_cast<double>(dim_)));
}

template <typename Real>
void PositionalEncoding<Real>::add(const ParameterStore<Real>& params, Mat<Real>& x, uword batch,
                                   uword offset) const {
  if (batch == 0 || x.n_rows != dim_ || x.n_cols % batch != 0)
    throw std::invalid_argument("positional encoding: x has " + std::to_string(x.n_rows) + "x" +
                                std::to_string(x.n_cols) + ", expected D = " +
                                std::to_string(dim_) + " rows and a multiple of B = " +
                                std::to_string(batch) + " columns");
  const uword steps = x.n_cols / batch;
  if (offset + steps > max_positions_)
    throw std::out_of_range("positional encoding: position " +
                            std::to_string(offset + steps - 1) + " beyond the maximum " +
                            std::to_string(max_positions_ - 1));
  const Mat<Real>& P = kind_ == PositionKind::kLearned ? params.value(weight_) : table_;
  for (uword t = 0; t < steps; ++t) {
    const Real* p = P.colptr(offset + t);
    for (uword b = 0; b < batch; ++b) {
      Real* col = x.colptr(t * batch + b);
      for (uword i = 0; i < dim_; ++i) col[i] += p[i];
    }
  }
}

template <typename Real>
void PositionalEncoding<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& dx,
                                        uword batch, uword offset) const {
  if (kind_ != PositionKind::kLearned) return;
  Mat<Real>& dP = params.grad(weight_);
  const uword steps = dx.n_cols / batch;
  for (uword t = 0; t < steps; ++t) {
    Real* dp = dP.colptr(offset + t);
    for (uword b = 0; b < batch; ++b) {
      const Real* col = dx.colptr(t * batch + b);
      for (uword i = 0; i < dim_; ++i) dp[i] += col[i];
    }
  }
}

template class PositionalEncoding<float>;
template class PositionalEncoding<double>;

}  // namespace s2s
