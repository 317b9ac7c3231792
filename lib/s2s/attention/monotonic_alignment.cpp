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
void chunk_expected(uword n, uword width, const Real* a, const Real* u, Real* log_sums,
                    Real* beta) {
  for (uword k = 0; k < n; ++k) {  // log S_k = log Σ_{l=k−w+1}^{k} exp(u_l), with its own max
    const uword first = k + 1 > width ? k + 1 - width : 0;
    const Real top = *std::max_element(u + first, u + k + 1);
    Real sum = 0;
    for (uword l = first; l <= k; ++l) sum += std::exp(u[l] - top);
    log_sums[k] = top + std::log(sum);
  }
  for (uword j = 0; j < n; ++j) {  // β_j = Σ_{k=j}^{j+w−1} a_k exp(u_j − log S_k)
    Real b = 0;
    for (uword k = j; k < std::min(n, j + width); ++k) b += a[k] * std::exp(u[j] - log_sums[k]);
    beta[j] = b;
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
void chunk_expected_backward(uword n, uword width, const Real* a, const Real* u,
                             const Real* log_sums, const Real* d_beta, Real* d_a, Real* d_u) {
  // r_lk = exp(u_l − log S_k), the softmax weight of l in chunk k; β_j = Σ_k a_k r_jk.
  for (uword k = 0; k < n; ++k) {  // ā_k = Σ_{j=k−w+1}^{k} β̄_j r_jk
    const uword first = k + 1 > width ? k + 1 - width : 0;
    Real sum = 0;
    for (uword j = first; j <= k; ++j) sum += d_beta[j] * std::exp(u[j] - log_sums[k]);
    d_a[k] = sum;
  }
  for (uword l = 0; l < n; ++l) {  // ū_l = Σ_{k=l}^{l+w−1} a_k r_lk (β̄_l − ā_k)
    Real sum = 0;
    for (uword k = l; k < std::min(n, l + width); ++k)
      sum += a[k] * std::exp(u[l] - log_sums[k]) * (d_beta[l] - d_a[k]);
    d_u[l] = sum;
  }
}

#define S2S_INSTANTIATE_MONOTONIC(Real)                                                        \
  template void expected(uword, const Real*, const Real*, Real*, Real*);                       \
  template void hard(uword, const Real*, const Real*, Real*, Real*);                           \
  template void expected_backward(uword, const Real*, const Real*, const Real*, Real*, Real*); \
  template void chunk_expected(uword, uword, const Real*, const Real*, Real*, Real*);          \
  template void chunk_hard(uword, uword, const Real*, const Real*, Real*);                     \
  template void chunk_expected_backward(uword, uword, const Real*, const Real*, const Real*,   \
                                        const Real*, Real*, Real*);
S2S_INSTANTIATE_MONOTONIC(float)
S2S_INSTANTIATE_MONOTONIC(double)
#undef S2S_INSTANTIATE_MONOTONIC

}  // namespace monotonic_alignment

}  // namespace s2s
