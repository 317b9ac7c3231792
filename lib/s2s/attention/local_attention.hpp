#pragma once
// Local attention, Luong et al. 2015 section 3.2 (luong-local-m, luong-local-p).
//
// Aligned position p_t (per sequence b, S_b its source length, positions 0 … S_b − 1):
//   local-m   p_t = t                                   (the decoder step index)
//   local-p   p_t = S_b σ(z),  z = v_pᵀ u,  u = tanh(W_p s_t)
// Window W = [⌈p_t − D⌉, ⌊p_t + D⌋] ∩ [0, S_b) with half-width D = config.window ≥ 1.
// Scores are Luong's "general": e_j = s_tᵀ k_j, k_j = W_a h_j (precomputed per batch).
//   α = softmax of e over W (max-subtracted; exactly 0 outside W)
//   a_j = α_j · exp(−(j − p_t)² / (2σ²)),  σ = D/2        (exactly 0 outside W)
//   c_t = Σ_j a_j h_j
// As in the paper the Gaussian is applied after the softmax, so Σ_j a_j ≤ 1 (not 1); what does
// hold is Σ_{j∈W} a_j / g_j = 1. A window with no real position (local-m with t ≥ S_b + D, or an
// empty source) gives a = 0 and c = 0, and no gradient.
//
// Shapes: s_t (Q × B); W_a (Q × H); W_p (A × Q); v_p (A × 1); weights (S × B).
// Backward, given ā = ∂L/∂a (the given one plus V_bᵀ ∂c_b):
//   ∂p_t = Σ_{j∈W} ā_j a_j (j − p_t) / σ²          ᾱ_j = ā_j g_j
//   ē = α ⊙ (ᾱ − Σ α ᾱ);  ∂s_b += Σ_j ē_j k_j;  ∂k_j += ē_j s_b
//   local-p:  ∂z = ∂p_t · p_t (1 − p_t / S_b);  ∂v_p += u ∂z;  ∂(W_p s) = ∂z v_p ⊙ (1 − u²)
//             ∂W_p += ∂(W_p s) sᵀ;  ∂s += W_pᵀ ∂(W_p s)
//   once per batch: ∂W_a += ∂K Vᵀ, ∂V += W_aᵀ ∂K
// The window bounds ⌈p_t − D⌉, ⌊p_t + D⌋ are piecewise constant in p_t and are treated as
// constants: the loss jumps where a bound crosses an integer, and the gradient is that of the
// loss with the window held fixed (exact everywhere else).
// Parameters (nn.Linear names and init): <name>.W_a.weight; local-p also <name>.W_p.weight and
// <name>.v_p (A × 1, A = config.hidden_size or Q when 0, init U(−1/√A, 1/√A)).
#include <optional>

#include "s2s/attention/attention.hpp"
#include "s2s/layers/linear.hpp"

namespace s2s {

template <typename Real>
class LocalAttention : public Attention<Real> {
 public:
  // type: luong-local-m or luong-local-p. Throws std::invalid_argument if config.window == 0.
  LocalAttention(const AttentionConfig& config, ParamLayout& layout);

  void init(ParameterStore<Real>& params, Rng& rng) const override;
  // step is t, the centre of the window for local-m.
  void forward(const ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
               const Mat<Real>& query, uword step, AttentionStepCache<Real>& cache,
               Mat<Real>& context, Mat<Real>& weights) const override;
  void backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                const AttentionStepCache<Real>& cache, const Mat<Real>& d_context,
                const Mat<Real>* d_weights, Mat<Real>& d_query,
                AttentionKeysGrad<Real>& grad) const override;

  bool predictive() const { return position_proj_.has_value(); }  // local-p
  uword window() const { return window_; }

 protected:
  void project_keys(const ParameterStore<Real>& params, AttentionKeys<Real>& keys) const override;
  void project_keys_backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                             AttentionKeysGrad<Real>& grad) const override;
  void preallocate_variant(AttentionStepCache<Real>& cache, uword batch,
                           uword src_steps) const override;
  void begin_backward_variant(AttentionKeysGrad<Real>& grad, uword batch) const override;

 private:
  // exp(−(j − p)² / (2σ²))
  Real gaussian(uword j, Real position) const;

  uword window_;                               // D
  Real sigma_squared_;                         // σ² = (D/2)²
  Linear<Real> key_proj_;                      // W_a (Q × H), no bias
  std::optional<Linear<Real>> position_proj_;  // W_p (A × Q), no bias; local-p
  ParamId position_v_;                         // v_p (A × 1); local-p
};

}  // namespace s2s
