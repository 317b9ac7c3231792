#include "s2s/attention.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "s2s/activations.hpp"  // S2S_VECTOR_CLONES
#include "s2s/additive_attention.hpp"
#include "s2s/dot_attention.hpp"
#include "s2s/local_attention.hpp"

namespace s2s {

namespace {

const char* const kValidAttentionTypes =
    "dot, bahdanau, luong-dot, luong-general, luong-concat, luong-local-m, luong-local-p";

std::string shape(uword rows, uword cols) {
  return "(" + std::to_string(rows) + " x " + std::to_string(cols) + ")";
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// The shared core.

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

// ---------------------------------------------------------------------------------------------
// The interface.

template <typename Real>
Attention<Real>::Attention(const AttentionConfig& config)
    : type_(config.type), query_size_(config.query_size), memory_size_(config.memory_size) {
  if (query_size_ == 0 || memory_size_ == 0)
    throw std::invalid_argument("attention " + type_ +
                                ": query_size and memory_size must be positive");
  if (config.scaled && type_ != "dot")
    throw std::invalid_argument("attention " + type_ +
                                ": 'scaled' applies to attention type 'dot' only");
}

template <typename Real>
void Attention<Real>::precompute(const ParameterStore<Real>& params, const Mat<Real>& memory,
                                 const arma::Row<Real>& src_mask, uword batch, uword steps,
                                 AttentionKeys<Real>& keys) const {
  if (memory.n_rows != memory_size_ || memory.n_cols != steps * batch)
    throw std::invalid_argument("attention " + type_ + ": memory is " +
                                shape(memory.n_rows, memory.n_cols) + ", expected (H x S*B) " +
                                shape(memory_size_, steps * batch));
  if (src_mask.n_elem != steps * batch)
    throw std::invalid_argument("attention " + type_ + ": src_mask has " +
                                std::to_string(src_mask.n_elem) +
                                " entries, expected S*B = " + std::to_string(steps * batch));
  keys.batch = batch;
  keys.steps = steps;
  keys.lengths.set_size(batch);
  for (uword b = 0; b < batch; ++b) {
    uword length = 0;
    for (uword s = 0; s < steps; ++s) {
      const Real m = src_mask(s * batch + b);
      if (m == Real(1) && s == length)
        ++length;
      else if (m != Real(0))
        throw std::invalid_argument("attention " + type_ + ": src_mask of sequence " +
                                    std::to_string(b) +
                                    " is not a 0/1 prefix mask (see length_mask)");
    }
    keys.lengths[b] = length;
  }
  attention_core::to_batch_major(memory, batch, steps, keys.values);
  project_keys(params, keys);
}

template <typename Real>
void Attention<Real>::preallocate(AttentionStepCache<Real>& cache, uword batch,
                                  uword src_steps) const {
  cache.query.set_size(query_size_, batch);
  cache.weights.zeros(src_steps, batch);
  cache.window_begin.zeros(batch);
  cache.window_end.zeros(batch);
  preallocate_variant(cache, batch, src_steps);
}

template <typename Real>
void Attention<Real>::check_step(const AttentionKeys<Real>& keys, const Mat<Real>& query,
                                 AttentionStepCache<Real>& cache) const {
  if (query.n_rows != query_size_ || query.n_cols != keys.batch)
    throw std::invalid_argument("attention " + type_ + ": query is " +
                                shape(query.n_rows, query.n_cols) + ", expected (Q x B) " +
                                shape(query_size_, keys.batch));
  if (cache.weights.n_rows != keys.steps || cache.weights.n_cols != keys.batch ||
      cache.query.n_rows != query_size_)
    preallocate(cache, keys.batch, keys.steps);
}

template <typename Real>
void Attention<Real>::begin_backward(const AttentionKeys<Real>& keys,
                                     AttentionKeysGrad<Real>& grad) const {
  grad.d_values.zeros(arma::size(keys.values));
  if (keys.keys.is_empty())
    grad.d_keys.reset();
  else
    grad.d_keys.zeros(arma::size(keys.keys));
  grad.d_weights.zeros(keys.steps, keys.batch);
  grad.d_scores.zeros(keys.steps, keys.batch);
  begin_backward_variant(grad, keys.batch);
}

template <typename Real>
void Attention<Real>::check_backward(const AttentionKeys<Real>& keys,
                                     const AttentionStepCache<Real>& cache,
                                     const Mat<Real>& d_context, const Mat<Real>* d_weights,
                                     const Mat<Real>& d_query,
                                     const AttentionKeysGrad<Real>& grad) const {
  if (grad.d_values.n_cols != keys.values.n_cols || grad.d_values.n_rows != memory_size_ ||
      grad.d_keys.n_cols != keys.keys.n_cols || grad.d_weights.n_rows != keys.steps ||
      grad.d_weights.n_cols != keys.batch)
    throw std::logic_error("attention " + type_ +
                           ": call begin_backward(keys, grad) once per source batch before "
                           "backward");
  if (cache.weights.n_rows != keys.steps || cache.weights.n_cols != keys.batch)
    throw std::invalid_argument("attention " + type_ + ": step cache does not match the keys");
  if (d_context.n_rows != memory_size_ || d_context.n_cols != keys.batch)
    throw std::invalid_argument("attention " + type_ + ": d_context is " +
                                shape(d_context.n_rows, d_context.n_cols) + ", expected " +
                                shape(memory_size_, keys.batch));
  if (d_weights != nullptr && (d_weights->n_rows != keys.steps || d_weights->n_cols != keys.batch))
    throw std::invalid_argument("attention " + type_ + ": d_weights is " +
                                shape(d_weights->n_rows, d_weights->n_cols) + ", expected " +
                                shape(keys.steps, keys.batch));
  if (d_query.n_rows != query_size_ || d_query.n_cols != keys.batch)
    throw std::invalid_argument("attention " + type_ + ": d_query is " +
                                shape(d_query.n_rows, d_query.n_cols) + ", expected " +
                                shape(query_size_, keys.batch));
}

template <typename Real>
void Attention<Real>::precompute_backward(ParameterStore<Real>& params,
                                          const AttentionKeys<Real>& keys,
                                          AttentionKeysGrad<Real>& grad,
                                          Mat<Real>& d_memory) const {
  if (grad.d_values.n_cols != keys.values.n_cols || grad.d_keys.n_cols != keys.keys.n_cols)
    throw std::logic_error("attention " + type_ +
                           ": call begin_backward(keys, grad) once per source batch before "
                           "precompute_backward");
  if (d_memory.n_rows != memory_size_ || d_memory.n_cols != keys.values.n_cols)
    throw std::invalid_argument("attention " + type_ + ": d_memory is " +
                                shape(d_memory.n_rows, d_memory.n_cols) + ", expected " +
                                shape(memory_size_, keys.values.n_cols));
  project_keys_backward(params, keys, grad);
  attention_core::add_to_time_major(grad.d_values, keys.batch, keys.steps, d_memory);
}

template class Attention<float>;
template class Attention<double>;

// ---------------------------------------------------------------------------------------------
// The factory.

template <typename Real>
std::unique_ptr<Attention<Real>> make_attention(const AttentionConfig& config,
                                                ParamLayout& layout) {
  const std::string& type = config.type;
  if (type == "dot" || type == "luong-dot" || type == "luong-general")
    return std::make_unique<DotAttention<Real>>(config, layout);
  if (type == "bahdanau" || type == "luong-concat")
    return std::make_unique<AdditiveAttention<Real>>(config, layout);
  if (type == "luong-local-m" || type == "luong-local-p")
    return std::make_unique<LocalAttention<Real>>(config, layout);
  throw std::invalid_argument("Unknown attention mechanism: " + type +
                              ". Valid options: " + kValidAttentionTypes);
}

template std::unique_ptr<Attention<float>> make_attention(const AttentionConfig&, ParamLayout&);
template std::unique_ptr<Attention<double>> make_attention(const AttentionConfig&, ParamLayout&);

}  // namespace s2s
