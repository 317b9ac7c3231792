#pragma once
// The one data convention of s2s, used by every layer:
//
//   * Values are arma::Mat<Real>, column-major, features × batch. Real is float for training and
//     double for gradient checks; every layer is a template on Real, instantiated for both.
//   * A batch of sequences of T steps and B sequences is ONE matrix of shape (features × T·B):
//     time step t occupies the B contiguous columns [t·B, (t+1)·B). So a projection of all time
//     steps is one GEMM, and step t is a no-copy view (step_view).
//   * Padding is a 0/1 mask of the same column layout, a (1 × T·B) row: mask(t·B + b) = 1 iff
//     t < lengths[b]. Padded positions carry exactly zero outputs and get exactly zero gradients.
//   * Token ids are std::vector<Index> in the same time-major order (t·B + b).
#include <armadillo>
#include <cstdint>
#include <string>
#include <vector>

namespace s2s {

using arma::uword;
using Index = std::int32_t;  // token id

template <typename Real>
using Mat = arma::Mat<Real>;

// Columns [first, first + n) of a column-major matrix as a view sharing its memory (contiguous):
// a time step of a sequence matrix, one sequence's block of a batch-major matrix, or the part of
// a weight matrix W_ih = [W_a W_b] that multiplies one part of a stacked input. Writing into the
// view writes into m. Valid while m is neither resized nor destroyed.
// A view is for local use only: never assign one to a matrix that outlives the buffer. Armadillo
// 11 move-assigns a temporary view by taking its pointer (steal_mem, mem_state 2), so
// `member = columns(buf, …)` leaves member borrowing buf's memory, dangling once buf is resized
// (a heap corruption once found that way). Copy from a named view if a copy is meant.
template <typename Real>
inline arma::Mat<Real> columns(arma::Mat<Real>& m, uword first, uword n) {
  return arma::Mat<Real>(m.colptr(first), m.n_rows, n, /*copy_aux_mem=*/false, /*strict=*/true);
}
template <typename Real>
inline const arma::Mat<Real> columns(const arma::Mat<Real>& m, uword first, uword n) {
  return arma::Mat<Real>(const_cast<Real*>(m.colptr(first)), m.n_rows, n, false, true);
}

// Step t of a (features × T·B) sequence matrix: columns [t·B, (t+1)·B), a view as columns().
template <typename Real>
inline arma::Mat<Real> step_view(arma::Mat<Real>& seq, uword t, uword batch) {
  return columns(seq, t * batch, batch);
}
template <typename Real>
inline const arma::Mat<Real> step_view(const arma::Mat<Real>& seq, uword t, uword batch) {
  return columns(seq, t * batch, batch);
}

// "(rows x cols)", for error messages about shapes.
inline std::string shape_string(uword rows, uword cols) {
  return "(" + std::to_string(rows) + " x " + std::to_string(cols) + ")";
}
template <typename Real>
std::string shape_string(const arma::Mat<Real>& m) {
  return shape_string(m.n_rows, m.n_cols);
}

// The (1 × T·B) 0/1 mask of a padded batch with the given lengths (each ≤ steps).
template <typename Real>
arma::Row<Real> length_mask(const std::vector<uword>& lengths, uword steps) {
  const uword batch = lengths.size();
  arma::Row<Real> mask(steps * batch, arma::fill::zeros);
  for (uword b = 0; b < batch; ++b)
    for (uword t = 0; t < lengths[b] && t < steps; ++t) mask(t * batch + b) = Real(1);
  return mask;
}

}  // namespace s2s
