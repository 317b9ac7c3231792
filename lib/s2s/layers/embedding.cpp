#include "s2s/layers/embedding.hpp"

#include <stdexcept>

namespace s2s {

template <typename Real>
Embedding<Real>::Embedding(ParamLayout& layout, const std::string& name, uword vocab_size,
                           uword dim, Index padding_idx, double scale)
    : vocab_size_(vocab_size), dim_(dim), padding_idx_(padding_idx), scale_(scale) {
  if (padding_idx != kNoPadding &&
      (padding_idx < 0 || static_cast<uword>(padding_idx) >= vocab_size))
    throw std::invalid_argument(name + ": padding_idx " + std::to_string(padding_idx) +
                                " outside [0, " + std::to_string(vocab_size) + ")");
  weight_ = layout.add(name + ".weight", dim, vocab_size);
}

template <typename Real>
void Embedding<Real>::check_id(Index id) const {
  if (id < 0 || static_cast<uword>(id) >= vocab_size_)
    throw std::out_of_range("embedding: token id " + std::to_string(id) + " outside [0, " +
                            std::to_string(vocab_size_) + ")");
}

template <typename Real>
void Embedding<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  Mat<Real>& weight = params.value(weight_);
  rng.fill_normal(weight, 0.0, 1.0);
  if (padding_idx_ != kNoPadding) weight.col(static_cast<uword>(padding_idx_)).zeros();
}

template <typename Real>
void Embedding<Real>::forward(const ParameterStore<Real>& params, const std::vector<Index>& ids,
                              Mat<Real>& y) const {
  const Mat<Real>& weight = params.value(weight_);  // (D × V)
  const Real scale = static_cast<Real>(scale_);
  y.set_size(dim_, ids.size());  // (D × N)
  for (uword n = 0; n < ids.size(); ++n) {
    const Index id = ids[n];
    check_id(id);
    const Real* src = weight.colptr(static_cast<uword>(id));
    Real* dst = y.colptr(n);
    for (uword d = 0; d < dim_; ++d) dst[d] = scale * src[d];
  }
}

template <typename Real>
void Embedding<Real>::backward(ParameterStore<Real>& params, const std::vector<Index>& ids,
                               const Mat<Real>& dy) const {
  Mat<Real>& dweight = params.grad(weight_);  // (D × V)
  const Real scale = static_cast<Real>(scale_);
  if (dy.n_rows != dim_ || dy.n_cols != ids.size())
    throw std::invalid_argument("embedding backward: dy is " + std::to_string(dy.n_rows) + "x" +
                                std::to_string(dy.n_cols) + ", expected " + std::to_string(dim_) +
                                "x" + std::to_string(ids.size()));
  for (uword n = 0; n < ids.size(); ++n) {
    const Index id = ids[n];
    if (id == padding_idx_) continue;  // the padding column never learns
    check_id(id);
    const Real* src = dy.colptr(n);
    Real* dst = dweight.colptr(static_cast<uword>(id));
    for (uword d = 0; d < dim_; ++d) dst[d] += scale * src[d];
  }
}

template class Embedding<float>;
template class Embedding<double>;

}  // namespace s2s
