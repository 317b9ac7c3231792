#pragma once
// The pointer-generator output distribution (See, Liu & Manning 2017, "Get to the point", eq.
// 8–9): each output position n either generates from the vocabulary or copies a source token
// through the attention weights.
//
//   P_vocab,n = softmax(z_n)                   z (V × N) the output logits
//   p_gen,n   = σ(g_n)                         g (1 × N) the gate's pre-activation
//   P_n(w)    = p_gen,n P_vocab,n(w) [w < V] + (1 − p_gen,n) Σ_{i : x_i = w} a_in
// over the extended vocabulary w ∈ [0, V + X): x_i is source position i's id, where ids ≥ V
// number the source tokens outside the vocabulary (per sequence, See et al.'s extended
// vocabulary), so such a token can still be produced by copying it. a (S × N) are the step's
// attention weights over the source positions (0 at padding).
//
// Column n belongs to sequence b = n mod B (time-major positions, tensor.hpp); x is the batch's
// (S·B) time-major source ids in the extended vocabulary.
//
// Loss: L = Σ_{n : y_n ≠ ignore} −log P_n(y_n) / norm (norm as cross_entropy.hpp's). With
// P = P_n(y_n), q = P_vocab,n, A = Σ_{i : x_i = y} a_in:
//   ∂L/∂z_wn = −(p_gen q_y / P)(δ_wy − q_w) / norm       (0 when y ≥ V)
//   ∂L/∂g_n  = −(q_y [y < V] − A) p_gen (1 − p_gen) / P / norm
//   ∂L/∂a_in = −(1 − p_gen) [x_i = y] / P / norm
// A target must be producible: y < V, or an extended id that occurs in the column's source
// (std::invalid_argument otherwise). Backward overwrites its outputs, as the loss starts the
// backward pass.
#include <vector>

#include "s2s/core/tensor.hpp"

namespace s2s {

template <typename Real>
struct PointerGeneratorCache {
  Mat<Real> vocab_probs;     // (V × N) q
  arma::Row<Real> gate;      // (1 × N) p_gen
  arma::Row<Real> target_p;  // (1 × N) P_n(y_n); 0 in ignored columns
  arma::Row<Real> copy_p;    // (1 × N) A_n = Σ_{i : x_i = y_n} a_in
  double norm = 1.0;
  uword tokens = 0;          // columns not ignored
  uword correct = 0;         // of those, columns whose most probable id (the lowest of equals)
                             // over the extended vocabulary is the target
};

// The summed, normalised loss; fills cache. source_ids (S·B) time-major, targets (N), N = T·B.
template <typename Real>
double pointer_generator_loss(const Mat<Real>& logits, const arma::Row<Real>& gate_logits,
                              const Mat<Real>& attention, const std::vector<Index>& source_ids,
                              uword batch, const std::vector<Index>& targets, Index ignore_index,
                              double norm, PointerGeneratorCache<Real>& cache);

// d_logits (V × N), d_gate (1 × N), d_attention (S × N), all overwritten.
template <typename Real>
void pointer_generator_backward(const Mat<Real>& attention, const std::vector<Index>& source_ids,
                                uword batch, const std::vector<Index>& targets,
                                Index ignore_index, const PointerGeneratorCache<Real>& cache,
                                Mat<Real>& d_logits, arma::Row<Real>& d_gate,
                                Mat<Real>& d_attention);

// Decoding: log P_n(w) for w < extended_size (≥ V) into log_probs (extended_size × N); columns
// are sequences here (column n's source is column n of the (S × N) source_ids matrix view given
// as time-major ids with batch N). log 0 = −∞ for ids that cannot be produced.
template <typename Real>
void pointer_generator_log_probs(const Mat<Real>& logits, const arma::Row<Real>& gate_logits,
                                 const Mat<Real>& attention, const std::vector<Index>& source_ids,
                                 uword extended_size, Mat<Real>& log_probs);

}  // namespace s2s
