#include "s2s/attention/multi_head_attention.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "s2s/attention/attention_core.hpp"
#include "s2s/core/activations.hpp"  // S2S_VECTOR_CLONES

namespace s2s {

namespace {

// The per-(head, sequence) products, (d_h × S) and (d_h × T) blocks with S, T of a few dozen:
// plain loops, because a BLAS call per block (6 per block, H·B blocks per layer) costs more in
// call and packing overhead than its few thousand multiply-adds. Column-major, contiguous.
// out (m × n) = aᵀ b,  a (k × m), b (k × n)
template <typename Real>
S2S_VECTOR_CLONES void small_at_b(const Real* a, const Real* b, uword k, uword m, uword n,
                                  Real* out) {
  for (uword j = 0; j < n; ++j)
    for (uword i = 0; i < m; ++i) {
      const Real* ai = a + i * k;
      const Real* bj = b + j * k;
      // 16 partial sums in a fixed order: vectorisable (no -ffast-math needed), and the same
      // result on every vector width.
      constexpr uword kLanes = 16;
      Real lanes[kLanes] = {};
      uword r = 0;
      for (; r + kLanes <= k; r += kLanes)
        for (uword l = 0; l < kLanes; ++l) lanes[l] += ai[r + l] * bj[r + l];
      Real sum = 0;
      for (uword l = 0; l < kLanes; ++l) sum += lanes[l];
      for (; r < k; ++r) sum += ai[r] * bj[r];
      out[j * m + i] = sum;
    }
}

// out (k × n) = a b,  a (k × m), b (m × n)
template <typename Real>
S2S_VECTOR_CLONES void small_a_b(const Real* a, const Real* b, uword k, uword m, uword n,
                                 Real* out) {
  for (uword j = 0; j < n; ++j) {
    Real* oj = out + j * k;
    std::fill(oj, oj + k, Real(0));
    for (uword i = 0; i < m; ++i) {
      const Real bij = b[j * m + i];
      const Real* ai = a + i * k;
      for (uword r = 0; r < k; ++r) oj[r] += ai[r] * bij;
    }
  }
}

// out (k × m) += a bᵀ,  a (k × n), b (m × n)
template <typename Real>
S2S_VECTOR_CLONES void small_add_a_bt(const Real* a, const Real* b, uword k, uword m, uword n,
                                      Real* out) {
  for (uword j = 0; j < n; ++j) {
    const Real* aj = a + j * k;
    for (uword i = 0; i < m; ++i) {
      const Real bij = b[j * m + i];
      Real* oi = out + i * k;
      for (uword r = 0; r < k; ++r) oi[r] += aj[r] * bij;
    }
  }
}

// out (d_h × L·H·B, head blocks) = scale · x (D × L·B, time-major):
// out(i, (h·B + b)·L + l) = scale · x(h·d_h + i, l·B + b).
template <typename Real>
void split_heads(const Mat<Real>& x, uword batch, uword steps, uword heads, Real scale,
                 Mat<Real>& out) {
  const uword dh = x.n_rows / heads;
  out.set_size(dh, steps * heads * batch);
  for (uword l = 0; l < steps; ++l)
    for (uword b = 0; b < batch; ++b) {
      const Real* src = x.colptr(l * batch + b);
      for (uword h = 0; h < heads; ++h) {
        const Real* s = src + h * dh;
        Real* d = out.colptr((h * batch + b) * steps + l);
        for (uword i = 0; i < dh; ++i) d[i] = scale * s[i];
      }
    }
}

// The inverse: out (D × L·B, time-major) = scale · in (head blocks); out must have its size.
template <typename Real>
void merge_heads(const Mat<Real>& in, uword batch, uword steps, uword heads, Real scale,
                 Mat<Real>& out) {
  const uword dh = in.n_rows;
  for (uword l = 0; l < steps; ++l)
    for (uword b = 0; b < batch; ++b) {
      Real* dst = out.colptr(l * batch + b);
      for (uword h = 0; h < heads; ++h) {
        const Real* s = in.colptr((h * batch + b) * steps + l);
        Real* d = dst + h * dh;
        for (uword i = 0; i < dh; ++i) d[i] = scale * s[i];
      }
    }
}

// Copies the first counts[i] columns of block `from[i]` of src into block i of dst, for every
// head; blocks have `steps` columns.
template <typename Real>
void copy_blocks(const Mat<Real>& src, uword src_rows, uword steps_src, Mat<Real>& dst,
                 uword dst_rows, uword steps_dst, uword heads, const std::vector<uword>* from,
                 const arma::uvec& counts_by_src_row) {
  const uword dh = src.n_rows;
  for (uword h = 0; h < heads; ++h)
    for (uword i = 0; i < dst_rows; ++i) {
      const uword r = from ? (*from)[i] : i;
      const Real* s = src.colptr((h * src_rows + r) * steps_src);
      std::copy(s, s + dh * counts_by_src_row[r], dst.colptr((h * dst_rows + i) * steps_dst));
    }
}

}  // namespace

template <typename Real>
MultiHeadAttention<Real>::MultiHeadAttention(ParamLayout& layout, const std::string& name,
                                             uword d_model, uword heads, double attention_dropout,
                                             RelativeBiasKind position_bias, bool bidirectional)
    : d_model_(d_model),
      heads_(heads),
      head_size_(heads == 0 ? 0 : d_model / heads),
      scale_(head_size_ == 0 ? Real(0) : Real(1.0 / std::sqrt(static_cast<double>(head_size_)))),
      q_proj_(layout, name + ".q_proj", d_model, d_model),
      k_proj_(layout, name + ".k_proj", d_model, d_model),
      v_proj_(layout, name + ".v_proj", d_model, d_model),
      out_proj_(layout, name + ".out_proj", d_model, d_model),
      dropout_(attention_dropout) {
  if (heads == 0 || d_model == 0 || d_model % heads != 0)
    throw std::invalid_argument(name + ": d_model " + std::to_string(d_model) +
                                " must be a positive multiple of heads " + std::to_string(heads));
  if (position_bias != RelativeBiasKind::kNone)
    position_bias_.emplace(layout, name + ".relative_bias", position_bias, heads, d_model,
                           bidirectional);
}

template <typename Real>
void MultiHeadAttention<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  const double d = static_cast<double>(d_model_);
  const double in_bound = std::sqrt(6.0 / (d + 3.0 * d));  // xavier over (3D × D)
  for (const Linear<Real>* proj : {&q_proj_, &k_proj_, &v_proj_}) {
    rng.fill_uniform(params.value(proj->weight_id()), -in_bound, in_bound);
    params.value(proj->bias_id()).zeros();
  }
  const double out_bound = std::sqrt(6.0 / (2.0 * d));  // xavier over (D × D)
  rng.fill_uniform(params.value(out_proj_.weight_id()), -out_bound, out_bound);
  params.value(out_proj_.bias_id()).zeros();
  if (position_bias_) position_bias_->init(params, rng);
}

