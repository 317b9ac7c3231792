#pragma once
// Multi-head scaled dot-product attention, as torch.nn.MultiheadAttention (bias=True), with a
// key padding mask and an optional causal mask.
//
//   Q = W_q x + b_q  (D × T·B),   K = W_k m + b_k,  V = W_v m + b_v  (D × S·B)   one GEMM each
//   For head h (rows [h·d_h, (h+1)·d_h) of Q, K, V; d_h = D / H) and sequence b:
//     E_hb  = K_hbᵀ Q_hb / √d_h (+ b_h(j − t))                     (S × T) scores; the optional
//             relative position bias b_h of self-attention (relative_position_bias.hpp: ALiBi
//             or T5 buckets) is added to entry (j, t) inside the window only
//     A_hb  = column-wise softmax over the allowed keys; key j is allowed for query t iff
//             j < S_b (padding) and, when causal, j ≤ t. Every other entry is EXACTLY 0, and a
//             padded query (t ≥ T_b) allows no key: its column is all 0.
//     A'_hb = dropout(A_hb)                                        (attention_dropout)
//     C_hb  = V_hb A'_hb                                           (d_h × T)
//   y = W_o [C_1; …; C_H] + b_o                                     (D × T·B)
// x: queries (D × T·B), m: memory (D × S·B), both time-major (tensor.hpp). Self-attention is
// m = x. PyTorch scales q (after its bias) by 1/√d_h before the product; so do we.
//
// Backward, given ∂y (D × T·B):
//   ∂W_o += ∂y Cᵀ, ∂b_o += Σ ∂y, ∂C = W_oᵀ ∂y
//   ∂A'_hb = V_hbᵀ ∂C_hb,  ∂V_hb += ∂C_hb A'_hbᵀ,  ∂A = dropout backward of ∂A'
//   ∂E = A ⊙ (∂A − Σ_j A_j ∂A_j) over the allowed keys, 0 elsewhere
//   ∂b: the bias is added to E, so ∂E reaches it unchanged (T5: summed per bucket and head)
//   ∂Q_hb = K_hb ∂E_hb / √d_h,  ∂K_hb += Q_hb ∂E_hbᵀ / √d_h,  then the projections' backward.
//
// Internal layout ("head blocks"): per-head matrices are (d_h × L·H·B) with block (h, b) the
// contiguous columns [(h·B + b)·L, (h·B + b + 1)·L), L = T for queries and S for keys/values.
// So training runs one GEMM per (head, sequence) block for the scores (all T queries at once)
// and one for the context. The masked softmax is attention_core::softmax_windows
// (attention_core.hpp) with one window [0, end) per query column: the very code RNN attention
// uses. An incremental decoding step (one query per row) also uses attention_core::dot_scores and
// weighted_sum, which only touch the window, so step t costs O(t).
//
// Memory: project_memory() computes K and V once per memory (the encoder output of a source
// batch, for cross-attention; x itself, for self-attention in training). In incremental decoding
// append() adds the keys and values of one new position per row to a self-attention memory,
// growing its capacity by doubling (the only allocations after the first step).
//
// Parameter names: <name>.q_proj.weight (D × D), .q_proj.bias (D), k_proj, v_proj, out_proj
// likewise, <name>.relative_bias.weight (32 × H) with the T5 bias; q/k/v are the three row blocks of PyTorch's in_proj_weight / in_proj_bias.
// Init as nn.Transformer: q/k/v weights xavier_uniform over the packed (3D × D) matrix,
// U(±√(6 / 4D)); out_proj weight xavier U(±√(6 / 2D)); every bias 0 (MultiheadAttention's own
// reset).
#include <optional>
#include <string>
#include <vector>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"
#include "s2s/layers/dropout.hpp"
#include "s2s/layers/linear.hpp"
#include "s2s/layers/relative_position_bias.hpp"

