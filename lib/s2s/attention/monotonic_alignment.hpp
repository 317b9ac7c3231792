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
// positions ending at k, with chunk energies u. Expected weights, with the log window sums
// log S_k = log Σ_{l=k−w+1}^{k} exp(u_l) (positions ≥ 0) and r_jk = exp(u_j − log S_k), the
// softmax weight of j in the chunk ending at k:
//   β_j = Σ_{k=j}^{j+w−1} a_k r_jk                   (k < n)
// Each log S_k is taken with its own window's maximum, so that no chunk's sum underflows: with
// one maximum over the whole sequence, a window of energies far below it summed to 0 and gave
// 0/0 (NaN) on long sources. Backward (β̄ = ∂L/∂β):
//   ∂a_k = Σ_{j=k−w+1}^{k} β̄_j r_jk,   ū_l = Σ_{k=l}^{l+w−1} a_k r_lk (β̄_l − ∂a_k)
// Hard: softmax of u over [k − w + 1, k] for the hard stop k; all 0 when there is none.
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

// MoChA, chunk width w ≥ 1: β (n) from a (n) and u (n); log_sums (n) out, for backward.
// beta must not alias a or u.
template <typename Real>
void chunk_expected(uword n, uword width, const Real* a, const Real* u, Real* log_sums,
                    Real* beta);
// Decoding: a one-hot (or all 0).
template <typename Real>
void chunk_hard(uword n, uword width, const Real* a, const Real* u, Real* beta);
// d_beta (n) in, with chunk_expected's u and log_sums; d_a (n) and d_u (n) overwritten.
template <typename Real>
void chunk_expected_backward(uword n, uword width, const Real* a, const Real* u,
                             const Real* log_sums, const Real* d_beta, Real* d_a, Real* d_u);

}  // namespace monotonic_alignment

}  // namespace s2s
