#pragma once
// Long short-term memory, exactly as torch.nn.LSTM (gate order i, f, g, o):
//
//   i  = σ(W_ii x + b_ii + W_hi h + b_hi)
//   f  = σ(W_if x + b_if + W_hf h + b_hf)
//   g  = tanh(W_ig x + b_ig + W_hg h + b_hg)
//   o  = σ(W_io x + b_io + W_ho h + b_ho)
//   c' = f ⊙ c + i ⊙ g
//   h' = o ⊙ tanh(c')
//
// Parameters (PyTorch names and shapes): weight_ih (4H × I) = [W_ii; W_if; W_ig; W_io],
// weight_hh (4H × H), bias_ih (4H), bias_hh (4H). Init U(−1/√H, 1/√H). The state is (h, c).
// Sequences, padding, directions and names: rnn_layer.hpp.
//
// Backward of one step, given dh', dc' (from the step after) and the pre-activations a_*:
//   do = dh' ⊙ tanh(c')          dc = dc' + dh' ⊙ o ⊙ (1 − tanh²(c'))
//   di = dc ⊙ g    df = dc ⊙ c    dg = dc ⊙ i    ∂L/∂c = dc ⊙ f
//   da_i = di ⊙ i(1 − i)   da_f = df ⊙ f(1 − f)   da_g = dg ⊙ (1 − g²)   da_o = do ⊙ o(1 − o)
//   dG_x = dG_h = [da_i; da_f; da_g; da_o]        ∂L/∂h = W_hhᵀ dG_h
#include "s2s/core/tensor.hpp"

namespace s2s {

// The gate maths of one batch column, used by every LSTM code path (layer loop and single step).
// gx = W_ih x (4H), gh = W_hh h (4H), without biases; cache (5H) = [i; f; g; o; tanh(c')].
template <typename Real>
struct LstmKernel {
  static constexpr uword kGates = 4;
  static constexpr uword kCacheRows = 5;
  static constexpr bool kHasCell = true;

  static void forward(uword hidden, const Real* gx, const Real* gh, const Real* b_ih,
                      const Real* b_hh, const Real* h_prev, const Real* c_prev, Real* h_new,
                      Real* c_new, Real* cache);
  // dh = ∂L/∂h', dc = ∂L/∂c' from later steps (H). Writes dgx, dgh (4H), dh_prev = 0 (the
  // recurrent part W_hhᵀ dG_h is the caller's GEMM) and dc_prev = ∂L/∂c (H).
  static void backward(uword hidden, const Real* cache, const Real* h_prev, const Real* c_prev,
                       const Real* dh, const Real* dc, Real* dgx, Real* dgh, Real* dh_prev,
                       Real* dc_prev);
};

}  // namespace s2s
