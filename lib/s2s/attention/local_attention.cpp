#include "s2s/attention/local_attention.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

namespace s2s {

namespace {

uword checked_window(AttentionType kind, const AttentionConfig& config) {
  if (kind != AttentionType::kLuongLocalM && kind != AttentionType::kLuongLocalP)
    throw std::invalid_argument(
        "LocalAttention: type must be luong-local-m or luong-local-p, got " + config.type);
  if (config.window == 0)
    throw std::invalid_argument("attention " + config.type + ": window D must be at least 1");
  return config.window;
}

}  // namespace

template <typename Real>
LocalAttention<Real>::LocalAttention(const AttentionConfig& config, ParamLayout& layout)
    : Attention<Real>(config),
      window_(checked_window(this->kind_, config)),
      sigma_squared_(Real(0.25 * static_cast<double>(window_) * static_cast<double>(window_))),
      key_proj_(layout, config.name + ".W_a", config.memory_size, config.query_size, false) {
  if (this->kind_ == AttentionType::kLuongLocalP) {
    const uword hidden = config.hidden_size != 0 ? config.hidden_size : config.query_size;
    position_proj_.emplace(layout, config.name + ".W_p", config.query_size, hidden, false);
    position_v_ = layout.add(config.name + ".v_p", hidden, 1);
  }
}

template <typename Real>
void LocalAttention<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  key_proj_.init(params, rng);
  if (position_proj_) {
    position_proj_->init(params, rng);
    const double bound = 1.0 / std::sqrt(static_cast<double>(position_proj_->out_features()));
    rng.fill_uniform(params.value(position_v_), -bound, bound);
  }
}

template <typename Real>
Real LocalAttention<Real>::gaussian(uword j, Real position) const {
  const Real offset = static_cast<Real>(j) - position;
  return std::exp(-offset * offset / (Real(2) * sigma_squared_));
}

template <typename Real>
void LocalAttention<Real>::project_keys(const ParameterStore<Real>& params,
                                        AttentionKeys<Real>& keys) const {
  key_proj_.forward(params, keys.values, keys.keys);  // (Q × S·B) = W_a V
}

template <typename Real>
void LocalAttention<Real>::project_keys_backward(ParameterStore<Real>& params,
                                                 const AttentionKeys<Real>& keys,
                                                 AttentionKeysGrad<Real>& grad) const {
  key_proj_.backward(params, keys.values, grad.d_keys, &grad.d_values);
}

template <typename Real>
void LocalAttention<Real>::preallocate_variant(AttentionStepCache<Real>& cache, uword batch,
                                               uword src_steps) const {
  cache.probs.zeros(src_steps, batch);
  cache.position.zeros(1, batch);
  if (position_proj_) cache.position_hidden.set_size(position_proj_->out_features(), batch);
}

template <typename Real>
void LocalAttention<Real>::begin_backward_variant(AttentionKeysGrad<Real>& grad,
                                                  uword batch) const {
  grad.d_position.zeros(1, batch);
  if (position_proj_) grad.d_position_hidden.zeros(position_proj_->out_features(), batch);
}

