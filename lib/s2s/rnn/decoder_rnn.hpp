#pragma once
// The decoder's RNN stack in teacher-forced training: T steps run one at a time (an attention
// decoder needs s_t before it can build step t + 1's input), with everything that does not depend
// on the recurrence batched over all T·B columns. Same equations, parameters and cell kernels as
// RnnStack's single-step API (unidirectional; gru.hpp, lstm.hpp), which stays the decoding path;
// only the order of the matrix products differs.
//
// Layer 0's input is split x_t = [x_known_t; x_step_t] along features: x_known (I_k × T·B) is
// known for all steps before the loop (the target embeddings under teacher forcing; I_k = 0 when
// scheduled sampling makes them depend on earlier steps), x_step (I_s × B) only at step t
// (Bahdanau's context c_t, Luong's input feed o_{t−1}); I_k + I_s = I. Layer l ≥ 1 takes
// dropout(h^{l−1}_t) as its x_step (I_k = 0). W_ih (G·H × I) is column-major, so W_ih[:, :I_k]
// and W_ih[:, I_k:] are contiguous no-copy views.
//
// Forward:  GX = W_ih[:, :I_k] X_known                   one GEMM (G·H × T·B), in begin()
//           step t: g_x = GX_t + W_ih[:, I_k:] x_step_t,  g_h = W_hh h_{t−1},  cell kernel
// Backward: step t (called for t = T−1 … 0): kernel → dG_x,t, dG_h,t (kept for all t);
//           ∂h_{t−1} += W_hhᵀ dG_h,t;  ∂x_step_t = W_ih[:, I_k:]ᵀ dG_x,t
//           finish_backward(), once:  ∂W_ih += dG_x [X_known; X_step]ᵀ,  ∂b_ih += Σ_cols dG_x,
//           ∂W_hh += dG_h [h_{−1} … h_{T−2}]ᵀ,  ∂b_hh += Σ_cols dG_h,  ∂X_known += W_ih[:, :I_k]ᵀ dG_x
//           (one GEMM each over T·B columns instead of T GEMMs over B columns).
//
// Shapes: states h, c (H × B) per layer; c only for LSTM. All buffers live in DecoderRnnCache and
// keep their memory across batches of the same or smaller shape (set_size does not reallocate).
#include <vector>

#include "s2s/layers/dropout.hpp"
#include "s2s/rnn/rnn_stack.hpp"

namespace s2s {

template <typename Real>
struct DecoderRnnLayerCache {
  Mat<Real> gx_known;      // (G·H × T·B) W_ih[:, :I_k] X_known; layer 0 with I_k > 0 only
  Mat<Real> x_step;        // (I_s × T·B) the per-step inputs
  Mat<Real> h, c;          // (H × (T+1)·B) block t = state entering step t; c LSTM only
  Mat<Real> gates;         // (K·H × T·B) the cell kernel's cache
  Mat<Real> gx, gh;        // (G·H × B) step scratch
  Mat<Real> dgx, dgh;      // (G·H × T·B) pre-activation gradients
  Mat<Real> dh, dc;        // (H × B) ∂L/∂(state entering the step being processed)
  Mat<Real> dh_prev, dc_prev;  // (H × B) backward scratch
  Mat<Real> dx;                // (I × B) layers l ≥ 1: ∂L/∂(the step's input), scratch
  std::vector<DropoutCache<Real>> dropouts;  // [t], layers l ≥ 1: dropout of h^{l−1}_t
};

template <typename Real>
struct DecoderRnnCache {
  std::vector<DecoderRnnLayerCache<Real>> layers;
  const Mat<Real>* x_known = nullptr;  // the caller's (I_k × T·B), alive until finish_backward
  uword known_rows = 0, steps = 0, batch = 0;
};

template <typename Real>
class DecoderRnn {
 public:
  // The stack must be unidirectional (throws std::invalid_argument otherwise).
  explicit DecoderRnn(const RnnStack<Real>& stack);

  // Sizes the buffers for T steps of B columns, stores the initial states (one per layer, H × B;
  // an empty c is zeros) and computes GX = W_ih[:, :I_k] X_known. x_known (I_k × T·B) may be null
  // (I_k = 0); it must stay alive and unchanged until finish_backward.
  void begin(const ParameterStore<Real>& params, const Mat<Real>* x_known, uword steps,
             uword batch, const std::vector<RnnState<Real>>& initial,
             DecoderRnnCache<Real>& cache) const;
  // Step t (t = 0, 1, … in order): x_step (I_s × B). Afterwards top_state(cache, t + 1) is s_t.
  void step_forward(const ParameterStore<Real>& params, uword t, const Mat<Real>& x_step,
                    DecoderRnnCache<Real>& cache, bool training, Rng& rng) const;
  // The top layer's h entering step t (t = 0 … T), a view (H × B).
  const Mat<Real> top_state(const DecoderRnnCache<Real>& cache, uword t) const;
  // Layer l's state entering step t, a copy (the decoding states at the end of training's loop).
  RnnState<Real> state(const DecoderRnnCache<Real>& cache, uword layer, uword t) const;

  // Before the first step_backward: the gradients of the final states (one per layer, empty =
  // 0) or nullptr; sizes and zeroes the backward buffers.
  void begin_backward(const std::vector<RnnState<Real>>* d_final,
                      DecoderRnnCache<Real>& cache) const;
  // Step t (t = T−1 … 0): d_output (H × B) = ∂L/∂s_t from outside the recurrence (may be null).
  // Overwrites dx_step (I_s × B) with ∂L/∂x_step_t. Afterwards d_top_state(cache) is ∂L/∂s_{t−1}
  // as far as known; the caller may add to it (Bahdanau's query gradient) before step t − 1.
  void step_backward(ParameterStore<Real>& params, uword t, const Mat<Real>* d_output,
                     Mat<Real>& dx_step, DecoderRnnCache<Real>& cache) const;
  Mat<Real>& d_top_state(DecoderRnnCache<Real>& cache) const { return cache.layers.back().dh; }
  // After step 0: the weight gradients (one GEMM each) and, when given, d_x_known (I_k × T·B,
  // added to) and d_initial (one state per layer, overwritten).
  void finish_backward(ParameterStore<Real>& params, DecoderRnnCache<Real>& cache,
                       Mat<Real>* d_x_known, std::vector<RnnState<Real>>* d_initial) const;

 private:
  const RnnStack<Real>& stack_;
  bool lstm_;
  uword H_;
  Dropout<Real> dropout_;  // between layers, as the stack's
};

}  // namespace s2s
