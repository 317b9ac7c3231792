#pragma once
// RNN attention: every variant behind one interface (the structure of Joey NMT's attention.py,
// with hand-written backward).
//
// Once per source batch, precompute():
//   memory h        (H × S·B)  encoder outputs, time-major (tensor.hpp: column s·B + b)
//   src_mask        (1 × S·B)  0/1, a prefix of ones per sequence (length_mask); S_b = Σ_s mask
//   → AttentionKeys: the memory re-laid out batch-major (sequence b owns the contiguous (· × S)
//     block of columns [b·S, (b+1)·S)), so a step is B GEMVs, and the keys k_j = f(h_j) that do
//     not depend on the query (W_h h_j + b_h, W_a h_j, ...), projected by one GEMM.
// Then per decoder step t, forward():
//   query s_t       (Q × B)
//   e_tj = score(s_t, k_j)          for j in the window of real positions [begin_b, end_b)
//   a_t  = softmax of e_t over the window (max-subtracted, as torch.softmax), EXACTLY 0 at every
//          other position (padding, outside a local window); sums to 1 for global variants
//   c_t  = Σ_j a_tj h_j
//   → context c_t (H × B), weights a_t (S × B)
// Backward mirrors it: backward() per step, in any order, adds into ∂L/∂s_t and into the
// per-batch accumulators ∂L/∂values, ∂L/∂keys; precompute_backward() once per batch adds the
// key projection's parameter gradients and ∂L/∂memory (through both keys and values).
//
// Variants (AttentionConfig::type), by class and header:
//   DotAttention (dot_attention.hpp)
//     dot            e = s'ᵀh, /√H if scaled; s' = s, or W_q s when Q ≠ H
//     luong-dot      e = sᵀh (Q must equal H)
//     luong-general  e = sᵀ W_a h
//   AdditiveAttention (additive_attention.hpp)
//     bahdanau       e = vᵀ tanh(W_s s + W_h h + b_h)
//     luong-concat   e = v_aᵀ tanh(W_a [s; h])
//     monotonic      Raffel et al. 2017, "Online and linear-time attention by enforcing
//                    monotonic alignments": p_tj = σ(vᵀ tanh(W_s s + W_h h_j + b_h) + r),
//                    a_t the expected alignment (recurrent, below); hard at decoding
//     monotonic-chunk  MoChA (Chiu & Raffel 2018): monotonic stops, then softmax attention over
//                    the chunk of w positions ending at the stop (monotonic_alignment.hpp)
//   LocalAttention (local_attention.hpp): general score in the window [p_t − D, p_t + D],
//                  weights × exp(−(j − p_t)²/(2σ²)), σ = D/2
//     luong-local-m  p_t = t
//     luong-local-p  p_t = S_b σ(v_pᵀ tanh(W_p s_t))
// Coverage (AttentionConfig::coverage, See et al. 2017 "Get to the point"; Tu et al. 2016's
// neural coverage): bahdanau and luong-concat add w_c cov_tj inside the tanh, cov_t = Σ_{t'<t} a_t'.
//
// Recurrent variants (coverage, monotonic): step t's weights depend on a state (S × B) carried
// from step t − 1, held in the step's cache (cache.state):
//   coverage   state_t = cov_t = Σ_{t'<t} a_t'       begin: 0        next: state + a_t
//   monotonic  state_t = α_{t−1}, the previous step's stop distribution (its weights; MoChA's
//              weights are the chunk β built on it)    begin: δ_{j,0}  next: α_t
// The caller sets cache.state before forward(): begin_state() at t = 0, next_state(step t − 1's
// cache) after that; backward() must then run for t = T−1 … 0, since ∂L/∂state flows back
// through grad.d_state (∂L/∂(state after step t) on entry, ∂L/∂(state entering t) on return).
// In both, the state after the step is linear in a_t (α_t) with unit slope, so ∂a_t (∂α_t) gets
// ∂state_{t+1}.
// 'none' (no attention) is the decoder's business, not a variant. make_attention()
// (attention_factory.hpp) builds a variant from its config; the scores → mask → softmax →
// weighted-sum core that the variants and multi-head attention share is attention_core.hpp.
//
// Buffers: AttentionStepCache is one plain struct per decoder step (the decoder keeps one per
// step); preallocate() sizes it so forward() never allocates. AttentionKeysGrad holds the
// per-batch accumulators and the scratch of one backward step; begin_backward() sizes and zeroes
// it once per source batch (like zero_grad), backward() throws std::logic_error if it was not.
//
// Use in a decoder (T target steps):
//   attention->precompute(params, encoder_outputs, src_mask, B, S, keys);
//   for t: attention->forward(params, keys, s_t, t, caches[t], context_t, weights_t);
//   attention->begin_backward(keys, keys_grad);
//   for t (reverse): attention->backward(params, keys, caches[t], d_context_t, nullptr,
//                                        d_s_t, keys_grad);
//   attention->precompute_backward(params, keys, keys_grad, d_encoder_outputs);
#include <memory>
#include <string>
#include <vector>

