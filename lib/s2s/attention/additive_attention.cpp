#include "s2s/attention/additive_attention.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "s2s/core/activations.hpp"

namespace s2s {

namespace {

bool is_bahdanau(AttentionType kind) { return kind == AttentionType::kBahdanau; }

uword checked_hidden_size(AttentionType kind, const AttentionConfig& config) {
  if (kind != AttentionType::kBahdanau && kind != AttentionType::kLuongConcat)
    throw std::invalid_argument("AdditiveAttention: type must be bahdanau or luong-concat, got " +
                                config.type);
  return config.hidden_size != 0 ? config.hidden_size : config.query_size;
}

// u_j = tanh(k_j + ws) for the n positions of one sequence: k, u (A × n), ws (A).
// activation::tanh is vectorised for float (libm's tanhf was a quarter of a training step).
template <typename Real>
S2S_VECTOR_CLONES void hidden_forward(uword rows, uword n, const Real* k, const Real* ws,
                                      Real* u) {
  for (uword j = 0; j < n; ++j)
    for (uword i = 0; i < rows; ++i) u[j * rows + i] = activation::tanh(k[j * rows + i] + ws[i]);
}

// ∂pre_j = ē_j v ⊙ (1 − u_j²), added to ∂k_j and to ∂ws (A).
template <typename Real>
S2S_VECTOR_CLONES void hidden_backward(uword rows, uword n, const Real* u, const Real* d_e,
                                       const Real* v, Real* d_k, Real* d_ws) {
  for (uword j = 0; j < n; ++j) {
    const Real d_ej = d_e[j];
    for (uword i = 0; i < rows; ++i) {
      const Real u_ij = u[j * rows + i];
      const Real d_pre = d_ej * v[i] * (Real(1) - u_ij * u_ij);
      d_k[j * rows + i] += d_pre;
      d_ws[i] += d_pre;
    }
  }
}

}  // namespace

template <typename Real>
AdditiveAttention<Real>::AdditiveAttention(const AttentionConfig& config, ParamLayout& layout)
    : Attention<Real>(config),
      hidden_size_(checked_hidden_size(this->kind_, config)),
      query_proj_(layout, config.name + (is_bahdanau(this->kind_) ? ".W_s" : ".W_a_query"),
                  config.query_size, hidden_size_, false),
      key_proj_(layout, config.name + (is_bahdanau(this->kind_) ? ".W_h" : ".W_a_key"),
                config.memory_size, hidden_size_, /*bias=*/is_bahdanau(this->kind_)),
      v_(layout.add(config.name + (is_bahdanau(this->kind_) ? ".v" : ".v_a"), hidden_size_, 1)) {}

template <typename Real>
void AdditiveAttention<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  if (is_bahdanau(this->kind_)) {
    query_proj_.init(params, rng);
    key_proj_.init(params, rng);
  } else {  // one nn.Linear(Q + H, A) split in two
    const double bound =
        1.0 / std::sqrt(static_cast<double>(this->query_size_ + this->memory_size_));
    rng.fill_uniform(params.value(query_proj_.weight_id()), -bound, bound);
    rng.fill_uniform(params.value(key_proj_.weight_id()), -bound, bound);
  }
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size_));
  rng.fill_uniform(params.value(v_), -bound, bound);
}

template <typename Real>
void AdditiveAttention<Real>::project_keys(const ParameterStore<Real>& params,
                                           AttentionKeys<Real>& keys) const {
  key_proj_.forward(params, keys.values, keys.keys);  // (A × S·B) = W_h V + b_h
}

template <typename Real>
void AdditiveAttention<Real>::project_keys_backward(ParameterStore<Real>& params,
                                                    const AttentionKeys<Real>& keys,
                                                    AttentionKeysGrad<Real>& grad) const {
  key_proj_.backward(params, keys.values, grad.d_keys, &grad.d_values);
}

template <typename Real>
void AdditiveAttention<Real>::preallocate_variant(AttentionStepCache<Real>& cache, uword batch,
                                                  uword src_steps) const {
  cache.proj_query.set_size(hidden_size_, batch);
  cache.hidden.set_size(hidden_size_, src_steps * batch);
}

template <typename Real>
void AdditiveAttention<Real>::begin_backward_variant(AttentionKeysGrad<Real>& grad,
                                                     uword batch) const {
  grad.d_proj_query.zeros(hidden_size_, batch);
}

template <typename Real>
void AdditiveAttention<Real>::forward(const ParameterStore<Real>& params,
                                      const AttentionKeys<Real>& keys, const Mat<Real>& query,
                                      uword step, AttentionStepCache<Real>& cache,
                                      Mat<Real>& context, Mat<Real>& weights) const {
  this->check_step(keys, query, cache);
  cache.step = step;
  cache.query = query;
  query_proj_.forward(params, cache.query, cache.proj_query);  // (A × B) = W_s s
  cache.window_begin.zeros();
  cache.window_end = keys.lengths;
  const uword steps = keys.steps, rows = hidden_size_;
  const Mat<Real>& v = params.value(v_);
  for (uword b = 0; b < keys.batch; ++b) {
    const uword n = keys.lengths[b];
    if (n == 0) continue;
    const Real* k = keys.keys.colptr(b * steps);  // (A × n) block
    const Real* ws = cache.proj_query.colptr(b);  // (A)
    Real* u = cache.hidden.colptr(b * steps);     // (A × n) block
    hidden_forward(rows, n, k, ws, u);
    Mat<Real> e(cache.weights.colptr(b), n, 1, false, true);
    e = columns(cache.hidden, b * steps, n).t() * v;  // (n × 1) = Uᵀ v
  }
  attention_core::softmax_windows(cache.weights, cache.window_begin, cache.window_end);
  attention_core::weighted_sum(keys.values, cache.weights, cache.window_begin, cache.window_end,
                               context);
  weights = cache.weights;
}

template <typename Real>
void AdditiveAttention<Real>::backward(ParameterStore<Real>& params,
                                       const AttentionKeys<Real>& keys,
                                       const AttentionStepCache<Real>& cache,
                                       const Mat<Real>& d_context, const Mat<Real>* d_weights,
                                       Mat<Real>& d_query, AttentionKeysGrad<Real>& grad) const {
  this->check_backward(keys, cache, d_context, d_weights, d_query, grad);
  attention_core::weighted_sum_backward(keys.values, cache.weights, cache.window_begin,
                                        cache.window_end, d_context, d_weights, grad.d_weights,
                                        grad.d_values);
  attention_core::softmax_windows_backward(cache.weights, grad.d_weights, cache.window_begin,
                                           cache.window_end, grad.d_scores);
  const uword steps = keys.steps, rows = hidden_size_;
  const Real* v = params.value(v_).memptr();
  Mat<Real>& d_v = params.grad(v_);
  grad.d_proj_query.zeros();
  for (uword b = 0; b < keys.batch; ++b) {
    const uword n = keys.lengths[b];
    if (n == 0) continue;
    const Mat<Real> d_e(const_cast<Real*>(grad.d_scores.colptr(b)), n, 1, false, true);
    d_v += columns(cache.hidden, b * steps, n) * d_e;  // (A × n)(n × 1)
    const Real* u = cache.hidden.colptr(b * steps);
    Real* d_k = grad.d_keys.colptr(b * steps);
    Real* d_ws = grad.d_proj_query.colptr(b);
    hidden_backward(rows, n, u, d_e.memptr(), v, d_k, d_ws);
  }
  query_proj_.backward(params, cache.query, grad.d_proj_query, &d_query);
}

template class AdditiveAttention<float>;
template class AdditiveAttention<double>;

}  // namespace s2s
