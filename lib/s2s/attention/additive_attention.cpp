#include "s2s/attention/additive_attention.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "s2s/attention/monotonic_alignment.hpp"
#include "s2s/core/activations.hpp"

namespace s2s {

namespace {

// Bahdanau's parameter names (W_s, W_h with bias, v): bahdanau and monotonic.
bool bahdanau_names(AttentionType kind) { return kind != AttentionType::kLuongConcat; }
bool is_chunk(AttentionType kind) { return kind == AttentionType::kMonotonicChunk; }

uword checked_hidden_size(AttentionType kind, const AttentionConfig& config) {
  if (kind != AttentionType::kBahdanau && kind != AttentionType::kLuongConcat &&
      !is_monotonic(kind))
    throw std::invalid_argument(
        "AdditiveAttention: type must be bahdanau, luong-concat, monotonic or monotonic-chunk, "
        "got " + config.type);
  if (is_chunk(kind) && config.chunk_width == 0)
    throw std::invalid_argument("attention monotonic-chunk: chunk width must be at least 1");
  return config.hidden_size != 0 ? config.hidden_size : config.query_size;
}

// u_j = tanh(k_j + ws [+ w_c cov_j]) for the n positions of one sequence: k, u (rows × n), ws
// (rows), w_c (rows) and cov (n) null without coverage.
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

// e_j = vᵀ u_j over `rows` of the (stride × n) block u (a second energy reads the rows after).
template <typename Real>
void energies(uword rows, uword stride, uword n, const Real* u, const Real* v, Real* e) {
  for (uword j = 0; j < n; ++j) {
    Real sum = 0;
    for (uword i = 0; i < rows; ++i) sum += v[i] * u[j * stride + i];
    e[j] = sum;
  }
}

// ∂pre_j = ē_j v ⊙ (1 − u_j²), added to ∂k_j and to ∂ws (A); with coverage also
// ∂w_c += ∂pre_j cov_j and ∂cov_j += w_cᵀ ∂pre_j (w_c, cov, d_w_c, d_cov null without).
// u, d_k have `stride` rows per position (MoChA's two energies share one block).
template <typename Real>
S2S_VECTOR_CLONES void hidden_backward(uword rows, uword stride, uword n, const Real* u,
                                       const Real* d_e, const Real* v, Real* d_k, Real* d_ws,
                                       const Real* w_c, const Real* cov, Real* d_w_c,
                                       Real* d_cov) {
  for (uword j = 0; j < n; ++j) {
    const Real d_ej = d_e[j];
    Real d_cov_j = 0;
    for (uword i = 0; i < rows; ++i) {
      const Real u_ij = u[j * stride + i];
      const Real d_pre = d_ej * v[i] * (Real(1) - u_ij * u_ij);
      d_k[j * stride + i] += d_pre;
      d_ws[i] += d_pre;
      if (w_c != nullptr) {
        d_w_c[i] += d_pre * cov[j];
        d_cov_j += w_c[i] * d_pre;
      }
    }
    if (w_c != nullptr) d_cov[j] += d_cov_j;
  }
}

}  // namespace

template <typename Real>
AdditiveAttention<Real>::AdditiveAttention(const AttentionConfig& config, ParamLayout& layout)
    : Attention<Real>(config),
      hidden_size_(checked_hidden_size(this->kind_, config)),
      energies_(is_chunk(this->kind_) ? 2 : 1),
      query_proj_(layout, config.name + (bahdanau_names(this->kind_) ? ".W_s" : ".W_a_query"),
                  config.query_size, energies_ * hidden_size_, false),
      key_proj_(layout, config.name + (bahdanau_names(this->kind_) ? ".W_h" : ".W_a_key"),
                config.memory_size, energies_ * hidden_size_,
                /*bias=*/bahdanau_names(this->kind_)),
      v_(layout.add(config.name + (bahdanau_names(this->kind_) ? ".v" : ".v_a"), hidden_size_,
                    1)),
      coverage_(config.coverage),
      monotonic_(is_monotonic(this->kind_)),
      chunk_width_(is_chunk(this->kind_) ? config.chunk_width : 0) {
  if (coverage_) {
    coverage_weight_ = layout.add(config.name + ".W_c", hidden_size_, 1);
    this->state_kind_ = AttentionState::kCoverage;
  }
  if (monotonic_) {
    offset_ = layout.add(config.name + ".r", 1, 1);
    this->state_kind_ = AttentionState::kAlignment;
  }
  if (chunk_width_ > 0) chunk_v_ = layout.add(config.name + ".chunk_v", hidden_size_, 1);
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
  if (chunk_width_ > 0) rng.fill_uniform(params.value(chunk_v_), -bound, bound);
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
  cache.proj_query.set_size(energies_ * hidden_size_, batch);
  cache.hidden.set_size(energies_ * hidden_size_, src_steps * batch);
  if (monotonic_) {
    cache.probs.zeros(src_steps, batch);
    cache.alignment.zeros(src_steps, batch);
  }
  if (chunk_width_ > 0) {
    cache.chunk_scores.zeros(src_steps, batch);
    cache.chunk_log_sums.zeros(src_steps, batch);
  }
}

template <typename Real>
void AdditiveAttention<Real>::begin_backward_variant(AttentionKeysGrad<Real>& grad,
                                                     uword batch) const {
  grad.d_proj_query.zeros(energies_ * hidden_size_, batch);
  if (monotonic_) grad.d_alignment.zeros(grad.d_weights.n_rows, batch);
  if (chunk_width_ > 0) grad.d_chunk_scores.zeros(grad.d_weights.n_rows, batch);
}

template <typename Real>
void AdditiveAttention<Real>::forward(const ParameterStore<Real>& params,
                                      const AttentionKeys<Real>& keys, const Mat<Real>& query,
                                      uword step, AttentionStepCache<Real>& cache,
                                      Mat<Real>& context, Mat<Real>& weights) const {
  this->check_step(keys, query, cache);
  cache.step = step;
  cache.query = query;
  query_proj_.forward(params, cache.query, cache.proj_query);  // (A × B) = W_s s (2A: MoChA)
  cache.window_begin.zeros();
  cache.window_end = keys.lengths;
  const uword steps = keys.steps, A = hidden_size_, rows = energies_ * A;
  const Real* v = params.value(v_).memptr();
  const Real* w_c = coverage_ ? params.value(coverage_weight_).memptr() : nullptr;
  for (uword b = 0; b < keys.batch; ++b) {
    const uword n = keys.lengths[b];
    if (n == 0) continue;
    const Real* k = keys.keys.colptr(b * steps);  // (rows × n) block
    const Real* ws = cache.proj_query.colptr(b);  // (rows)
    Real* u = cache.hidden.colptr(b * steps);     // (rows × n) block
    hidden_forward(rows, n, k, ws, w_c, coverage_ ? cache.state.colptr(b) : nullptr, u);
    if (chunk_width_ == 0) {  // e = Uᵀ v, (n × A)(A × 1)
      Mat<Real> e(cache.weights.colptr(b), n, 1, false, true);
      e = columns(cache.hidden, b * steps, n).t() * params.value(v_);
    } else {  // two energies in one (2A × n) block
      energies(A, rows, n, u, v, cache.weights.colptr(b));
      energies(A, rows, n, u + A, params.value(chunk_v_).memptr(), cache.chunk_scores.colptr(b));
    }
  }
  if (monotonic_) {
    const Real r = params.value(offset_)(0, 0);
    for (uword b = 0; b < keys.batch; ++b) {
      const uword n = keys.lengths[b];
      Real* e = cache.weights.colptr(b);  // overwritten by the weights
      Real* alignment = cache.alignment.colptr(b);
      for (uword j = 0; j < n; ++j) e[j] += r;
      if (!cache.noise.is_empty())
        for (uword j = 0; j < n; ++j) e[j] += cache.noise(j, b);
      (keys.hard ? monotonic_alignment::hard<Real> : monotonic_alignment::expected<Real>)(
          n, e, cache.state.colptr(b), cache.probs.colptr(b), alignment);
      if (chunk_width_ == 0)
        std::copy(alignment, alignment + n, e);
      else if (keys.hard)
        monotonic_alignment::chunk_hard(n, chunk_width_, alignment, cache.chunk_scores.colptr(b),
                                        e);
      else
        monotonic_alignment::chunk_expected(n, chunk_width_, alignment,
                                            cache.chunk_scores.colptr(b),
                                            cache.chunk_log_sums.colptr(b), e);
      for (uword j = n; j < steps; ++j) e[j] = alignment[j] = 0;
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
  if (keys.hard) throw std::logic_error("attention " + this->type_ +
                                        ": no backward through hard decoding");
  const Mat<Real>* given = coverage_ ? this->step_weight_gradient(d_weights, grad) : d_weights;
  attention_core::weighted_sum_backward(keys.values, cache.weights, cache.window_begin,
                                        cache.window_end, d_context, given, grad.d_weights,
                                        grad.d_values);
  const uword steps = keys.steps, A = hidden_size_, rows = energies_ * A;
  if (monotonic_) {  // ∂a (MoChA: through β), plus the next step's ∂a' → ē and ∂a'
    Real d_offset = 0;
    for (uword b = 0; b < keys.batch; ++b) {
      const uword n = keys.lengths[b];
      Real* d_alignment = grad.d_alignment.colptr(b);
      if (chunk_width_ == 0)
        std::copy(grad.d_weights.colptr(b), grad.d_weights.colptr(b) + n, d_alignment);
      else
        monotonic_alignment::chunk_expected_backward(
            n, chunk_width_, cache.alignment.colptr(b), cache.chunk_scores.colptr(b),
            cache.chunk_log_sums.colptr(b), grad.d_weights.colptr(b), d_alignment,
            grad.d_chunk_scores.colptr(b));
      for (uword j = 0; j < n; ++j) d_alignment[j] += grad.d_state(j, b);
      Real* d_e = grad.d_scores.colptr(b);
      Real* d_prev = grad.d_state.colptr(b);  // replaced: a' enters only here
      monotonic_alignment::expected_backward(n, cache.probs.colptr(b), cache.state.colptr(b),
                                             d_alignment, d_e, d_prev);
      for (uword j = 0; j < n; ++j) d_offset += d_e[j];
      for (uword j = n; j < steps; ++j) d_e[j] = d_prev[j] = 0;
    }
    params.grad(offset_)(0, 0) += d_offset;
  } else {
    attention_core::softmax_windows_backward(cache.weights, grad.d_weights, cache.window_begin,
                                             cache.window_end, grad.d_scores);
  }
  const Real* v = params.value(v_).memptr();
  Real* d_v = params.grad(v_).memptr();
  const Real* w_c = coverage_ ? params.value(coverage_weight_).memptr() : nullptr;
  Real* d_w_c = coverage_ ? params.grad(coverage_weight_).memptr() : nullptr;
  grad.d_proj_query.zeros();
  for (uword b = 0; b < keys.batch; ++b) {
    const uword n = keys.lengths[b];
    if (n == 0) continue;
    const Real* u = cache.hidden.colptr(b * steps);
    Real* d_k = grad.d_keys.colptr(b * steps);
    Real* d_ws = grad.d_proj_query.colptr(b);
    const Real* d_e = grad.d_scores.colptr(b);
    if (chunk_width_ == 0) {  // ∂v += U ē, (A × n)(n × 1)
      const Mat<Real> d_e_col(const_cast<Real*>(d_e), n, 1, false, true);
      params.grad(v_) += columns(cache.hidden, b * steps, n) * d_e_col;
    } else {
      for (uword j = 0; j < n; ++j)
        for (uword i = 0; i < A; ++i) d_v[i] += d_e[j] * u[j * rows + i];
    }
    hidden_backward(A, rows, n, u, d_e, v, d_k, d_ws, w_c,
                    coverage_ ? cache.state.colptr(b) : nullptr, d_w_c,
                    coverage_ ? grad.d_state.colptr(b) : nullptr);
    if (chunk_width_ > 0) {  // the chunk energy's rows A..2A−1
      const Real* d_u = grad.d_chunk_scores.colptr(b);
      Real* d_chunk_v = params.grad(chunk_v_).memptr();
      for (uword j = 0; j < n; ++j)
        for (uword i = 0; i < A; ++i) d_chunk_v[i] += d_u[j] * u[j * rows + A + i];
      hidden_backward<Real>(A, rows, n, u + A, d_u, params.value(chunk_v_).memptr(), d_k + A,
                            d_ws + A, nullptr, nullptr, nullptr, nullptr);
    }
  }
  query_proj_.backward(params, cache.query, grad.d_proj_query, &d_query);
}

template class AdditiveAttention<float>;
template class AdditiveAttention<double>;

}  // namespace s2s
