#include "s2s/attention/attention_core.hpp"

#include "s2s/core/activations.hpp"  // S2S_VECTOR_CLONES

namespace s2s {

namespace attention_core {

// out (rows × n, contiguous) += scale · x yᵀ, a rank-1 update. A loop, not a GEMM call: with
// one inner dimension the call and packing cost more than the arithmetic (B·T calls a batch).
template <typename Real>
S2S_VECTOR_CLONES void add_outer(Real scale, const Real* x, const Real* y, uword rows, uword n,
                                 Real* out) {
  for (uword j = 0; j < n; ++j) {
    const Real yj = scale * y[j];
    Real* col = out + j * rows;
    for (uword i = 0; i < rows; ++i) col[i] += x[i] * yj;
  }
}

template <typename Real>
void to_batch_major(const Mat<Real>& x, uword batch, uword steps, Mat<Real>& out) {
  out.set_size(x.n_rows, batch * steps);
  for (uword b = 0; b < batch; ++b)
    for (uword s = 0; s < steps; ++s)
      std::copy(x.colptr(s * batch + b), x.colptr(s * batch + b) + x.n_rows,
                out.colptr(b * steps + s));
}

template <typename Real>
void add_to_time_major(const Mat<Real>& x, uword batch, uword steps, Mat<Real>& out) {
  for (uword b = 0; b < batch; ++b)
    for (uword s = 0; s < steps; ++s) {
      const Real* from = x.colptr(b * steps + s);
      Real* to = out.colptr(s * batch + b);
      for (uword i = 0; i < x.n_rows; ++i) to[i] += from[i];
    }
}

template <typename Real>
void dot_scores(const Mat<Real>& keys, const Mat<Real>& queries, const arma::uvec& begin,
                const arma::uvec& end, Real scale, Mat<Real>& scores) {
  const uword steps = scores.n_rows;
  for (uword b = 0; b < queries.n_cols; ++b) {
    const uword n = end[b] - begin[b];
    if (n == 0) continue;
    const Mat<Real> k = columns(keys, b * steps + begin[b], n);   // (K × n)
    const Mat<Real> q = columns(queries, b, 1);                   // (K × 1)
    Mat<Real> e(scores.colptr(b) + begin[b], n, 1, false, true);  // (n × 1)
    e = k.t() * q;
    if (scale != Real(1)) e *= scale;
  }
}

template <typename Real>
void dot_scores_backward(const Mat<Real>& keys, const Mat<Real>& queries, const arma::uvec& begin,
                         const arma::uvec& end, Real scale, const Mat<Real>& d_scores,
                         Mat<Real>& d_queries, Mat<Real>& d_keys) {
  const uword steps = d_scores.n_rows;
  for (uword b = 0; b < queries.n_cols; ++b) {
    const uword n = end[b] - begin[b];
    if (n == 0) continue;
    const Mat<Real> k = columns(keys, b * steps + begin[b], n);  // (K × n)
    const Mat<Real> q = columns(queries, b, 1);                  // (K × 1)
    const Mat<Real> de(const_cast<Real*>(d_scores.colptr(b)) + begin[b], n, 1, false, true);
    Mat<Real> dq = columns(d_queries, b, 1);
    Mat<Real> dk = columns(d_keys, b * steps + begin[b], n);
    dq += scale * k * de;  // GEMV
    add_outer(scale, q.memptr(), de.memptr(), k.n_rows, n, dk.memptr());
  }
}

template <typename Real>
void softmax_windows(Mat<Real>& scores, const arma::uvec& begin, const arma::uvec& end) {
  const uword steps = scores.n_rows;
  for (uword b = 0; b < scores.n_cols; ++b) {
    Real* e = scores.colptr(b);
    const uword lo = begin[b], hi = end[b];
    for (uword j = 0; j < lo; ++j) e[j] = Real(0);
    for (uword j = hi; j < steps; ++j) e[j] = Real(0);
    if (lo >= hi) continue;
    Real max = e[lo];
    for (uword j = lo + 1; j < hi; ++j) max = std::max(max, e[j]);
    Real sum = Real(0);
    for (uword j = lo; j < hi; ++j) {
      e[j] = std::exp(e[j] - max);
      sum += e[j];
    }
    for (uword j = lo; j < hi; ++j) e[j] /= sum;
  }
}

template <typename Real>
void softmax_windows_backward(const Mat<Real>& weights, const Mat<Real>& d_weights,
                              const arma::uvec& begin, const arma::uvec& end, Mat<Real>& d_scores) {
  d_scores.zeros(weights.n_rows, weights.n_cols);
  for (uword b = 0; b < weights.n_cols; ++b) {
    const Real* a = weights.colptr(b);
    const Real* da = d_weights.colptr(b);
    Real* de = d_scores.colptr(b);
    Real inner = Real(0);
    for (uword j = begin[b]; j < end[b]; ++j) inner += a[j] * da[j];
    for (uword j = begin[b]; j < end[b]; ++j) de[j] = a[j] * (da[j] - inner);
  }
}

template <typename Real>
void weighted_sum(const Mat<Real>& values, const Mat<Real>& weights, const arma::uvec& begin,
                  const arma::uvec& end, Mat<Real>& context) {
  const uword steps = weights.n_rows;
  context.set_size(values.n_rows, weights.n_cols);
  for (uword b = 0; b < weights.n_cols; ++b) {
    Mat<Real> c = columns(context, b, 1);  // (H × 1)
    const uword n = end[b] - begin[b];
    if (n == 0) {
      c.zeros();
      continue;
    }
    const Mat<Real> v = columns(values, b * steps + begin[b], n);  // (H × n)
    const Mat<Real> a(const_cast<Real*>(weights.colptr(b)) + begin[b], n, 1, false, true);
    c = v * a;
  }
}

template <typename Real>
void weighted_sum_backward(const Mat<Real>& values, const Mat<Real>& weights,
                           const arma::uvec& begin, const arma::uvec& end,
                           const Mat<Real>& d_context, const Mat<Real>* given_d_weights,
                           Mat<Real>& d_weights, Mat<Real>& d_values) {
  const uword steps = weights.n_rows;
  d_weights.zeros(weights.n_rows, weights.n_cols);
  for (uword b = 0; b < weights.n_cols; ++b) {
    const uword n = end[b] - begin[b];
    if (n == 0) continue;
    Mat<Real> da(d_weights.colptr(b) + begin[b], n, 1, false, true);
    if (given_d_weights != nullptr)
      std::copy(given_d_weights->colptr(b) + begin[b], given_d_weights->colptr(b) + end[b],
                da.memptr());
    const Mat<Real> v = columns(values, b * steps + begin[b], n);  // (H × n)
    const Mat<Real> a(const_cast<Real*>(weights.colptr(b)) + begin[b], n, 1, false, true);
    const Mat<Real> dc = columns(d_context, b, 1);  // (H × 1)
    Mat<Real> dv = columns(d_values, b * steps + begin[b], n);
    da += v.t() * dc;  // GEMV
    add_outer(Real(1), dc.memptr(), a.memptr(), v.n_rows, n, dv.memptr());
  }
}

#define S2S_INSTANTIATE_ATTENTION_CORE(Real)                                                    \
  template void to_batch_major(const Mat<Real>&, uword, uword, Mat<Real>&);                     \
  template void add_to_time_major(const Mat<Real>&, uword, uword, Mat<Real>&);                  \
  template void dot_scores(const Mat<Real>&, const Mat<Real>&, const arma::uvec&,               \
                           const arma::uvec&, Real, Mat<Real>&);                                \
  template void dot_scores_backward(const Mat<Real>&, const Mat<Real>&, const arma::uvec&,      \
                                    const arma::uvec&, Real, const Mat<Real>&, Mat<Real>&,      \
                                    Mat<Real>&);                                                \
  template void softmax_windows(Mat<Real>&, const arma::uvec&, const arma::uvec&);              \
  template void softmax_windows_backward(const Mat<Real>&, const Mat<Real>&, const arma::uvec&, \
                                         const arma::uvec&, Mat<Real>&);                        \
  template void weighted_sum(const Mat<Real>&, const Mat<Real>&, const arma::uvec&,             \
                             const arma::uvec&, Mat<Real>&);                                    \
  template void weighted_sum_backward(const Mat<Real>&, const Mat<Real>&, const arma::uvec&,    \
                                      const arma::uvec&, const Mat<Real>&, const Mat<Real>*,    \
                                      Mat<Real>&, Mat<Real>&);
S2S_INSTANTIATE_ATTENTION_CORE(float)
S2S_INSTANTIATE_ATTENTION_CORE(double)
#undef S2S_INSTANTIATE_ATTENTION_CORE

}  // namespace attention_core

}  // namespace s2s
