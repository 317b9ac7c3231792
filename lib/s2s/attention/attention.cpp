#include "s2s/attention/attention.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "s2s/core/choice.hpp"

namespace s2s {

AttentionType parse_attention_type(const std::string& name) {
  return parse_choice<AttentionType>("attention mechanism", name,
      {{"dot", AttentionType::kDot}, {"bahdanau", AttentionType::kBahdanau},
       {"luong-dot", AttentionType::kLuongDot}, {"luong-general", AttentionType::kLuongGeneral},
       {"luong-concat", AttentionType::kLuongConcat},
       {"luong-local-m", AttentionType::kLuongLocalM},
       {"luong-local-p", AttentionType::kLuongLocalP},
       {"monotonic", AttentionType::kMonotonic},
       {"monotonic-chunk", AttentionType::kMonotonicChunk}});
}

// ---------------------------------------------------------------------------------------------
// The interface.

template <typename Real>
Attention<Real>::Attention(const AttentionConfig& config)
    : type_(config.type),
      kind_(parse_attention_type(config.type)),
      query_size_(config.query_size),
      memory_size_(config.memory_size) {
  if (query_size_ == 0 || memory_size_ == 0)
    throw std::invalid_argument("attention " + type_ +
                                ": query_size and memory_size must be positive");
  if (config.scaled && kind_ != AttentionType::kDot)
    throw std::invalid_argument("attention " + type_ +
                                ": 'scaled' applies to attention type 'dot' only");
  if (config.coverage && kind_ != AttentionType::kBahdanau && kind_ != AttentionType::kLuongConcat)
    throw std::invalid_argument("attention " + type_ +
                                ": coverage applies to bahdanau and luong-concat only");
}

template <typename Real>
void Attention<Real>::precompute(const ParameterStore<Real>& params, const Mat<Real>& memory,
                                 const arma::Row<Real>& src_mask, uword batch, uword steps,
                                 AttentionKeys<Real>& keys) const {
  if (memory.n_rows != memory_size_ || memory.n_cols != steps * batch)
    throw std::invalid_argument("attention " + type_ + ": memory is " +
                                shape_string(memory) + ", expected (H x S*B) " +
                                shape_string(memory_size_, steps * batch));
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
void Attention<Real>::begin_state(const AttentionKeys<Real>& keys, Mat<Real>& state) const {
  if (state_kind_ == AttentionState::kNone) {
    state.reset();
    return;
  }
  state.zeros(keys.steps, keys.batch);
  if (state_kind_ == AttentionState::kAlignment)
    for (uword b = 0; b < keys.batch; ++b)
      if (keys.lengths[b] > 0) state(0, b) = Real(1);
}

template <typename Real>
void Attention<Real>::next_state(const AttentionStepCache<Real>& cache, Mat<Real>& state) const {
  switch (state_kind_) {
    case AttentionState::kNone: state.reset(); return;
    case AttentionState::kCoverage: state = cache.state + cache.weights; return;
    case AttentionState::kAlignment: state = cache.alignment; return;
  }
}

template <typename Real>
const Mat<Real>* Attention<Real>::step_weight_gradient(const Mat<Real>* d_weights,
                                                       AttentionKeysGrad<Real>& grad) const {
  if (state_kind_ == AttentionState::kNone) return d_weights;
  grad.d_step_weights = grad.d_state;
  if (d_weights != nullptr) grad.d_step_weights += *d_weights;
  return &grad.d_step_weights;
}

template <typename Real>
void Attention<Real>::check_step(const AttentionKeys<Real>& keys, const Mat<Real>& query,
                                 AttentionStepCache<Real>& cache) const {
  if (query.n_rows != query_size_ || query.n_cols != keys.batch)
    throw std::invalid_argument("attention " + type_ + ": query is " +
                                shape_string(query.n_rows, query.n_cols) + ", expected (Q x B) " +
                                shape_string(query_size_, keys.batch));
  if (cache.weights.n_rows != keys.steps || cache.weights.n_cols != keys.batch ||
      cache.query.n_rows != query_size_)
    preallocate(cache, keys.batch, keys.steps);
  if (state_kind_ != AttentionState::kNone &&
      (cache.state.n_rows != keys.steps || cache.state.n_cols != keys.batch))
    throw std::invalid_argument("attention " + type_ + ": the step's state is " +
                                shape_string(cache.state.n_rows, cache.state.n_cols) +
                                ", expected (S x B) " + shape_string(keys.steps, keys.batch) +
                                " (set it with begin_state / next_state)");
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
  if (state_kind_ == AttentionState::kNone) {
    grad.d_state.reset();
  } else {
    grad.d_state.zeros(keys.steps, keys.batch);
    grad.d_step_weights.zeros(keys.steps, keys.batch);
  }
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
                                shape_string(d_context.n_rows, d_context.n_cols) + ", expected " +
                                shape_string(memory_size_, keys.batch));
  if (d_weights != nullptr && (d_weights->n_rows != keys.steps || d_weights->n_cols != keys.batch))
    throw std::invalid_argument("attention " + type_ + ": d_weights is " +
                                shape_string(d_weights->n_rows, d_weights->n_cols) + ", expected " +
                                shape_string(keys.steps, keys.batch));
  if (d_query.n_rows != query_size_ || d_query.n_cols != keys.batch)
    throw std::invalid_argument("attention " + type_ + ": d_query is " +
                                shape_string(d_query.n_rows, d_query.n_cols) + ", expected " +
                                shape_string(query_size_, keys.batch));
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
                                shape_string(d_memory.n_rows, d_memory.n_cols) + ", expected " +
                                shape_string(memory_size_, keys.values.n_cols));
  project_keys_backward(params, keys, grad);
  attention_core::add_to_time_major(grad.d_values, keys.batch, keys.steps, d_memory);
}

template class Attention<float>;
template class Attention<double>;

}  // namespace s2s
