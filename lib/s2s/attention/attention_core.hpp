#pragma once
// The core every attention shares, RNN variants (attention.hpp) and multi-head attention alike:
// scores → mask → softmax → weighted sum, on batch-major blocks.
//
// Batch-major: sequence b owns the contiguous (· × S) block of columns [b·S, (b+1)·S), so one
// sequence's keys or values are a no-copy view (columns(), tensor.hpp). A window is the range
// [begin_b, end_b) of positions of sequence b that take part; every other position of the
// (S × B) weights is exactly 0.
//
//   e_b(j) = scale · k_jᵀ q_b                 (dot_scores; additive variants compute their own)
//   a_b    = softmax of e_b over the window   (softmax_windows; max-subtracted, as torch.softmax)
//   c_b    = Σ_j a_b(j) v_j                   (weighted_sum)
// Each has its backward beside it; backward functions add (+=) into the gradients of their
// inputs, except where they say "overwritten".
#include "s2s/core/tensor.hpp"

namespace s2s {

namespace attention_core {

// out (rows × S·B, batch-major) = x (rows × S·B, time-major) re-laid out.
template <typename Real>
void to_batch_major(const Mat<Real>& x, uword batch, uword steps, Mat<Real>& out);
// out (time-major) += x (batch-major).
template <typename Real>
void add_to_time_major(const Mat<Real>& x, uword batch, uword steps, Mat<Real>& out);

// e_b(j) = scale · k_jᵀ q_b for j in the window of b; the rest of scores (S × B) is untouched.
// keys (K × S·B) batch-major, queries (K × B).
template <typename Real>
void dot_scores(const Mat<Real>& keys, const Mat<Real>& queries, const arma::uvec& begin,
                const arma::uvec& end, Real scale, Mat<Real>& scores);
// d_queries_b += scale · K_b ∂e_b,  d_keys_b += scale · q_b ∂e_bᵀ (inside the windows).
template <typename Real>
void dot_scores_backward(const Mat<Real>& keys, const Mat<Real>& queries, const arma::uvec& begin,
                         const arma::uvec& end, Real scale, const Mat<Real>& d_scores,
                         Mat<Real>& d_queries, Mat<Real>& d_keys);

// In place, per column: softmax over the window, exactly 0 elsewhere (all 0 if the window is
// empty).
template <typename Real>
void softmax_windows(Mat<Real>& scores, const arma::uvec& begin, const arma::uvec& end);
// ∂L/∂e = a ⊙ (∂L/∂a − Σ_j a_j ∂L/∂a_j) inside the window, 0 elsewhere. d_scores is overwritten.
template <typename Real>
void softmax_windows_backward(const Mat<Real>& weights, const Mat<Real>& d_weights,
                              const arma::uvec& begin, const arma::uvec& end, Mat<Real>& d_scores);

// c_b = V_b a_b over the window (values (H × S·B) batch-major); context (H × B) overwritten.
template <typename Real>
void weighted_sum(const Mat<Real>& values, const Mat<Real>& weights, const arma::uvec& begin,
                  const arma::uvec& end, Mat<Real>& context);
// ∂L/∂a_b = V_bᵀ ∂c_b (+ the given ∂L/∂a) into d_weights (overwritten, 0 outside the windows);
// ∂V_b += ∂c_b a_bᵀ.
template <typename Real>
void weighted_sum_backward(const Mat<Real>& values, const Mat<Real>& weights,
                           const arma::uvec& begin, const arma::uvec& end,
                           const Mat<Real>& d_context, const Mat<Real>* given_d_weights,
                           Mat<Real>& d_weights, Mat<Real>& d_values);

}  // namespace attention_core

}  // namespace s2s
