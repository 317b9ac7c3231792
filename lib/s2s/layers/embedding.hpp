#pragma once
// Token embedding, as torch.nn.Embedding(V, D, padding_idx=p), with an optional constant scale
// (the Transformer multiplies embeddings by √d_model).
//
//   y[:, n] = s · E[:, ids[n]]
//
// Shapes: ids N token ids (time-major t·B + b, see tensor.hpp), y (D × N);
// weight E (D × V): one COLUMN per token, so a lookup is a column gather straight into the
// features × N convention. This is the transpose of PyTorch's (V × D) weight; checkpoint import
// and export transpose it.
// Backward, given dy = ∂L/∂y (D × N):
//   ∂L/∂E[:, v] += s · Σ_{n : ids[n] = v, v ≠ p} dy[:, n]   (scatter-add; repeats accumulate)
// The padding id gets no gradient, so its column stays what init made it: zero.
// Ids are not differentiable, so there is no input gradient.
// Init as PyTorch: E ~ N(0, 1), then the padding column set to zero.
#include <string>
#include <vector>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

inline constexpr Index kNoPadding = -1;

template <typename Real>
class Embedding {
 public:
  // padding_idx = kNoPadding: every id gets gradients. Throws std::invalid_argument if
  // padding_idx is neither kNoPadding nor in [0, vocab_size).
  Embedding(ParamLayout& layout, const std::string& name, uword vocab_size, uword dim,
            Index padding_idx = kNoPadding, double scale = 1.0);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // y is overwritten (D × ids.size(); resized only if its shape differs).
  // Throws std::out_of_range on an id outside [0, V).
  void forward(const ParameterStore<Real>& params, const std::vector<Index>& ids,
               Mat<Real>& y) const;
  // Adds into the weight gradient. dy is (D × ids.size()); the same ids as forward.
  void backward(ParameterStore<Real>& params, const std::vector<Index>& ids,
                const Mat<Real>& dy) const;

  uword vocab_size() const { return vocab_size_; }
  uword dim() const { return dim_; }
  Index padding_idx() const { return padding_idx_; }
  double scale() const { return scale_; }
  ParamId weight_id() const { return weight_; }

 private:
  void check_id(Index id) const;  // throws std::out_of_range

  uword vocab_size_, dim_;
  Index padding_idx_;
  double scale_;
  ParamId weight_;
};

}  // namespace s2s
