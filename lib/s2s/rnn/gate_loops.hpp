#pragma once
// The per-column loops of one time step of a recurrent cell, shared by RnnLayer (rnn_layer.cpp:
// whole padded sequences in either direction) and DecoderRnn (decoder_rnn.cpp: the decoder one
// step at a time). Kernel is GruKernel or LstmKernel (gru.hpp, lstm.hpp): the gate maths of one
// column. Not a public header.
//
// Column layout (tensor.hpp): states h, c (H × (T+1)·B), block k = the state entering step k;
// gate caches (K·H × T·B) and ∂gh (G·H × T·B), block k = step k; ∂h, ∂c and their direct parts
// (H × B), one column per sequence. Input projections gx and their gradients ∂gx are addressed
// through StepOrder::column, where a reversed direction reads its sequence back to front.
#include <algorithm>

#include "s2s/core/tensor.hpp"

namespace s2s::rnn_detail {

// Where sequence b is at the k-th step of one direction, as a column of a (· × T·B) matrix.
struct StepOrder {
  const uword* lengths;  // B entries; nullptr = every sequence spans all steps
  uword steps, batch;
  bool reverse;

  bool active(uword k, uword b) const { return lengths == nullptr || k < lengths[b]; }
  uword column(uword k, uword b) const {
    if (!reverse || !active(k, b)) return k * batch + b;
    const uword length = lengths == nullptr ? steps : lengths[b];
    return (length - 1 - k) * batch + b;
  }
};

// Step k on every column b: h_{k+1}, c_{k+1} and the gate cache from h_k, c_k, gh (G·H × B, column
// b = W_hh h_k) and gx_column(order.column(k, b)) (G·H, W_ih x). Copies h_{k+1} into rows
// [row, row + H) of outputs' column when outputs is given. Past a sequence's end the state is
// carried unchanged, the gate cache is zero and the output stays as it is (0).
template <class Kernel, typename Real, class GxColumn>
void forward_step_columns(uword H, uword k, const StepOrder& order, GxColumn gx_column,
                          const Mat<Real>& gh, const Real* b_ih, const Real* b_hh, Mat<Real>& h,
                          Mat<Real>& c, Mat<Real>& gates, Mat<Real>* outputs, uword row) {
  const uword B = order.batch;
  for (uword b = 0; b < B; ++b) {
    const uword col = order.column(k, b);
    const Real* hp = h.colptr(k * B + b);
    Real* hn = h.colptr((k + 1) * B + b);
    const Real* cp = Kernel::kHasCell ? c.colptr(k * B + b) : nullptr;
    Real* cn = Kernel::kHasCell ? c.colptr((k + 1) * B + b) : nullptr;
    Real* cache = gates.colptr(k * B + b);
    if (order.active(k, b)) {
      Kernel::forward(H, gx_column(col), gh.colptr(b), b_ih, b_hh, hp, cp, hn, cn, cache);
      if (outputs != nullptr) std::copy(hn, hn + H, outputs->colptr(col) + row);
    } else {  // past the end: state frozen, output stays 0
      std::copy(hp, hp + H, hn);
      if (Kernel::kHasCell) std::copy(cp, cp + H, cn);
      std::fill(cache, cache + Kernel::kCacheRows * H, Real(0));
    }
  }
}

// Step k backward on every column b: given dh (dc) = ∂L/∂h_{k+1} (∂L/∂c_{k+1}), plus rows
// [row, row + H) of d_outputs' column when given, writes ∂gx (at order.column(k, b)), ∂gh (at
// k·B + b) and the direct parts dh_prev, dc_prev of ∂L/∂h_k, ∂L/∂c_k (the caller adds
// W_hhᵀ ∂gh). Past a sequence's end the gradient passes through and ∂gx, ∂gh stay as they are (0).
template <class Kernel, typename Real>
void backward_step_columns(uword H, uword k, const StepOrder& order, const Mat<Real>& gates,
                           const Mat<Real>& h, const Mat<Real>& c, Mat<Real>& dh, Mat<Real>& dc,
                           Mat<Real>& dgx, Mat<Real>& dgh, Mat<Real>& dh_prev,
                           Mat<Real>& dc_prev, const Mat<Real>* d_outputs, uword row) {
  const uword B = order.batch;
  for (uword b = 0; b < B; ++b) {
    Real* dh_b = dh.colptr(b);
    Real* dh_prev_b = dh_prev.colptr(b);
    Real* dc_b = Kernel::kHasCell ? dc.colptr(b) : nullptr;
    Real* dc_prev_b = Kernel::kHasCell ? dc_prev.colptr(b) : nullptr;
    if (order.active(k, b)) {
      const uword col = order.column(k, b);
      if (d_outputs != nullptr) {
        const Real* d_out = d_outputs->colptr(col) + row;
        for (uword j = 0; j < H; ++j) dh_b[j] += d_out[j];
      }
      Kernel::backward(H, gates.colptr(k * B + b), h.colptr(k * B + b),
                       Kernel::kHasCell ? c.colptr(k * B + b) : nullptr, dh_b, dc_b,
                       dgx.colptr(col), dgh.colptr(k * B + b), dh_prev_b, dc_prev_b);
    } else {  // frozen state: the gradient passes through; dgx, dgh stay 0
      std::copy(dh_b, dh_b + H, dh_prev_b);
      if (Kernel::kHasCell) std::copy(dc_b, dc_b + H, dc_prev_b);
    }
  }
}

}  // namespace s2s::rnn_detail