// ---------------------------------------------------------------------------------------------
// Memory (keys and values)

template <typename Real>
void MultiHeadAttention<Real>::project_memory(const ParameterStore<Real>& params,
                                              const Mat<Real>& memory_input,
                                              const std::vector<uword>& lengths, uword steps,
                                              MhaMemory<Real>& out) const {
  const uword B = lengths.size();
  if (memory_input.n_rows != d_model_ || memory_input.n_cols != steps * B)
    throw std::invalid_argument("multi-head attention: memory input is " +
                                shape_string(memory_input.n_rows, memory_input.n_cols) +
                                ", expected (D x S*B) " +
                                shape_string(d_model_, steps * B));
  for (uword len : lengths)
    if (len > steps)
      throw std::invalid_argument("multi-head attention: memory length " + std::to_string(len) +
                                  " exceeds its " + std::to_string(steps) + " steps");
  out.batch = B;
  out.steps = steps;
  out.lengths = arma::uvec(std::vector<arma::uword>(lengths.begin(), lengths.end()));
  Mat<Real> projected;  // (D × S·B)
  k_proj_.forward(params, memory_input, projected);
  split_heads(projected, B, steps, heads_, Real(1), out.keys);
  v_proj_.forward(params, memory_input, projected);
  split_heads(projected, B, steps, heads_, Real(1), out.values);
}

