#include "s2s/rnn/lstm.hpp"

#include "s2s/core/activations.hpp"

namespace s2s {

using activation::sigmoid;

template <typename Real>
S2S_VECTOR_CLONES
void LstmKernel<Real>::forward(uword hidden, const Real* gx, const Real* gh, const Real* b_ih,
                               const Real* b_hh, const Real* /*h_prev*/, const Real* c_prev,
                               Real* h_new, Real* c_new, Real* cache) {
  const uword H = hidden;
  Real* i = cache;
  Real* f = cache + H;
  Real* g = cache + 2 * H;
  Real* o = cache + 3 * H;
  Real* tanh_c = cache + 4 * H;
#pragma GCC ivdep
  for (uword j = 0; j < H; ++j) {
    i[j] = sigmoid(gx[j] + b_ih[j] + gh[j] + b_hh[j]);
    f[j] = sigmoid(gx[H + j] + b_ih[H + j] + gh[H + j] + b_hh[H + j]);
    g[j] = activation::tanh(gx[2 * H + j] + b_ih[2 * H + j] + gh[2 * H + j] + b_hh[2 * H + j]);
    o[j] = sigmoid(gx[3 * H + j] + b_ih[3 * H + j] + gh[3 * H + j] + b_hh[3 * H + j]);
    c_new[j] = f[j] * c_prev[j] + i[j] * g[j];
    tanh_c[j] = activation::tanh(c_new[j]);
    h_new[j] = o[j] * tanh_c[j];
  }
}

template <typename Real>
S2S_VECTOR_CLONES
void LstmKernel<Real>::backward(uword hidden, const Real* cache, const Real* /*h_prev*/,
                                const Real* c_prev, const Real* dh, const Real* dc, Real* dgx,
                                Real* dgh, Real* dh_prev, Real* dc_prev) {
  const uword H = hidden;
  const Real* i = cache;
  const Real* f = cache + H;
  const Real* g = cache + 2 * H;
  const Real* o = cache + 3 * H;
  const Real* tanh_c = cache + 4 * H;
#pragma GCC ivdep
  for (uword j = 0; j < H; ++j) {
    const Real d_o = dh[j] * tanh_c[j];
    const Real d_c = dc[j] + dh[j] * o[j] * (Real(1) - tanh_c[j] * tanh_c[j]);
    const Real da_i = d_c * g[j] * i[j] * (Real(1) - i[j]);
    const Real da_f = d_c * c_prev[j] * f[j] * (Real(1) - f[j]);
    const Real da_g = d_c * i[j] * (Real(1) - g[j] * g[j]);
    const Real da_o = d_o * o[j] * (Real(1) - o[j]);
    dgx[j] = dgh[j] = da_i;
    dgx[H + j] = dgh[H + j] = da_f;
    dgx[2 * H + j] = dgh[2 * H + j] = da_g;
    dgx[3 * H + j] = dgh[3 * H + j] = da_o;
    dh_prev[j] = Real(0);
    dc_prev[j] = d_c * f[j];
  }
}

template struct LstmKernel<float>;
template struct LstmKernel<double>;

}  // namespace s2s