template <typename Real>
void LocalAttention<Real>::forward(const ParameterStore<Real>& params,
                                   const AttentionKeys<Real>& keys, const Mat<Real>& query,
                                   uword step, AttentionStepCache<Real>& cache, Mat<Real>& context,
                                   Mat<Real>& weights) const {
  this->check_step(keys, query, cache);
  cache.step = step;
  cache.query = query;
  if (position_proj_) {
    position_proj_->forward(params, cache.query, cache.position_hidden);  // (A × B) = W_p s
    cache.position_hidden.transform([](Real x) { return std::tanh(x); });
  }
  const double half_width = static_cast<double>(window_);
  for (uword b = 0; b < keys.batch; ++b) {
    const uword length = keys.lengths[b];
    uword lo = 0, hi = 0;
    Real position = Real(0);
    if (position_proj_) {
      const Real z = arma::dot(params.value(position_v_).col(0), cache.position_hidden.col(b));
      position = static_cast<Real>(length) / (Real(1) + std::exp(-z));
      const double first = std::ceil(static_cast<double>(position) - half_width);
      const double last = std::floor(static_cast<double>(position) + half_width);
      lo = first <= 0 ? 0 : static_cast<uword>(first);
      hi = std::min(length, static_cast<uword>(last) + 1);
    } else {
      position = static_cast<Real>(step);
      lo = step > window_ ? step - window_ : 0;
      hi = std::min(length, step + window_ + 1);
    }
    if (lo >= hi) lo = hi = 0;  // no real position in the window
    cache.position(b) = position;
    cache.window_begin[b] = lo;
    cache.window_end[b] = hi;
  }
  attention_core::dot_scores(keys.keys, cache.query, cache.window_begin, cache.window_end, Real(1),
                             cache.probs);
  attention_core::softmax_windows(cache.probs, cache.window_begin, cache.window_end);
  cache.weights = cache.probs;
  for (uword b = 0; b < keys.batch; ++b) {
    Real* a = cache.weights.colptr(b);
    for (uword j = cache.window_begin[b]; j < cache.window_end[b]; ++j)
      a[j] *= gaussian(j, cache.position(b));
  }
  attention_core::weighted_sum(keys.values, cache.weights, cache.window_begin, cache.window_end,
                               context);
  weights = cache.weights;
}

template <typename Real>
void LocalAttention<Real>::backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                                    const AttentionStepCache<Real>& cache,
                                    const Mat<Real>& d_context, const Mat<Real>* d_weights,
                                    Mat<Real>& d_query, AttentionKeysGrad<Real>& grad) const {
  this->check_backward(keys, cache, d_context, d_weights, d_query, grad);
  const arma::uvec& begin = cache.window_begin;
  const arma::uvec& end = cache.window_end;
  // grad.d_weights: ∂L/∂a, then in place ∂L/∂α = ∂L/∂a ⊙ g.
  attention_core::weighted_sum_backward(keys.values, cache.weights, begin, end, d_context,
                                        d_weights, grad.d_weights, grad.d_values);
  for (uword b = 0; b < keys.batch; ++b) {
    const Real position = cache.position(b);
    const Real* a = cache.weights.colptr(b);
    Real* d_a = grad.d_weights.colptr(b);
    Real d_position = Real(0);
    for (uword j = begin[b]; j < end[b]; ++j) {
      d_position += d_a[j] * a[j] * (static_cast<Real>(j) - position) / sigma_squared_;
      d_a[j] *= gaussian(j, position);
    }
    // ∂z = ∂p · S_b σ(z)(1 − σ(z)) = ∂p · p (1 − p / S_b)
    const Real length = static_cast<Real>(keys.lengths[b]);
    grad.d_position(b) =
        length > 0 ? d_position * position * (Real(1) - position / length) : Real(0);
  }
  attention_core::softmax_windows_backward(cache.probs, grad.d_weights, begin, end, grad.d_scores);
  attention_core::dot_scores_backward(keys.keys, cache.query, begin, end, Real(1), grad.d_scores,
                                      d_query, grad.d_keys);
  if (position_proj_) {
    const Mat<Real>& u = cache.position_hidden;           // (A × B)
    params.grad(position_v_) += u * grad.d_position.t();  // (A × B)(B × 1)
    const Real* v = params.value(position_v_).memptr();
    for (uword b = 0; b < keys.batch; ++b) {
      const Real d_z = grad.d_position(b);
      for (uword i = 0; i < u.n_rows; ++i)
        grad.d_position_hidden(i, b) = d_z * v[i] * (Real(1) - u(i, b) * u(i, b));
    }
    position_proj_->backward(params, cache.query, grad.d_position_hidden, &d_query);
  }
}

template class LocalAttention<float>;
template class LocalAttention<double>;

}  // namespace s2s