#include "s2s/attention/attention_core.hpp"
#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

// The variants, parsed once from AttentionConfig::type (the config's model.attention).
enum class AttentionType {
  kDot, kBahdanau, kLuongDot, kLuongGeneral, kLuongConcat, kLuongLocalM, kLuongLocalP,
  kMonotonic, kMonotonicChunk
};
inline bool is_monotonic(AttentionType type) {
  return type == AttentionType::kMonotonic || type == AttentionType::kMonotonicChunk;
}
// What a recurrent variant carries from step to step (see above).
enum class AttentionState { kNone, kCoverage, kAlignment };
// Throws std::invalid_argument: "Unknown attention mechanism: X. Valid options: dot, ...".
AttentionType parse_attention_type(const std::string& name);

struct AttentionConfig {
  std::string type = "bahdanau";           // dot | bahdanau | luong-dot | luong-general |
                                           // luong-concat | luong-local-m | luong-local-p |
                                           // monotonic | monotonic-chunk
  std::string name = "decoder.attention";  // parameter name prefix
  uword query_size = 0;                    // Q, the decoder state compared with the memory
  uword memory_size = 0;                   // H, the encoder output size
  uword hidden_size = 0;                   // A: bahdanau, luong-concat, luong-local-p (0: = Q)
  bool scaled = false;                     // dot only: e / √H
  uword window = 5;                        // D ≥ 1, luong-local-*
  bool coverage = false;                   // bahdanau, luong-concat: See et al. coverage
  uword chunk_width = 2;                   // w ≥ 1, monotonic-chunk
};

// Per source batch: the memory and its precomputed keys, batch-major.
template <typename Real>
struct AttentionKeys {
  uword batch = 0;     // B
  uword steps = 0;     // S (padded source length)
  arma::uvec lengths;  // (B) S_b, the real source positions of sequence b
  bool hard = false;   // decoding: monotonic attention attends hard (Raffel et al. §2.3)
  Mat<Real> values;    // (H × S·B) batch-major copy of the memory: h_j of b at b·S + j
  Mat<Real> keys;      // (K × S·B) batch-major projected keys; empty: keys = values
  const Mat<Real>& key_matrix() const { return keys.is_empty() ? values : keys; }
};

// Per source batch: accumulators over all decoder steps, and one step's backward scratch.
template <typename Real>
struct AttentionKeysGrad {
  Mat<Real> d_values;  // (H × S·B) batch-major, ∂L/∂values
  Mat<Real> d_keys;    // (K × S·B) batch-major, ∂L/∂keys; empty when keys = values
  Mat<Real>& d_key_matrix() { return d_keys.is_empty() ? d_values : d_keys; }
  // scratch
  Mat<Real> d_weights;          // (S × B) ∂L/∂a, given plus through the context
  Mat<Real> d_scores;           // (S × B) ∂L/∂e
  Mat<Real> d_proj_query;       // (rows of the projected query × B)
  Mat<Real> d_position;         // (1 × B) local-p: ∂L/∂z, z = v_pᵀ tanh(W_p s)
  Mat<Real> d_position_hidden;  // (A × B) local-p: ∂L/∂(W_p s)
  Mat<Real> d_state;            // (S × B) recurrent variants: ∂L/∂state (see above)
  Mat<Real> d_step_weights;     // (S × B) coverage: ∂L/∂a_t, given plus ∂state_{t+1}
  Mat<Real> d_alignment;        // (S × B) monotonic*: ∂L/∂α_t
  Mat<Real> d_chunk_scores;     // (S × B) monotonic-chunk: ∂L/∂u
};

// One decoder step: everything backward needs.
template <typename Real>
struct AttentionStepCache {
  uword step = 0;             // t
  Mat<Real> query;            // (Q × B) copy of s_t
  Mat<Real> proj_query;       // (rows × B) W_q s (dot, Q ≠ H) or W_s s (additive); else empty
  Mat<Real> hidden;           // (A × S·B) batch-major tanh(W_s s + k_j), additive only
  Mat<Real> probs;            // (S × B) local: the window softmax, before the Gaussian
  Mat<Real> weights;          // (S × B) a_t
  arma::uvec window_begin;    // (B) the softmax ran over positions [begin_b, end_b)
  arma::uvec window_end;      // (B)
  Mat<Real> position;         // (1 × B) local: p_t
  Mat<Real> position_hidden;  // (A × B) local-p: tanh(W_p s_t)
  Mat<Real> state;            // (S × B) recurrent variants: the state entering step t, set by
                              // the caller (begin_state, next_state); empty otherwise
  Mat<Real> noise;            // (S × B) monotonic*, training: added to e before σ, set by the
                              // caller (Raffel et al. §2.5); empty: none
  Mat<Real> alignment;        // (S × B) monotonic*: α_t, the stop distribution (the next state)
  Mat<Real> chunk_scores;     // (S × B) monotonic-chunk: the chunk energies u
  Mat<Real> chunk_log_sums;   // (S × B) monotonic-chunk: log Σ over the chunk ending at k
};

