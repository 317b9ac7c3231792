#pragma once
// Gated recurrent unit, exactly as torch.nn.GRU (gate order r, z, n):
//
//   r  = σ(W_ir x + b_ir + W_hr h + b_hr)
//   z  = σ(W_iz x + b_iz + W_hz h + b_hz)
//   n  = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
//   h' = (1 − z) ⊙ n + z ⊙ h
//
// Parameters (PyTorch names and shapes): weight_ih (3H × I) = [W_ir; W_iz; W_in],
// weight_hh (3H × H) = [W_hr; W_hz; W_hn], bias_ih (3H) = [b_ir; b_iz; b_in], bias_hh (3H).
// Init U(−1/√H, 1/√H). Sequences, padding, directions and names: rnn_layer.hpp.
//
// Backward of one step, given dh' (and a_* the pre-activations, hn = W_hn h + b_hn):
//   dn = dh' ⊙ (1 − z)            dz = dh' ⊙ (h − n)            dh  = dh' ⊙ z   (+ W_hhᵀ dG_h)
//   da_n = dn ⊙ (1 − n²)          dr = da_n ⊙ hn                dhn = da_n ⊙ r
//   da_r = dr ⊙ r(1 − r)          da_z = dz ⊙ z(1 − z)
//   dG_x = [da_r; da_z; da_n]     dG_h = [da_r; da_z; dhn]
#include "s2s/core/tensor.hpp"

namespace s2s {

// The gate maths of one batch column, used by every GRU code path (layer loop and single step).
// gx = W_ih x (3H), gh = W_hh h (3H), without biases; cache (4H) = [r; z; n; hn].
template <typename Real>
struct GruKernel {
  static constexpr uword kGates = 3;
  static constexpr uword kCacheRows = 4;
  static constexpr bool kHasCell = false;

  // c_prev, c_new unused (nullptr).
  static void forward(uword hidden, const Real* gx, const Real* gh, const Real* b_ih,
                      const Real* b_hh, const Real* h_prev, const Real* c_prev, Real* h_new,
                      Real* c_new, Real* cache);
  // dh = ∂L/∂h' (H). Writes dgx, dgh (3H) and the direct part dh_prev = dh' ⊙ z (H).
  static void backward(uword hidden, const Real* cache, const Real* h_prev, const Real* c_prev,
                       const Real* dh, const Real* dc, Real* dgx, Real* dgh, Real* dh_prev,
                       Real* dc_prev);
};

}  // namespace s2s
