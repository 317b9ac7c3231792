#pragma once
// Positional encodings of the Transformer, added to the (scaled) token embeddings.
//
//   sinusoidal (Vaswani et al. 2017), with ω_i = exp(−2i · ln(10000) / D) as PyTorch tutorials
//   and fairseq compute it:
//     P(2i, p) = sin(p ω_i),   P(2i + 1, p) = cos(p ω_i)        fixed, no parameters
//   learned: P is a parameter (D × P_max), init N(0, D^−½) as fairseq's learned positions
//
//   x[:, t·B + b] += P[:, offset + t]
// Shapes: x (D × T·B), time-major (tensor.hpp); offset is the position of step 0 (an
// incremental decoding step t adds P[:, t] to its (D × N) input).
// Backward (learned only): ∂P[:, offset + t] += Σ_b ∂x[:, t·B + b]; the input gradient is ∂x
// itself (an addition), so the caller passes it on unchanged.
// Positions are 0 … P_max − 1; beyond, add() throws std::out_of_range naming the limit.
// The relative kinds (alibi, t5) add nothing to the inputs: they bias the self-attention scores
// (relative_position_bias.hpp), so a PositionalEncoding of such a kind is refused.
// Parameter name (learned): <name>.weight.
#include <string>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"
#include "s2s/layers/relative_position_bias.hpp"

namespace s2s {

enum class PositionKind { kSinusoidal, kLearned, kAlibi, kT5 };

// "sinusoidal" | "learned" | "alibi" | "t5"; otherwise
// "Unknown positions: X. Valid options: sinusoidal, learned, alibi, t5".
PositionKind parse_position_kind(const std::string& name);
// The attention bias of a relative kind; kNone for the absolute ones.
RelativeBiasKind relative_bias_kind(PositionKind kind);

template <typename Real>
class PositionalEncoding {
 public:
  // Throws std::invalid_argument for a relative kind (alibi, t5).
  PositionalEncoding(ParamLayout& layout, const std::string& name, PositionKind kind, uword dim,
                     uword max_positions);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // x (D × T·B) += P[:, offset + t] in every column t·B + b.
  void add(const ParameterStore<Real>& params, Mat<Real>& x, uword batch, uword offset = 0) const;
  // Learned: adds into ∂P. Sinusoidal: nothing to do.
  void backward(ParameterStore<Real>& params, const Mat<Real>& dx, uword batch,
                uword offset = 0) const;

  PositionKind kind() const { return kind_; }
  uword max_positions() const { return max_positions_; }
  // The sinusoid table (D × P_max) (empty for learned positions).
  const Mat<Real>& table() const { return table_; }

 private:
  PositionKind kind_;
  uword dim_, max_positions_;
  Mat<Real> table_;  // sinusoidal
  ParamId weight_;   // learned
};

}  // namespace s2s