template <typename Real>
void MultiHeadAttention<Real>::begin_backward(const MhaMemory<Real>& memory,
                                              MhaMemoryGrad<Real>& grad) const {
  grad.d_keys.zeros(arma::size(memory.keys));
  grad.d_values.zeros(arma::size(memory.values));
}

template <typename Real>
void MultiHeadAttention<Real>::project_memory_backward(ParameterStore<Real>& params,
                                                       const Mat<Real>& memory_input,
                                                       const MhaMemory<Real>& memory,
                                                       const MhaMemoryGrad<Real>& grad,
                                                       Mat<Real>& d_memory_input) const {
  const uword B = memory.batch, S = memory.steps;
  if (memory_input.n_rows != d_model_ || memory_input.n_cols != S * B ||
      d_memory_input.n_rows != d_model_ || d_memory_input.n_cols != S * B)
    throw std::invalid_argument("multi-head attention: memory input " +
                                shape_string(memory_input.n_rows, memory_input.n_cols) +
                                " or its gradient " +
                                shape_string(d_memory_input.n_rows, d_memory_input.n_cols) +
                                " is not (D x S*B) " + shape_string(d_model_, S * B));
  if (grad.d_keys.n_cols != memory.keys.n_cols || grad.d_values.n_cols != memory.values.n_cols)
    throw std::logic_error(
        "multi-head attention: call begin_backward(memory, grad) before project_memory_backward");
  Mat<Real> d_projected(d_model_, S * B);  // (D × S·B)
  merge_heads(grad.d_keys, B, S, heads_, Real(1), d_projected);
  k_proj_.backward(params, memory_input, d_projected, &d_memory_input);
  merge_heads(grad.d_values, B, S, heads_, Real(1), d_projected);
  v_proj_.backward(params, memory_input, d_projected, &d_memory_input);
}

// ---------------------------------------------------------------------------------------------
// All query positions at once (training, full recompute)

