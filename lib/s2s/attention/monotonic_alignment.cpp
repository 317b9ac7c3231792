#include "s2s/attention/monotonic_alignment.hpp"

#include <algorithm>
#include <cmath>

#include "s2s/core/activations.hpp"

namespace s2s {

namespace monotonic_alignment {

template <typename Real>
void expected(uword n, const Real* e, const Real* prev, Real* p, Real* a) {
  Real q = 0;
  for (uword j = 0; j < n; ++j) {
    p[j] = activation::sigmoid(e[j]);
    q = (j == 0 ? Real(0) : (Real(1) - p[j - 1]) * q) + prev[j];
    a[j] = p[j] * q;
  }
}

template <typename Real>
void hard(uword n, const Real* e, const Real* prev, Real* p, Real* a) {
  uword start = n;  // the previous position; n when the previous step attended nowhere
  for (uword j = 0; j < n; ++j)
    if (prev[j] > Real(0)) {
      start = j;
      break;
    }
  bool chosen = false;
  for (uword j = 0; j < n; ++j) {
    p[j] = activation::sigmoid(e[j]);
    a[j] = 0;
    if (!chosen && j >= start && p[j] >= Real(0.5)) {
      a[j] = 1;
      chosen = true;
    }
  }
}

template <typename Real>
void expected_backward(uword n, const Real* p, const Real* prev, const Real* d_a, Real* d_e,
                       Real* d_prev) {
  if (n == 0) return;
  Real* q = d_e;  // q_j first, then overwritten by ē_j from the back
  Real running = 0;
  for (uword j = 0; j < n; ++j) {
    running = (j == 0 ? Real(0) : (Real(1) - p[j - 1]) * running) + prev[j];
    q[j] = running;
  }
  Real d_q_next = 0;  // q̄_{j+1}
  for (uword j = n; j-- > 0;) {
    const Real d_q = d_a[j] * p[j] + d_q_next * (Real(1) - p[j]);
    const Real d_p = d_a[j] * q[j] - d_q_next * q[j];
    d_e[j] = d_p * p[j] * (Real(1) - p[j]);
    d_prev[j] = d_q;
    d_q_next = d_q;
  }
}

template <typename Real>
void chunk_expected(uword n, uword width, const Real* a, const Real* u, Real* x, Real* sums,
                    Real* beta) {
  if (n == 0) return;
  const Real top = *std::max_element(u, u + n);
  for (uword l = 0; l < n; ++l) x[l] = std::exp(u[l] - top);
  for (uword k = 0; k < n; ++k) {  // S_k = Σ_{l=k−w+1}^{k} x_l
    Real sum = 0;
    for (uword l = k + 1 > width ? k + 1 - width : 0; l <= k; ++l) sum += x[l];
    sums[k] = sum;
  }
  for (uword j = 0; j < n; ++j) {
    Real gamma = 0;
    for (uword k = j; k < std::min(n, j + width); ++k) gamma += a[k] / sums[k];
    beta[j] = x[j] * gamma;
  }
}

template <typename Real>
void chunk_hard(uword n, uword width, const Real* a, const Real* u, Real* beta) {
  std::fill(beta, beta + n, Real(0));
  uword stop = n;
  for (uword k = 0; k < n; ++k)
    if (a[k] > Real(0)) {
      stop = k;
      break;
    }
  if (stop == n) return;
  const uword first = stop + 1 > width ? stop + 1 - width : 0;
  const Real top = *std::max_element(u + first, u + stop + 1);
  Real sum = 0;
  for (uword l = first; l <= stop; ++l) sum += beta[l] = std::exp(u[l] - top);
  for (uword l = first; l <= stop; ++l) beta[l] /= sum;
}

template <typename Real>
void chunk_expected_backward(uword n, uword width, const Real* a, const Real* x,
                             const Real* sums, const Real* d_beta, Real* d_a, Real* d_u) {
  for (uword l = 0; l < n; ++l) {  // x̄_l, direct part: β̄_l Σ_{k=l}^{l+w−1} γ_k
    Real chunk = 0;
    for (uword k = l; k < std::min(n, l + width); ++k) chunk += a[k] / sums[k];
    d_u[l] = d_beta[l] * chunk;
  }
  for (uword k = 0; k < n; ++k) {
    const uword first = k + 1 > width ? k + 1 - width : 0;
    Real d_gamma = 0;
    for (uword j = first; j <= k; ++j) d_gamma += d_beta[j] * x[j];
    d_a[k] = d_gamma / sums[k];
    const Real d_sum = -d_gamma * a[k] / (sums[k] * sums[k]);
    for (uword l = first; l <= k; ++l) d_u[l] += d_sum;  // x̄_l, through S_k
  }
  for (uword l = 0; l < n; ++l) d_u[l] *= x[l];
}

#define S2S_INSTANTIATE_MONOTONIC(Real)                                                        \
  template void expected(uword, const Real*, const Real*, Real*, Real*);                       \
  template void hard(uword, const Real*, const Real*, Real*, Real*);                           \
  template void expected_backward(uword, const Real*, const Real*, const Real*, Real*, Real*); \
  template void chunk_expected(uword, uword, const Real*, const Real*, Real*, Real*, Real*);   \
  template void chunk_hard(uword, uword, const Real*, const Real*, Real*);                     \
  template void chunk_expected_backward(uword, uword, const Real*, const Real*, const Real*,   \
                                        const Real*, Real*, Real*);
S2S_INSTANTIATE_MONOTONIC(float)
S2S_INSTANTIATE_MONOTONIC(double)
#undef S2S_INSTANTIATE_MONOTONIC

}  // namespace monotonic_alignment

}  // namespace s2s