namespace s2s {

// Projected keys and values of one memory, in head blocks.
template <typename Real>
struct MhaMemory {
  uword batch = 0;     // B (rows)
  uword steps = 0;     // S: columns per block (the capacity, for an incremental self-attention)
  arma::uvec lengths;  // (B) real positions of each sequence: keys j < lengths[b] are allowed
  Mat<Real> keys;      // (d_h × S·H·B) unscaled (the queries carry 1/√d_h)
  Mat<Real> values;    // (d_h × S·H·B)
  Mat<Real> spare_keys, spare_values;  // scratch of reorder_memory() and append() growth
};

// ∂L/∂K and ∂L/∂V of a memory, in the same head blocks; begin_backward() sizes and zeroes them.
template <typename Real>
struct MhaMemoryGrad {
  Mat<Real> d_keys;    // (d_h × S·H·B)
  Mat<Real> d_values;  // (d_h × S·H·B)
};

// What forward() keeps for backward().
template <typename Real>
struct MhaCache {
  uword batch = 0, query_steps = 0;  // B, T
  arma::uvec window_end;             // (T·H·B) per query column: allowed keys are [0, end)
  arma::uvec window_begin;           // (T·H·B) all 0
  Mat<Real> queries;                 // (d_h × T·H·B) Q / √d_h in head blocks
  Mat<Real> weights;                 // (S × T·H·B) A
  Mat<Real> dropped;                 // (S × T·H·B) A' = dropout(A); empty without dropout
  DropoutCache<Real> dropout;        // the mask (dropout.hpp), empty without dropout
  Mat<Real> context;                 // (D × T·B) time-major [C_1; …; C_H], out_proj's input
};

// Buffers of incremental steps, sized on first use and then reused (N rows, one query each).
template <typename Real>
struct MhaStepBuffers {
  Mat<Real> query;          // (D × N) W_q x + b_q
  Mat<Real> query_heads;    // (d_h × H·N) scaled, block (h, n) = column h·N + n
  Mat<Real> weights;        // (S × H·N) A of the step, head h = columns [h·N, (h+1)·N)
  arma::uvec window_begin;  // (H·N)
  arma::uvec window_end;    // (H·N)
  Mat<Real> context_heads;  // (d_h × H·N)
  Mat<Real> context;        // (D × N)
  Mat<Real> new_keys, new_values;  // (D × N) append()
};

template <typename Real>
class MultiHeadAttention {
 public:
  // Throws std::invalid_argument unless heads ≥ 1 divides d_model, and 0 ≤ dropout < 1.
  // position_bias ≠ kNone adds a relative position bias to the scores (self-attention only:
  // query t and key j must be positions of one sequence); bidirectional selects the T5 buckets
  // for keys on both sides (encoder) or only j ≤ t (causal decoder).
  MultiHeadAttention(ParamLayout& layout, const std::string& name, uword d_model, uword heads,
                     double attention_dropout,
                     RelativeBiasKind position_bias = RelativeBiasKind::kNone,
                     bool bidirectional = true);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // K and V of the memory input m (D × S·B, time-major), whose sequence b has lengths[b] ≤ S
  // real positions. Overwrites out.
  void project_memory(const ParameterStore<Real>& params, const Mat<Real>& memory_input,
                      const std::vector<uword>& lengths, uword steps, MhaMemory<Real>& out) const;
  // Sizes grad like memory and zeroes it (once per memory, before backward()).
  void begin_backward(const MhaMemory<Real>& memory, MhaMemoryGrad<Real>& grad) const;
  // Adds the K/V projections' parameter gradients, and ∂L/∂m into d_memory_input (D × S·B).
  void project_memory_backward(ParameterStore<Real>& params, const Mat<Real>& memory_input,
                               const MhaMemory<Real>& memory, const MhaMemoryGrad<Real>& grad,
                               Mat<Real>& d_memory_input) const;

  // All T query positions of B sequences at once: query (D × T·B), query_lengths (B) T_b ≤ T.
  // y (D × T·B) is overwritten. Dropout on the weights when training.
  void forward(const ParameterStore<Real>& params, const Mat<Real>& query,
               const std::vector<uword>& query_lengths, const MhaMemory<Real>& memory,
               bool causal, bool training, Rng& rng, MhaCache<Real>& cache, Mat<Real>& y) const;
  // Adds into the parameter gradients, into d_query (D × T·B) and into grad (∂K, ∂V).
  void backward(ParameterStore<Real>& params, const Mat<Real>& query,
                const MhaMemory<Real>& memory, const MhaCache<Real>& cache, const Mat<Real>& dy,
                Mat<Real>& d_query, MhaMemoryGrad<Real>& grad) const;

  // Incremental decoding (inference: no dropout, no gradients).
  // Starts an empty self-attention memory of N rows with room for `capacity` positions.
  void begin_incremental(MhaMemory<Real>& memory, uword rows, uword capacity) const;
  // Appends position lengths[n] of every row n: keys and values of x (D × N).
  void append(const ParameterStore<Real>& params, const Mat<Real>& x, MhaMemory<Real>& memory,
              MhaStepBuffers<Real>& buffers) const;
  // One query per row (D × N) against every allowed key of the memory; y (D × N) overwritten.
  // buffers.weights holds the step's attention weights afterwards. With a relative position
  // bias the query of row n is the memory's last appended position, lengths[n] − 1.
  void step(const ParameterStore<Real>& params, const Mat<Real>& query,
            const MhaMemory<Real>& memory, MhaStepBuffers<Real>& buffers, Mat<Real>& y) const;

  uword d_model() const { return d_model_; }
  uword heads() const { return heads_; }
  uword head_size() const { return head_size_; }
  Real scale() const { return scale_; }

 private:
  uword d_model_, heads_, head_size_;
  Real scale_;  // 1/√d_h
  Linear<Real> q_proj_, k_proj_, v_proj_, out_proj_;
  Dropout<Real> dropout_;
  std::optional<RelativePositionBias<Real>> position_bias_;
};

// Row i of the new memory is row rows[i] of the old one (beam search). Keeps the capacity.
template <typename Real>
void reorder_memory(MhaMemory<Real>& memory, uword heads, const std::vector<uword>& rows);

}  // namespace s2s
