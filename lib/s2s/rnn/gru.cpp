#include "s2s/rnn/gru.hpp"

#include "s2s/core/activations.hpp"

namespace s2s {

using activation::sigmoid;

template <typename Real>
S2S_VECTOR_CLONES
void GruKernel<Real>::forward(uword hidden, const Real* gx, const Real* gh, const Real* b_ih,
                              const Real* b_hh, const Real* h_prev, const Real* /*c_prev*/,
                              Real* h_new, Real* /*c_new*/, Real* cache) {
  const uword H = hidden;
  Real* r = cache;
  Real* z = cache + H;
  Real* n = cache + 2 * H;
  Real* hn = cache + 3 * H;
#pragma GCC ivdep
  for (uword j = 0; j < H; ++j) {
    r[j] = sigmoid(gx[j] + b_ih[j] + gh[j] + b_hh[j]);
    z[j] = sigmoid(gx[H + j] + b_ih[H + j] + gh[H + j] + b_hh[H + j]);
    hn[j] = gh[2 * H + j] + b_hh[2 * H + j];
    n[j] = activation::tanh(gx[2 * H + j] + b_ih[2 * H + j] + r[j] * hn[j]);
    h_new[j] = (Real(1) - z[j]) * n[j] + z[j] * h_prev[j];
  }
}

template <typename Real>
S2S_VECTOR_CLONES
void GruKernel<Real>::backward(uword hidden, const Real* cache, const Real* h_prev,
                               const Real* /*c_prev*/, const Real* dh, const Real* /*dc*/,
                               Real* dgx, Real* dgh, Real* dh_prev, Real* /*dc_prev*/) {
  const uword H = hidden;
  const Real* r = cache;
  const Real* z = cache + H;
  const Real* n = cache + 2 * H;
  const Real* hn = cache + 3 * H;
#pragma GCC ivdep
  for (uword j = 0; j < H; ++j) {
    const Real dn = dh[j] * (Real(1) - z[j]);
    const Real dz = dh[j] * (h_prev[j] - n[j]);
    const Real da_n = dn * (Real(1) - n[j] * n[j]);
    const Real da_r = da_n * hn[j] * r[j] * (Real(1) - r[j]);
    const Real da_z = dz * z[j] * (Real(1) - z[j]);
    dgx[j] = dgh[j] = da_r;
    dgx[H + j] = dgh[H + j] = da_z;
    dgx[2 * H + j] = da_n;
    dgh[2 * H + j] = da_n * r[j];
    dh_prev[j] = dh[j] * z[j];
  }
}

template struct GruKernel<float>;
template struct GruKernel<double>;

}  // namespace s2s
