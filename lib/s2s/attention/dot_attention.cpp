#include "s2s/attention/dot_attention.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

namespace s2s {

template <typename Real>
DotAttention<Real>::DotAttention(const AttentionConfig& config, ParamLayout& layout)
    : Attention<Real>(config) {
  const uword query_size = config.query_size, memory_size = config.memory_size;
  if (this->kind_ == AttentionType::kDot) {
    if (query_size != memory_size)
      query_proj_.emplace(layout, config.name + ".W_q", query_size, memory_size, false);
    if (config.scaled) scale_ = Real(1.0 / std::sqrt(static_cast<double>(memory_size)));
  } else if (this->kind_ == AttentionType::kLuongDot) {
    if (query_size != memory_size)
      throw std::invalid_argument(
          "attention luong-dot needs query_size == memory_size, got query_size " +
          std::to_string(query_size) + " and memory_size " + std::to_string(memory_size) +
          " (use 'dot', which projects the query, or 'luong-general')");
  } else if (this->kind_ == AttentionType::kLuongGeneral) {
    key_proj_.emplace(layout, config.name + ".W_a", memory_size, query_size, false);
  } else {
    throw std::invalid_argument("DotAttention: type must be dot, luong-dot or luong-general, got " +
                                config.type);
  }
}

template <typename Real>
void DotAttention<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  if (query_proj_) query_proj_->init(params, rng);
  if (key_proj_) key_proj_->init(params, rng);
}

template <typename Real>
void DotAttention<Real>::project_keys(const ParameterStore<Real>& params,
                                      AttentionKeys<Real>& keys) const {
  if (key_proj_)
    key_proj_->forward(params, keys.values, keys.keys);  // (Q × S·B) = W_a V
  else
    keys.keys.reset();
}

template <typename Real>
void DotAttention<Real>::project_keys_backward(ParameterStore<Real>& params,
                                               const AttentionKeys<Real>& keys,
                                               AttentionKeysGrad<Real>& grad) const {
  if (key_proj_) key_proj_->backward(params, keys.values, grad.d_keys, &grad.d_values);
}

template <typename Real>
void DotAttention<Real>::preallocate_variant(AttentionStepCache<Real>& cache, uword batch,
                                             uword src_steps) const {
  if (query_proj_) cache.proj_query.set_size(query_proj_->out_features(), batch);
}

template <typename Real>
void DotAttention<Real>::begin_backward_variant(AttentionKeysGrad<Real>& grad, uword batch) const {
  if (query_proj_) grad.d_proj_query.zeros(query_proj_->out_features(), batch);
}

template <typename Real>
void DotAttention<Real>::forward(const ParameterStore<Real>& params,
                                 const AttentionKeys<Real>& keys, const Mat<Real>& query,
                                 uword step, AttentionStepCache<Real>& cache, Mat<Real>& context,
                                 Mat<Real>& weights) const {
  this->check_step(keys, query, cache);
  cache.step = step;
  cache.query = query;
  const Mat<Real>* compared = &cache.query;  // s', (H or Q × B)
  if (query_proj_) {
    query_proj_->forward(params, cache.query, cache.proj_query);
    compared = &cache.proj_query;
  }
  cache.window_begin.zeros();
  cache.window_end = keys.lengths;
  attention_core::dot_scores(keys.key_matrix(), *compared, cache.window_begin, cache.window_end,
                             scale_, cache.weights);
  attention_core::softmax_windows(cache.weights, cache.window_begin, cache.window_end);
  attention_core::weighted_sum(keys.values, cache.weights, cache.window_begin, cache.window_end,
                               context);
  weights = cache.weights;
}

template <typename Real>
void DotAttention<Real>::backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                                  const AttentionStepCache<Real>& cache, const Mat<Real>& d_context,
                                  const Mat<Real>* d_weights, Mat<Real>& d_query,
                                  AttentionKeysGrad<Real>& grad) const {
  this->check_backward(keys, cache, d_context, d_weights, d_query, grad);
  const arma::uvec& begin = cache.window_begin;
  const arma::uvec& end = cache.window_end;
  attention_core::weighted_sum_backward(keys.values, cache.weights, begin, end, d_context,
                                        d_weights, grad.d_weights, grad.d_values);
  attention_core::softmax_windows_backward(cache.weights, grad.d_weights, begin, end,
                                           grad.d_scores);
  if (query_proj_) {
    grad.d_proj_query.zeros();
    attention_core::dot_scores_backward(keys.key_matrix(), cache.proj_query, begin, end, scale_,
                                        grad.d_scores, grad.d_proj_query, grad.d_key_matrix());
    query_proj_->backward(params, cache.query, grad.d_proj_query, &d_query);
  } else {
    attention_core::dot_scores_backward(keys.key_matrix(), cache.query, begin, end, scale_,
                                        grad.d_scores, d_query, grad.d_key_matrix());
  }
}

template class DotAttention<float>;
template class DotAttention<double>;

}  // namespace s2s
