#include "s2s/attention/additive_attention.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "s2s/core/activations.hpp"

namespace s2s {

namespace {

// Bahdanau's parameter names (W_s, W_h with bias, v): bahdanau and monotonic.
bool bahdanau_names(AttentionType kind) { return kind != AttentionType::kLuongConcat; }

uword checked_hidden_size(AttentionType kind, const AttentionConfig& config) {
  if (kind != AttentionType::kBahdanau && kind != AttentionType::kLuongConcat &&
      kind != AttentionType::kMonotonic)
    throw std::invalid_argument(
        "AdditiveAttention: type must be bahdanau, luong-concat or monotonic, got " +
        config.type);
  return config.hidden_size != 0 ? config.hidden_size : config.query_size;
}

// u_j = tanh(k_j + ws [+ w_c cov_j]) for the n positions of one sequence: k, u (A × n), ws (A),
// w_c (A) and cov (n) null without coverage.
// activation::tanh is vectorised for float (libm's tanhf was a quarter of a training step).
template <typename Real>
S2S_VECTOR_CLONES void hidden_forward(uword rows, uword n, const Real* k, const Real* ws,
                                      const Real* w_c, const Real* cov, Real* u) {
  if (w_c == nullptr) {
    for (uword j = 0; j < n; ++j)
      for (uword i = 0; i < rows; ++i) u[j * rows + i] = activation::tanh(k[j * rows + i] + ws[i]);
    return;
  }
  for (uword j = 0; j < n; ++j) {
    const Real c = cov[j];
    for (uword i = 0; i < rows; ++i)
      u[j * rows + i] = activation::tanh(k[j * rows + i] + ws[i] + w_c[i] * c);
  }
}

// ∂pre_j = ē_j v ⊙ (1 − u_j²), added to ∂k_j and to ∂ws (A); with coverage also
// ∂w_c += ∂pre_j cov_j and ∂cov_j += w_cᵀ ∂pre_j (w_c, cov, d_w_c, d_cov null without).
template <typename Real>
S2S_VECTOR_CLONES void hidden_backward(uword rows, uword n, const Real* u, const Real* d_e,
                                       const Real* v, Real* d_k, Real* d_ws, const Real* w_c,
                                       const Real* cov, Real* d_w_c, Real* d_cov) {
  for (uword j = 0; j < n; ++j) {
    const Real d_ej = d_e[j];
    Real d_cov_j = 0;
    for (uword i = 0; i < rows; ++i) {
      const Real u_ij = u[j * rows + i];
      const Real d_pre = d_ej * v[i] * (Real(1) - u_ij * u_ij);
      d_k[j * rows + i] += d_pre;
      d_ws[i] += d_pre;
      if (w_c != nullptr) {
        d_w_c[i] += d_pre * cov[j];
        d_cov_j += w_c[i] * d_pre;
      }
    }
    if (w_c != nullptr) d_cov[j] += d_cov_j;
  }
}

// Monotonic attention of one sequence over its n positions (the header's equations). e (n) in,
// p (n) out; prev (n) the previous step's alignment a'; a (n) out.
template <typename Real>
void monotonic_expected(uword n, const Real* e, const Real* prev, Real* p, Real* a) {
  Real q = 0;
  for (uword j = 0; j < n; ++j) {
    p[j] = activation::sigmoid(e[j]);
    q = (j == 0 ? Real(0) : (Real(1) - p[j - 1]) * q) + prev[j];
    a[j] = p[j] * q;
  }
}

// Decoding: a one-hot at the first j ≥ (the previous position) with p_j ≥ 1/2, or all zero.
template <typename Real>
void monotonic_hard(uword n, const Real* e, const Real* prev, Real* p, Real* a) {
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

// Backward of monotonic_expected: ∂a (n) in; ∂e (n) and ∂prev (n) overwritten.
template <typename Real>
void monotonic_expected_backward(uword n, const Real* p, const Real* prev, const Real* d_a,
                                 Real* d_e, Real* d_prev) {
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

}  // namespace

template <typename Real>
AdditiveAttention<Real>::AdditiveAttention(const AttentionConfig& config, ParamLayout& layout)
    : Attention<Real>(config),
      hidden_size_(checked_hidden_size(this->kind_, config)),
      query_proj_(layout, config.name + (bahdanau_names(this->kind_) ? ".W_s" : ".W_a_query"),
                  config.query_size, hidden_size_, false),
      key_proj_(layout, config.name + (bahdanau_names(this->kind_) ? ".W_h" : ".W_a_key"),
                config.memory_size, hidden_size_, /*bias=*/bahdanau_names(this->kind_)),
      v_(layout.add(config.name + (bahdanau_names(this->kind_) ? ".v" : ".v_a"), hidden_size_,
                    1)),
      coverage_(config.coverage),
      monotonic_(this->kind_ == AttentionType::kMonotonic) {
  if (coverage_) {
    coverage_weight_ = layout.add(config.name + ".W_c", hidden_size_, 1);
    this->state_kind_ = AttentionState::kCoverage;
  }
  if (monotonic_) {
    offset_ = layout.add(config.name + ".r", 1, 1);
    this->state_kind_ = AttentionState::kAlignment;
  }
}

template <typename Real>
void AdditiveAttention<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  if (bahdanau_names(this->kind_)) {
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
  if (coverage_) rng.fill_uniform(params.value(coverage_weight_), -1.0, 1.0);
  if (monotonic_) params.value(offset_).fill(Real(-4));
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
  if (monotonic_) cache.probs.zeros(src_steps, batch);
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
  const Real* w_c = coverage_ ? params.value(coverage_weight_).memptr() : nullptr;
  for (uword b = 0; b < keys.batch; ++b) {
    const uword n = keys.lengths[b];
    if (n == 0) continue;
    const Real* k = keys.keys.colptr(b * steps);  // (A × n) block
    const Real* ws = cache.proj_query.colptr(b);  // (A)
    Real* u = cache.hidden.colptr(b * steps);     // (A × n) block
    hidden_forward(rows, n, k, ws, w_c, coverage_ ? cache.state.colptr(b) : nullptr, u);
    Mat<Real> e(cache.weights.colptr(b), n, 1, false, true);
    e = columns(cache.hidden, b * steps, n).t() * v;  // (n × 1) = Uᵀ v
  }
  if (monotonic_) {
    const Real r = params.value(offset_)(0, 0);
    for (uword b = 0; b < keys.batch; ++b) {
      const uword n = keys.lengths[b];
      Real* e = cache.weights.colptr(b);  // overwritten by a
      for (uword j = 0; j < n; ++j) e[j] += r;
      if (!cache.noise.is_empty())
        for (uword j = 0; j < n; ++j) e[j] += cache.noise(j, b);
      (keys.hard ? monotonic_hard<Real> : monotonic_expected<Real>)(
          n, e, cache.state.colptr(b), cache.probs.colptr(b), e);
      for (uword j = n; j < steps; ++j) e[j] = 0;
    }
  } else {
    attention_core::softmax_windows(cache.weights, cache.window_begin, cache.window_end);
  }
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
  if (keys.hard) throw std::logic_error("attention monotonic: no backward through hard decoding");
  const Mat<Real>* d_step_weights = this->step_weight_gradient(d_weights, grad);
  attention_core::weighted_sum_backward(keys.values, cache.weights, cache.window_begin,
                                        cache.window_end, d_context, d_step_weights,
                                        grad.d_weights, grad.d_values);
  const uword steps = keys.steps, rows = hidden_size_;
  if (monotonic_) {  // ē and ∂a' (the state's gradient is replaced: a' enters only here)
    Real d_offset = 0;
    for (uword b = 0; b < keys.batch; ++b) {
      const uword n = keys.lengths[b];
      Real* d_e = grad.d_scores.colptr(b);
      Real* d_prev = grad.d_state.colptr(b);
      monotonic_expected_backward(n, cache.probs.colptr(b), cache.state.colptr(b),
                                  grad.d_weights.colptr(b), d_e, d_prev);
      for (uword j = 0; j < n; ++j) d_offset += d_e[j];
      for (uword j = n; j < steps; ++j) d_e[j] = d_prev[j] = 0;
    }
    params.grad(offset_)(0, 0) += d_offset;
  } else {
    attention_core::softmax_windows_backward(cache.weights, grad.d_weights, cache.window_begin,
                                             cache.window_end, grad.d_scores);
  }
  const Real* v = params.value(v_).memptr();
  Mat<Real>& d_v = params.grad(v_);
  const Real* w_c = coverage_ ? params.value(coverage_weight_).memptr() : nullptr;
  Real* d_w_c = coverage_ ? params.grad(coverage_weight_).memptr() : nullptr;
  grad.d_proj_query.zeros();
  for (uword b = 0; b < keys.batch; ++b) {
    const uword n = keys.lengths[b];
    if (n == 0) continue;
    const Mat<Real> d_e(const_cast<Real*>(grad.d_scores.colptr(b)), n, 1, false, true);
    d_v += columns(cache.hidden, b * steps, n) * d_e;  // (A × n)(n × 1)
    const Real* u = cache.hidden.colptr(b * steps);
    Real* d_k = grad.d_keys.colptr(b * steps);
    Real* d_ws = grad.d_proj_query.colptr(b);
    hidden_backward(rows, n, u, d_e.memptr(), v, d_k, d_ws, w_c,
                    coverage_ ? cache.state.colptr(b) : nullptr, d_w_c,
                    coverage_ ? grad.d_state.colptr(b) : nullptr);
  }
  query_proj_.backward(params, cache.query, grad.d_proj_query, &d_query);
}

template class AdditiveAttention<float>;
template class AdditiveAttention<double>;

}  // namespace s2s