template <typename Real>
void MultiHeadAttention<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& query,
                                       const std::vector<uword>& query_lengths,
                                       const MhaMemory<Real>& memory, bool causal, bool training,
                                       Rng& rng, MhaCache<Real>& cache, Mat<Real>& y) const {
  const uword B = memory.batch, S = memory.steps, H = heads_, dh = head_size_;
  if (query_lengths.size() != B || B == 0 || query.n_rows != d_model_ || query.n_cols % B != 0)
    throw std::invalid_argument("multi-head attention: query is " +
                                shape_string(query.n_rows, query.n_cols) + " with " +
                                std::to_string(query_lengths.size()) +
                                " lengths, expected (D x T*B) with B = " + std::to_string(B));
  const uword T = query.n_cols / B;
  cache.batch = B;
  cache.query_steps = T;

  Mat<Real> projected;  // (D × T·B)
  q_proj_.forward(params, query, projected);
  split_heads(projected, B, T, H, scale_, cache.queries);

  cache.window_begin.zeros(T * H * B);
  cache.window_end.set_size(T * H * B);
  for (uword h = 0; h < H; ++h)
    for (uword b = 0; b < B; ++b) {
      const uword keys = memory.lengths[b];
      for (uword t = 0; t < T; ++t) {
        uword end = 0;
        if (t < query_lengths[b]) end = causal ? std::min(t + 1, keys) : keys;
        cache.window_end[(h * B + b) * T + t] = end;
      }
    }

  cache.weights.set_size(S, T * H * B);
  for (uword block = 0; block < H * B; ++block) {
    const Mat<Real> K = columns(memory.keys, block * S, S);      // (d_h × S)
    const Mat<Real> Q = columns(cache.queries, block * T, T);    // (d_h × T)
    Mat<Real> E = columns(cache.weights, block * T, T);          // (S × T)
    small_at_b(K.memptr(), Q.memptr(), dh, S, T, E.memptr());    // E = Kᵀ Q
    if (!position_bias_) continue;
    const uword h = block / B;
    for (uword t = 0; t < T; ++t)
      position_bias_->add(params, h, t, cache.window_end[block * T + t], E.colptr(t));
  }
  attention_core::softmax_windows(cache.weights, cache.window_begin, cache.window_end);
  if (dropout_.active(training)) {
    dropout_.forward(cache.weights, cache.dropped, cache.dropout, training, rng);
  } else {
    cache.dropped.reset();
    cache.dropout.scale.reset();
  }
  const Mat<Real>& applied = cache.dropped.is_empty() ? cache.weights : cache.dropped;  // A'

  Mat<Real> context_heads(dh, T * H * B);
  for (uword block = 0; block < H * B; ++block) {
    const Mat<Real> V = columns(memory.values, block * S, S);    // (d_h × S)
    const Mat<Real> A = columns(applied, block * T, T);          // (S × T)
    Mat<Real> C = columns(context_heads, block * T, T);          // (d_h × T)
    small_a_b(V.memptr(), A.memptr(), dh, S, T, C.memptr());     // C = V A
  }
  cache.context.set_size(d_model_, T * B);
  merge_heads(context_heads, B, T, H, Real(1), cache.context);
  out_proj_.forward(params, cache.context, y);
}

template <typename Real>
void MultiHeadAttention<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& query,
                                        const MhaMemory<Real>& memory, const MhaCache<Real>& cache,
                                        const Mat<Real>& dy, Mat<Real>& d_query,
                                        MhaMemoryGrad<Real>& grad) const {
  const uword B = cache.batch, T = cache.query_steps, S = memory.steps, H = heads_,
              dh = head_size_;
  if (dy.n_rows != d_model_ || dy.n_cols != T * B || d_query.n_rows != d_model_ ||
      d_query.n_cols != T * B)
    throw std::invalid_argument("multi-head attention backward: dy is " +
                                shape_string(dy.n_rows, dy.n_cols) + " and d_query " +
                                shape_string(d_query.n_rows, d_query.n_cols) + ", expected " +
                                shape_string(d_model_, T * B));
  if (grad.d_keys.n_cols != memory.keys.n_cols || grad.d_values.n_cols != memory.values.n_cols)
    throw std::logic_error(
        "multi-head attention: call begin_backward(memory, grad) before backward");

  Mat<Real> d_context(d_model_, T * B, arma::fill::zeros);
  out_proj_.backward(params, cache.context, dy, &d_context);
  Mat<Real> d_context_heads;  // (d_h × T·H·B)
  split_heads(d_context, B, T, H, Real(1), d_context_heads);

  const Mat<Real>& applied = cache.dropped.is_empty() ? cache.weights : cache.dropped;  // A'
  Mat<Real> d_dropped(S, T * H * B);  // ∂A'
  for (uword block = 0; block < H * B; ++block) {
    const Mat<Real> V = columns(memory.values, block * S, S);
    const Mat<Real> A = columns(applied, block * T, T);
    const Mat<Real> dC = columns(d_context_heads, block * T, T);
    Mat<Real> dA = columns(d_dropped, block * T, T);
    Mat<Real> dV = columns(grad.d_values, block * S, S);
    small_at_b(V.memptr(), dC.memptr(), dh, S, T, dA.memptr());      // dA = Vᵀ dC (S × T)
    small_add_a_bt(dC.memptr(), A.memptr(), dh, S, T, dV.memptr());  // dV += dC Aᵀ (d_h × S)
  }
  const Mat<Real>* d_weights = &d_dropped;  // ∂A
  Mat<Real> d_undropped;
  if (!cache.dropout.scale.is_empty()) {
    d_undropped.zeros(S, T * H * B);
    dropout_.backward(d_dropped, cache.dropout, d_undropped);
    d_weights = &d_undropped;
  }
  Mat<Real> d_scores;  // ∂E (S × T·H·B)
  attention_core::softmax_windows_backward(cache.weights, *d_weights, cache.window_begin,
                                           cache.window_end, d_scores);
  if (position_bias_)
    for (uword block = 0; block < H * B; ++block)
      for (uword t = 0; t < T; ++t)
        position_bias_->backward(params, block / B, t, cache.window_end[block * T + t],
                                 d_scores.colptr(block * T + t));

  Mat<Real> d_queries(dh, T * H * B);  // ∂(Q/√d_h)
  for (uword block = 0; block < H * B; ++block) {
    const Mat<Real> K = columns(memory.keys, block * S, S);
    const Mat<Real> Q = columns(cache.queries, block * T, T);
    const Mat<Real> dE = columns(d_scores, block * T, T);
    Mat<Real> dQ = columns(d_queries, block * T, T);
    Mat<Real> dK = columns(grad.d_keys, block * S, S);
    small_a_b(K.memptr(), dE.memptr(), dh, S, T, dQ.memptr());       // dQ = K dE (d_h × T)
    small_add_a_bt(Q.memptr(), dE.memptr(), dh, S, T, dK.memptr());  // dK += Q dEᵀ (d_h × S)
  }
  Mat<Real> d_projected(d_model_, T * B);  // ∂(W_q x + b_q)
  merge_heads(d_queries, B, T, H, scale_, d_projected);
  q_proj_.backward(params, query, d_projected, &d_query);
}

