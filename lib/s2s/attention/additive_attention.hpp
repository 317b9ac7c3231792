#pragma once
// Additive (MLP) scores: Bahdanau et al. 2014 and Luong et al. 2015 "concat".
//
//   bahdanau       e_j = vᵀ tanh(W_s s + k_j),  k_j = W_h h_j + b_h
//   luong-concat   e_j = v_aᵀ tanh(W_a [s; h_j]) = v_aᵀ tanh(W_a,s s + k_j),  k_j = W_a,h h_j
// The two differ only in the bias and in which decoder state the decoder passes as s (Bahdanau:
// the previous state s_{t−1}; Luong: the current h_t). The key part is precomputed once per
// source batch, so a step costs one (A × Q)(Q × B) GEMM plus A·S·B tanh.
// then a = softmax over the real positions and c = Σ_j a_j h_j (attention.hpp).
//
// Bias: one bias b_h on the key projection (nn.Linear(H, A) with bias), none on W_s or v. Two
// biases would be redundant (only their sum enters); on the key side it costs nothing per step.
// Joey NMT uses no bias at all (all three of its layers are bias=False); b_h only adds a learned
// offset inside the tanh. Luong's concat is as in the paper: no bias.
//
// Shapes: s (Q × B); W_s (A × Q); W_h (A × H); b_h (A × 1); v (A × 1); keys K (A × S·B);
// hidden u_j = tanh(W_s s + k_j) (A × S·B, cached per step).
// Backward, given ē = ∂L/∂e:
//   ∂v += Σ_j ē_j u_j;   ∂pre_j = ē_j v ⊙ (1 − u_j²);   ∂k_j += ∂pre_j;   ∂(W_s s)_b += Σ_j ∂pre_j
//   ∂W_s += ∂(W_s s) sᵀ,  ∂s += W_sᵀ ∂(W_s s)
//   once per batch: ∂W_h += ∂K Vᵀ, ∂b_h += Σ_j ∂k_j, ∂V += W_hᵀ ∂K
// Parameters (nn.Linear names and init):
//   bahdanau:      <name>.W_s.weight, <name>.W_h.weight, <name>.W_h.bias, <name>.v
//   luong-concat:  <name>.W_a_query.weight (A × Q), <name>.W_a_key.weight (A × H), <name>.v_a;
//                  W_a = [W_a_query | W_a_key] is initialised as one nn.Linear(Q + H, A).
//   v (or v_a) as nn.Linear(A, 1): U(−1/√A, 1/√A).
#include "s2s/attention/attention.hpp"
#include "s2s/layers/linear.hpp"

namespace s2s {

template <typename Real>
class AdditiveAttention : public Attention<Real> {
 public:
  // type: bahdanau or luong-concat. A = config.hidden_size, or Q when 0.
  AdditiveAttention(const AttentionConfig& config, ParamLayout& layout);

  void init(ParameterStore<Real>& params, Rng& rng) const override;
  void forward(const ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
               const Mat<Real>& query, uword step, AttentionStepCache<Real>& cache,
               Mat<Real>& context, Mat<Real>& weights) const override;
  void backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                const AttentionStepCache<Real>& cache, const Mat<Real>& d_context,
                const Mat<Real>* d_weights, Mat<Real>& d_query,
                AttentionKeysGrad<Real>& grad) const override;

  uword hidden_size() const { return hidden_size_; }

 protected:
  void project_keys(const ParameterStore<Real>& params, AttentionKeys<Real>& keys) const override;
  void project_keys_backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                             AttentionKeysGrad<Real>& grad) const override;
  void preallocate_variant(AttentionStepCache<Real>& cache, uword batch,
                           uword src_steps) const override;
  void begin_backward_variant(AttentionKeysGrad<Real>& grad, uword batch) const override;

 private:
  uword hidden_size_;        // A
  Linear<Real> query_proj_;  // W_s (A × Q), no bias
  Linear<Real> key_proj_;    // W_h (A × H) + b_h (bahdanau), no bias (luong-concat)
  ParamId v_;                // (A × 1)
};

}  // namespace s2s
