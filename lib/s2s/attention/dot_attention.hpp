#pragma once
// Dot-product scores (Luong et al. 2015 "dot" and "general"; the 1/√d of Vaswani et al. 2017).
//
//   dot            e_j = c · s'ᵀ h_j    s' = s if Q = H, else s' = W_q s  (W_q (H × Q), no bias)
//                                       c = 1/√H if config.scaled, else 1
//   luong-dot      e_j = sᵀ h_j         Q must equal H
//   luong-general  e_j = sᵀ k_j,  k_j = W_a h_j   (W_a (Q × H), no bias; precomputed per batch)
// then a = softmax over the real positions and c = Σ_j a_j h_j (attention.hpp).
//
// Shapes: query s (Q × B); keys K (H or Q × S·B, batch-major); scores, weights (S × B).
// Backward, given ē = ∂L/∂e (from the shared softmax backward):
//   ∂s'_b += c Σ_j ē_j k_j         ∂k_j += c ē_j s'_b
//   dot with W_q:   ∂W_q += ∂s' sᵀ,  ∂s += W_qᵀ ∂s'
//   luong-general:  ∂W_a += ∂K Vᵀ,   ∂V += W_aᵀ ∂K     (once per batch, precompute_backward)
// Parameters: <name>.W_q.weight (dot with Q ≠ H), <name>.W_a.weight (luong-general), both
// initialised as nn.Linear.
#include <optional>

#include "s2s/attention/attention.hpp"
#include "s2s/layers/linear.hpp"

namespace s2s {

template <typename Real>
class DotAttention : public Attention<Real> {
 public:
  // type: dot, luong-dot or luong-general. Throws std::invalid_argument for luong-dot with
  // Q ≠ H.
  DotAttention(const AttentionConfig& config, ParamLayout& layout);

  void init(ParameterStore<Real>& params, Rng& rng) const override;
  void forward(const ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
               const Mat<Real>& query, uword step, AttentionStepCache<Real>& cache,
               Mat<Real>& context, Mat<Real>& weights) const override;
  void backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                const AttentionStepCache<Real>& cache, const Mat<Real>& d_context,
                const Mat<Real>* d_weights, Mat<Real>& d_query,
                AttentionKeysGrad<Real>& grad) const override;

  Real scale() const { return scale_; }

 protected:
  void project_keys(const ParameterStore<Real>& params, AttentionKeys<Real>& keys) const override;
  void project_keys_backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                             AttentionKeysGrad<Real>& grad) const override;
  void preallocate_variant(AttentionStepCache<Real>& cache, uword batch,
                           uword src_steps) const override;
  void begin_backward_variant(AttentionKeysGrad<Real>& grad, uword batch) const override;

 private:
  std::optional<Linear<Real>> query_proj_;  // W_q: dot with Q ≠ H
  std::optional<Linear<Real>> key_proj_;    // W_a: luong-general
  Real scale_ = Real(1);
};

}  // namespace s2s