// ---------------------------------------------------------------------------------------------
// Incremental decoding

template <typename Real>
void MultiHeadAttention<Real>::begin_incremental(MhaMemory<Real>& memory, uword rows,
                                                 uword capacity) const {
  capacity = std::max<uword>(capacity, 1);
  memory.batch = rows;
  memory.steps = capacity;
  memory.lengths.zeros(rows);
  memory.keys.set_size(head_size_, capacity * heads_ * rows);
  memory.values.set_size(head_size_, capacity * heads_ * rows);
}

template <typename Real>
void MultiHeadAttention<Real>::append(const ParameterStore<Real>& params, const Mat<Real>& x,
                                      MhaMemory<Real>& memory,
                                      MhaStepBuffers<Real>& buffers) const {
  const uword N = memory.batch, H = heads_, dh = head_size_;
  if (x.n_rows != d_model_ || x.n_cols != N)
    throw std::invalid_argument("multi-head attention append: x is " + shape_string(x.n_rows, x.n_cols) +
                                ", expected " + shape_string(d_model_, N));
  const uword longest = N == 0 ? 0 : memory.lengths.max();
  if (longest >= memory.steps) {  // grow: double the capacity, keep the filled columns
    const uword capacity = std::max<uword>(2 * memory.steps, longest + 1);
    memory.spare_keys.set_size(dh, capacity * H * N);
    memory.spare_values.set_size(dh, capacity * H * N);
    copy_blocks(memory.keys, N, memory.steps, memory.spare_keys, N, capacity, H, nullptr,
                memory.lengths);
    copy_blocks(memory.values, N, memory.steps, memory.spare_values, N, capacity, H, nullptr,
                memory.lengths);
    memory.keys.swap(memory.spare_keys);
    memory.values.swap(memory.spare_values);
    memory.steps = capacity;
  }
  k_proj_.forward(params, x, buffers.new_keys);
  v_proj_.forward(params, x, buffers.new_values);
  const uword S = memory.steps;
  for (uword n = 0; n < N; ++n) {
    const uword position = memory.lengths[n];
    for (uword h = 0; h < H; ++h) {
      const Real* k = buffers.new_keys.colptr(n) + h * dh;
      const Real* v = buffers.new_values.colptr(n) + h * dh;
      std::copy(k, k + dh, memory.keys.colptr((h * N + n) * S + position));
      std::copy(v, v + dh, memory.values.colptr((h * N + n) * S + position));
    }
    memory.lengths[n] = position + 1;
  }
}