template <typename Real>
class Attention {
 public:
  virtual ~Attention() = default;
  Attention(const Attention&) = delete;
  Attention& operator=(const Attention&) = delete;

  const std::string& type() const { return type_; }
  AttentionType kind() const { return kind_; }
  uword query_size() const { return query_size_; }
  uword memory_size() const { return memory_size_; }
  AttentionState state_kind() const { return state_kind_; }
  bool recurrent() const { return state_kind_ != AttentionState::kNone; }

  // PyTorch nn.Linear init of every parameter: U(−1/√fan_in, 1/√fan_in).
  virtual void init(ParameterStore<Real>& params, Rng& rng) const = 0;

  // Once per source batch. Throws std::invalid_argument on inconsistent shapes or a mask that is
  // not a 0/1 prefix per sequence.
  void precompute(const ParameterStore<Real>& params, const Mat<Real>& memory,
                  const arma::Row<Real>& src_mask, uword batch, uword steps,
                  AttentionKeys<Real>& keys) const;
  // Sizes every buffer of a step cache (optional: forward sizes it on first use).
  void preallocate(AttentionStepCache<Real>& cache, uword batch, uword src_steps) const;
  // One decoder step t. context (H × B) and weights (S × B) are overwritten.
  virtual void forward(const ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                       const Mat<Real>& query, uword step, AttentionStepCache<Real>& cache,
                       Mat<Real>& context, Mat<Real>& weights) const = 0;

  // The state entering step 0 (S × B; empty for non-recurrent variants): coverage 0, monotonic
  // δ_{j,0} (all mass on the first source position; none for an empty source).
  void begin_state(const AttentionKeys<Real>& keys, Mat<Real>& state) const;
  // The state entering step t + 1 from step t's cache. May alias cache.state.
  void next_state(const AttentionStepCache<Real>& cache, Mat<Real>& state) const;

  // Once per source batch, before the first backward(): sizes and zeroes grad.
  void begin_backward(const AttentionKeys<Real>& keys, AttentionKeysGrad<Real>& grad) const;
  // One decoder step. d_context (H × B); d_weights (S × B) or nullptr. Adds into the parameter
  // gradients, into d_query (Q × B), and into grad's accumulators.
  virtual void backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                        const AttentionStepCache<Real>& cache, const Mat<Real>& d_context,
                        const Mat<Real>* d_weights, Mat<Real>& d_query,
                        AttentionKeysGrad<Real>& grad) const = 0;
  // Once per source batch, after every step's backward: adds the key projection's parameter
  // gradients and ∂L/∂memory into d_memory (H × S·B, time-major).
  void precompute_backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                           AttentionKeysGrad<Real>& grad, Mat<Real>& d_memory) const;

 protected:
  // Checks the sizes, and 'scaled' only with type "dot".
  explicit Attention(const AttentionConfig& config);

  // keys.keys from keys.values (batch-major); the default leaves it empty (keys = values).
  virtual void project_keys(const ParameterStore<Real>& params, AttentionKeys<Real>& keys) const {
    keys.keys.reset();
  }
  // Adds the projection's parameter gradients and Wᵀ ∂L/∂keys into grad.d_values.
  virtual void project_keys_backward(ParameterStore<Real>& params, const AttentionKeys<Real>& keys,
                                     AttentionKeysGrad<Real>& grad) const {}
  // Variant buffers beyond query, weights and windows (which the base sizes).
  virtual void preallocate_variant(AttentionStepCache<Real>& cache, uword batch,
                                   uword src_steps) const {}
  virtual void begin_backward_variant(AttentionKeysGrad<Real>& grad, uword batch) const {}

  // Coverage, at the start of backward(): grad.d_step_weights = ∂L/∂a_t, the given
  // d_weights (may be null) plus ∂L/∂state_{t+1} (grad.d_state). Returns what to pass on as the
  // given weight gradient: d_weights itself for non-recurrent variants.
  const Mat<Real>* step_weight_gradient(const Mat<Real>* d_weights,
                                        AttentionKeysGrad<Real>& grad) const;

  // Shared by every forward/backward: shape checks, and the cache sized for this step.
  void check_step(const AttentionKeys<Real>& keys, const Mat<Real>& query,
                  AttentionStepCache<Real>& cache) const;
  void check_backward(const AttentionKeys<Real>& keys, const AttentionStepCache<Real>& cache,
                      const Mat<Real>& d_context, const Mat<Real>* d_weights,
                      const Mat<Real>& d_query, const AttentionKeysGrad<Real>& grad) const;

  std::string type_;
  AttentionType kind_;
  uword query_size_;
  uword memory_size_;
  AttentionState state_kind_ = AttentionState::kNone;  // set by the variant's constructor
};

}  // namespace s2s
