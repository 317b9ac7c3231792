#pragma once
// Relative position biases of self-attention: a scalar b_h(r) added to the score of head h for
// query position t and key position j, r = j − t, instead of absolute positions on the inputs.
//
//   alibi  (Press et al. 2022, "Train Short, Test Long"):  b_h(r) = −m_h · |r|,
//          m_h = 2^(−8(h+1)/H), h = 0 … H−1 (H = 8: 1/2, 1/4, …, 1/256). Fixed, no parameters.
//          With a causal mask r ≤ 0, so it is the paper's −m_h (t − j); without one it is the
//          symmetric |t − j| of bidirectional ALiBi encoders.
//   t5     (Raffel et al. 2020, T5): b_h(r) = W[bucket(r), h], a learned (32 × H) table.
//          Buckets as T5's _relative_position_bucket (the logarithm in double):
//          bidirectional: 16 buckets per side, the second 16 for r > 0 (keys right of the
//          query), n = |r|; causal: n = max(−r, 0), all 32 buckets. Of the N buckets of a side,
//          distances n < N/2 have one each, the rest are log-spaced,
//          N/2 + ⌊ln(2n/N) / ln(2·128/N) · N/2⌋, capped at N − 1: every distance, however long,
//          maps onto a bucket that shorter training sequences already reach.
//          Unlike T5, which computes the bias once in the first layer and reuses it, every
//          self-attention layer has its own table.
//
// add():      E(j, t) += b_h(j − t) for the keys j of the window [0, end) of query t (one score
//             column at a time: training passes t = column, an incremental step t = the position
//             it appends).
// backward(): ∂W[bucket(j − t), h] += ∂E(j, t) over the same window (t5). For alibi the bias is
//             a constant: ∂E passes to the scores' inputs unchanged and there is nothing to add.
// Parameter name (t5): <name>.weight (32 × H), column h is head h's table; init N(0, D^−½) as
// Hugging Face's T5 (relative_attention_bias).
#include <string>
#include <vector>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

enum class RelativeBiasKind { kNone, kAlibi, kT5 };

template <typename Real>
class RelativePositionBias {
 public:
  static constexpr uword kBuckets = 32;
  static constexpr uword kMaxDistance = 128;

  // kind must not be kNone (std::invalid_argument). bidirectional: keys on both sides of the
  // query (encoder); otherwise only keys j ≤ t are ever scored (causal decoder).
  RelativePositionBias(ParamLayout& layout, const std::string& name, RelativeBiasKind kind,
                       uword heads, uword d_model, bool bidirectional);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // One query column of head h: column[j] += b_h(j − query_position) for j < end (the window).
  void add(const ParameterStore<Real>& params, uword head, uword query_position, uword end,
           Real* column) const;
  // t5: ∂W[bucket(j − query_position), h] += d_column[j] for j < end; alibi: nothing.
  void backward(ParameterStore<Real>& params, uword head, uword query_position, uword end,
                const Real* d_column) const;
  bool has_parameters() const { return kind_ == RelativeBiasKind::kT5; }

  // b_h(r) and the bucket of r (t5).
  Real value(const ParameterStore<Real>& params, uword head, long relative) const;
  uword bucket(long relative) const;
  RelativeBiasKind kind() const { return kind_; }
  // m_h (alibi)
  Real slope(uword head) const { return slopes_[head]; }

 private:
  RelativeBiasKind kind_;
  uword heads_, d_model_;
  bool bidirectional_;
  std::vector<Real> slopes_;           // (H) alibi
  std::vector<uword> bucket_of_distance_;  // (kMaxDistance) t5: bucket of n within a side
  ParamId weight_;                     // t5
};

}  // namespace s2s
