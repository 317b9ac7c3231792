#pragma once
// Additive (MLP) scores: Bahdanau et al. 2014, Luong et al. 2015 "concat", and the monotonic
// attention of Raffel et al. 2017 whose energy is Bahdanau's plus an offset.
//
//   bahdanau       e_j = vᵀ tanh(W_s s + k_j),  k_j = W_h h_j + b_h
//   luong-concat   e_j = v_aᵀ tanh(W_a [s; h_j]) = v_aᵀ tanh(W_a,s s + k_j),  k_j = W_a,h h_j
//   monotonic      e_j = vᵀ tanh(W_s s + k_j) + r,  k_j = W_h h_j + b_h;  p_j = σ(e_j)
// With coverage (bahdanau, luong-concat; See et al. 2017), cov_j = Σ_{t'<t} a_t'j (the step's
// state) enters the tanh: u_j = tanh(W_s s + k_j + w_c cov_j).
// The two differ only in the bias and in which decoder state the decoder passes as s (Bahdanau:
// the previous state s_{t−1}; Luong: the current h_t). The key part is precomputed once per
// source batch, so a step costs one (A × Q)(Q × B) GEMM plus A·S·B tanh.
// then a = softmax over the real positions and c = Σ_j a_j h_j (attention.hpp).
//
// Monotonic attention (Raffel et al. 2017, eq. 9–11): the decoder scans the source left to
// right and stops at j with probability p_j. Training uses the expected alignment, from the
// previous step's a' (the state; a' = δ_{j,0} before step 0) by the paper's recurrence
//   q_0 = a'_0,  q_j = (1 − p_{j−1}) q_{j−1} + a'_j,  a_j = p_j q_j
// which is the closed form q = cumprod(1 − p) ⊙ cumsum(a' / cumprod(1 − p)) (eq. 11) evaluated
// without its division by cumprod(1 − p), which underflows on long sources. Σ_j a_j ≤ 1: the
// rest is the probability of attending nowhere (context 0). Backward (ā = ∂L/∂a, from the
// context and from the next step through the state):
//   q̄_j = ā_j p_j + q̄_{j+1} (1 − p_j),   p̄_j = ā_j q_j − q̄_{j+1} q_j,   ∂a'_j = q̄_j,
//   ē_j = p̄_j p_j (1 − p_j),  ∂r += Σ_j ē_j
// Decoding (keys.hard) attends hard (§2.3): from the previous step's position, the first j with
// p_j ≥ 1/2 gets weight 1; if there is none, the step and every later one attend nowhere.
// r starts at −4 as in the paper, so that p is small and early alignments spread forward.
// In training the caller may add noise to e before σ (cache.noise; the paper's N(0, 1)), which
// pushes p towards 0 or 1 so that the hard decoding sees the alignments training learned; it is a
// constant of the gradient. The paper's weight-normalised v is not used.
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
//   coverage: ∂w_c += Σ_j ∂pre_j cov_j,  ∂cov_j += w_cᵀ ∂pre_j (into grad.d_state, which
//   already holds ∂L/∂cov_{t+1}: cov_{t+1} = cov_t + a_t)
// Parameters (nn.Linear names and init):
//   bahdanau:      <name>.W_s.weight, <name>.W_h.weight, <name>.W_h.bias, <name>.v
//   luong-concat:  <name>.W_a_query.weight (A × Q), <name>.W_a_key.weight (A × H), <name>.v_a;
//                  W_a = [W_a_query | W_a_key] is initialised as one nn.Linear(Q + H, A).
//   monotonic:     as bahdanau, plus <name>.r (1 × 1)
//   coverage:      <name>.W_c (A × 1), as nn.Linear(1, A, bias=False): U(−1, 1)
//   v (or v_a) as nn.Linear(A, 1): U(−1/√A, 1/√A).
#include "s2s/attention/attention.hpp"
#include "s2s/layers/linear.hpp"

namespace s2s {

template <typename Real>
class AdditiveAttention : public Attention<Real> {
 public:
  // type: bahdanau, luong-concat or monotonic. A = config.hidden_size, or Q when 0.
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
  ParamId coverage_weight_;  // w_c (A × 1), coverage only
  ParamId offset_;           // r (1 × 1), monotonic only
  bool coverage_;
  bool monotonic_;
};

}  // namespace s2s
