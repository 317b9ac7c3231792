#pragma once
// The alignment arithmetic of monotonic attention (Raffel et al. 2017, "Online and linear-time
// attention by enforcing monotonic alignments") and of its chunkwise extension MoChA (Chiu &
// Raffel 2018, "Monotonic chunkwise attention"), for one sequence of n source positions. The
// energies come from additive_attention.hpp; these functions turn them into weights.
//
// Monotonic (eq. 9–11 of the paper): the decoder scans the source left to right from where it
// stopped at the previous step, and stops at j with probability p_j = σ(e_j). The expected
// alignment a from the previous step's a' (a' = δ_{j,0} before step 0):
//   q_0 = a'_0,  q_j = (1 − p_{j−1}) q_{j−1} + a'_j,  a_j = p_j q_j
// This is the closed form q = cumprod(1 − p) ⊙ cumsum(a' / cumprod(1 − p)) (eq. 11) evaluated
// without its division by cumprod(1 − p), which underflows on long sources. Σ_j a_j ≤ 1: the
// rest is the probability of stopping nowhere. Backward (ā = ∂L/∂a):
//   q̄_j = ā_j p_j + q̄_{j+1} (1 − p_j),   p̄_j = ā_j q_j − q̄_{j+1} q_j,   ∂a'_j = q̄_j,
//   ē_j = p̄_j p_j (1 − p_j)
// Hard (decoding, §2.3): from the previous step's position, the first j with p_j ≥ 1/2 gets
// weight 1; if there is none, the step (and every later one) attends nowhere.
//
// Chunkwise (MoChA, eq. 19–20): having stopped at k, the decoder attends by softmax over the w
// positions ending at k, with chunk energies u. Expected weights, with x_l = exp(u_l − max u)
// and the window sums S_k = Σ_{l=k−w+1}^{k} x_l (positions ≥ 0):
//   β_j = x_j Σ_{k=j}^{j+w−1} a_k / S_k              (k < n)
// Backward (β̄ = ∂L/∂β; γ_k = a_k / S_k):
//   γ̄_k = Σ_{j=k−w+1}^{k} β̄_j x_j,  ∂a_k = γ̄_k / S_k,  S̄_k = −γ̄_k γ_k / S_k,
//   x̄_l = β̄_l Σ_{k=l}^{l+w−1} γ_k + Σ_{k=l}^{l+w−1} S̄_k,  ū_l = x̄_l x_l
// (the shift by max u cancels in β, so it is a constant of the gradient). Hard: softmax of u over
// [k − w + 1, k] for the hard stop k; all 0 when there is none.
#include "s2s/core/tensor.hpp"

namespace s2s {

namespace monotonic_alignment {

// e (n) energies in; p (n) = σ(e) and a (n) out. prev (n) = a'. a may alias e.
template <typename Real>
void expected(uword n, const Real* e, const Real* prev, Real* p, Real* a);
// Decoding: prev is one-hot (or all 0 after the end); a (n) one-hot or all 0. a may alias e.
template <typename Real>
void hard(uword n, const Real* e, const Real* prev, Real* p, Real* a);
// d_a (n) in; d_e (n) and d_prev (n) overwritten.
template <typename Real>
void expected_backward(uword n, const Real* p, const Real* prev, const Real* d_a, Real* d_e,
                       Real* d_prev);

// MoChA, chunk width w ≥ 1: β (n) from a (n) and u (n); x (n) and sums (n) out, for backward.
// beta must not alias a or u.
template <typename Real>
void chunk_expected(uword n, uword width, const Real* a, const Real* u, Real* x, Real* sums,
                    Real* beta);
// Decoding: a one-hot (or all 0).
template <typename Real>
void chunk_hard(uword n, uword width, const Real* a, const Real* u, Real* beta);
// d_beta (n) in, with chunk_expected's x and sums; d_a (n) and d_u (n) overwritten.
template <typename Real>
void chunk_expected_backward(uword n, uword width, const Real* a, const Real* x,
                             const Real* sums, const Real* d_beta, Real* d_a, Real* d_u);

}  // namespace monotonic_alignment

}  // namespace s2s
