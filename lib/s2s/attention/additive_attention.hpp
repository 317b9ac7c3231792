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
// monotonic and monotonic-chunk turn e into weights by monotonic_alignment.hpp: the expected
// alignment in training, hard at decoding (keys.hard). monotonic-chunk (MoChA, Chiu & Raffel
// 2018) has a second, chunk energy u_j = v_cᵀ tanh(W'_s s + W'_h h_j + b'_h), stacked under the
// first in W_s, W_h and b_h (2A rows), so one GEMM projects both; the weights are the chunkwise
// β over the w positions ending at each stop (AttentionConfig::chunk_width).
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
//   monotonic-chunk: as monotonic with W_s (2A × Q), W_h (2A × H), b_h (2A): rows A..2A−1 are
//                  the chunk energy's, plus <name>.chunk_v (A × 1)
//   coverage:      <name>.W_c (A × 1), as nn.Linear(1, A, bias=False): U(−1, 1)
//   v (or v_a) as nn.Linear(A, 1): U(−1/√A, 1/√A).
#include "s2s/attention/attention.hpp"
#include "s2s/layers/linear.hpp"

namespace s2s {

template <typename Real>
class AdditiveAttention : public Attention<Real> {
 public:
  // type: bahdanau, luong-concat, monotonic or monotonic-chunk. A = config.hidden_size, or Q
  // when 0.
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
  uword energies_;           // 1, or 2 for MoChA (the chunk energy stacked under the first)
  Linear<Real> query_proj_;  // W_s (energies·A × Q), no bias
  Linear<Real> key_proj_;    // W_h (energies·A × H) + b_h (bahdanau, monotonic*), no bias
                             // (luong-concat)
  ParamId v_;                // (A × 1)
  ParamId coverage_weight_;  // w_c (A × 1), coverage only
  ParamId offset_;           // r (1 × 1), monotonic only
  ParamId chunk_v_;          // v_c (A × 1), monotonic-chunk only
  bool coverage_;
  bool monotonic_;           // monotonic or monotonic-chunk
  uword chunk_width_;        // w, monotonic-chunk; 0 otherwise
};

}  // namespace s2s