template <typename Real>
void MultiHeadAttention<Real>::step(const ParameterStore<Real>& params, const Mat<Real>& query,
                                    const MhaMemory<Real>& memory, MhaStepBuffers<Real>& buffers,
                                    Mat<Real>& y) const {
  const uword N = memory.batch, H = heads_;
  if (query.n_rows != d_model_ || query.n_cols != N)
    throw std::invalid_argument("multi-head attention step: query is " +
                                shape_string(query.n_rows, query.n_cols) + ", expected " +
                                shape_string(d_model_, N));
  q_proj_.forward(params, query, buffers.query);
  split_heads(buffers.query, N, 1, H, scale_, buffers.query_heads);
  buffers.window_begin.zeros(H * N);
  buffers.window_end.set_size(H * N);
  for (uword h = 0; h < H; ++h)
    for (uword n = 0; n < N; ++n) buffers.window_end[h * N + n] = memory.lengths[n];
  buffers.weights.set_size(memory.steps, H * N);
  attention_core::dot_scores(memory.keys, buffers.query_heads, buffers.window_begin,
                             buffers.window_end, Real(1), buffers.weights);
  if (position_bias_)
    for (uword h = 0; h < H; ++h)
      for (uword n = 0; n < N; ++n) {
        const uword keys = memory.lengths[n];
        if (keys > 0)
          position_bias_->add(params, h, keys - 1, keys, buffers.weights.colptr(h * N + n));
      }
  attention_core::softmax_windows(buffers.weights, buffers.window_begin, buffers.window_end);
  attention_core::weighted_sum(memory.values, buffers.weights, buffers.window_begin,
                               buffers.window_end, buffers.context_heads);
  buffers.context.set_size(d_model_, N);
  merge_heads(buffers.context_heads, N, 1, H, Real(1), buffers.context);
  out_proj_.forward(params, buffers.context, y);
}

template <typename Real>
void reorder_memory(MhaMemory<Real>& memory, uword heads, const std::vector<uword>& rows) {
  const uword N_old = memory.batch, N = rows.size(), S = memory.steps, dh = memory.keys.n_rows;
  for (uword r : rows)
    if (r >= N_old)
      throw std::out_of_range("reorder_memory: row " + std::to_string(r) + " of " +
                              std::to_string(N_old));
  memory.spare_keys.set_size(dh, S * heads * N);
  memory.spare_values.set_size(dh, S * heads * N);
  copy_blocks(memory.keys, N_old, S, memory.spare_keys, N, S, heads, &rows, memory.lengths);
  copy_blocks(memory.values, N_old, S, memory.spare_values, N, S, heads, &rows, memory.lengths);
  memory.keys.swap(memory.spare_keys);
  memory.values.swap(memory.spare_values);
  bool same = N == N_old;
  for (uword i = 0; i < N && same; ++i) same = memory.lengths[rows[i]] == memory.lengths[i];
  if (!same) {
    const arma::uvec index(const_cast<arma::uword*>(rows.data()), N, false, true);
    memory.lengths = arma::uvec(memory.lengths.elem(index));
  }
  memory.batch = N;
}

template class MultiHeadAttention<float>;
template class MultiHeadAttention<double>;
template void reorder_memory(MhaMemory<float>&, uword, const std::vector<uword>&);
template void reorder_memory(MhaMemory<double>&, uword, const std::vector<uword>&);

}  // namespace s2s
