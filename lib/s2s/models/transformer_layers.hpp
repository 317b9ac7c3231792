#pragma once
// Transformer encoder and decoder layers (Vaswani et al. 2017), as
// torch.nn.TransformerEncoderLayer / TransformerDecoderLayer with norm_first = (norm == pre).
//
// Every sub-layer f (self-attention, cross-attention, feed-forward) sits in a residual branch
// with dropout p = dropout on its output, and a layer norm before (pre) or after (post):
//   pre:   y = x + dropout(f(LN(x)))          (a pre-norm stack ends with a final LN: the model's)
//   post:  y = LN(x + dropout(f(x)))
// Encoder layer:  h = Sub_1[SelfAttn(·, padding mask)](x);  y = Sub_2[FFN](h)
// Decoder layer:  h_1 = Sub_1[SelfAttn(·, padding + causal mask)](x)
//                 h_2 = Sub_2[CrossAttn(·, memory = encoder output, source padding mask)](h_1)
//                 y   = Sub_3[FFN](h_2)
// Shapes: x, y, h (D × T·B) time-major (tensor.hpp); lengths (B). Attention: multi_head_attention.hpp,
// FFN: feed_forward.hpp, LN: layer_norm.hpp.
// Backward through a sub-layer, given ∂y:
//   pre:   ∂x += ∂y;  ∂f_out = dropout'(∂y);  ∂x += LN'(∂f_in)          (∂f_in from f's backward)
//   post:  ∂s = LN'(∂y);  ∂x += ∂s;  ∂f_out = dropout'(∂s);  ∂x += ∂f_in
// Parameter names: <name>.self_attn.*, <name>.cross_attn.* (decoder), <name>.linear1.*,
// <name>.linear2.*, <name>.norm1.*, <name>.norm2.*, <name>.norm3.* (decoder): PyTorch's, except
// cross_attn for its multihead_attn.
//
// Incremental decoding: a DecoderLayerState holds the self-attention keys/values of every past
// position (grown by append) and the cross-attention keys/values of the encoder output
// (projected once by project_memory); step() runs one position per row in O(t).
#include <string>
#include <vector>

#include "s2s/attention/multi_head_attention.hpp"
#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"
#include "s2s/layers/dropout.hpp"
#include "s2s/layers/feed_forward.hpp"
#include "s2s/layers/layer_norm.hpp"

namespace s2s {

enum class NormPlacement { kPre, kPost };

// "pre" | "post"; otherwise "Unknown norm: X. Valid options: pre, post".
NormPlacement parse_norm_placement(const std::string& name);

struct TransformerLayerConfig {
  uword d_model = 0;
  uword heads = 1;
  uword ff_size = 0;
  NormPlacement norm = NormPlacement::kPre;
  FeedForwardActivation activation = FeedForwardActivation::kRelu;
  double dropout = 0.0;            // residual branches and the FFN's hidden layer
  double attention_dropout = 0.0;  // attention weights
  // Relative positions (model.positions = alibi | t5) on the self-attention scores: symmetric /
  // bidirectional buckets in the encoder, causal in the decoder; cross-attention gets none.
  RelativeBiasKind position_bias = RelativeBiasKind::kNone;
};

// One residual sub-layer: what its forward keeps.
template <typename Real>
struct SublayerCache {
  Mat<Real> input;    // (D × N) f's input: LN(x) (pre) or a copy of x (post)
  Mat<Real> output;   // (D × N) f(input)
  Mat<Real> dropped;  // (D × N) dropout(output), when dropout was active
  DropoutCache<Real> dropout;
  Mat<Real> sum;      // (D × N) post: x + dropout(output), the layer norm's input
  LayerNormCache<Real> norm;
};

// The residual wrapper "x + dropout(f(·))" with its layer norm before or after.
template <typename Real>
class Residual {
 public:
  Residual(ParamLayout& layout, const std::string& norm_name, uword d_model, NormPlacement norm,
           double dropout);
  void init(ParameterStore<Real>& params) const { norm_.init(params); }

  // Fills cache.input with f's input.
  void enter(const ParameterStore<Real>& params, const Mat<Real>& x,
             SublayerCache<Real>& cache) const;
  // y = x + dropout(cache.output) (pre) or LN(x + dropout(cache.output)) (post); y must not be x.
  void leave(const ParameterStore<Real>& params, const Mat<Real>& x, bool training, Rng& rng,
             SublayerCache<Real>& cache, Mat<Real>& y) const;
  // Adds ∂y's residual part into dx; d_output (overwritten) is ∂L/∂f(input).
  void leave_backward(ParameterStore<Real>& params, const SublayerCache<Real>& cache,
                      const Mat<Real>& dy, Mat<Real>& dx, Mat<Real>& d_output) const;
  // Adds ∂L/∂x through f's input into dx, given d_input = ∂L/∂input.
  void enter_backward(ParameterStore<Real>& params, const SublayerCache<Real>& cache,
                      const Mat<Real>& d_input, Mat<Real>& dx) const;

 private:
  LayerNorm<Real> norm_;
  NormPlacement placement_;
  Dropout<Real> dropout_;
};

template <typename Real>
struct EncoderLayerCache {
  SublayerCache<Real> attn_sub, ffn_sub;
  MhaMemory<Real> self_memory;  // keys/values of the layer's own positions
  MhaCache<Real> self_attn;
  FeedForwardCache<Real> ffn;
  Mat<Real> h;                  // (D × T·B) after the self-attention sub-layer
};

template <typename Real>
class TransformerEncoderLayer {
 public:
  TransformerEncoderLayer(ParamLayout& layout, const std::string& name,
                          const TransformerLayerConfig& config);
  void init(ParameterStore<Real>& params, Rng& rng) const;

  // x, y (D × S·B); lengths (B) the real source positions. y is overwritten.
  void forward(const ParameterStore<Real>& params, const Mat<Real>& x,
               const std::vector<uword>& lengths, bool training, Rng& rng,
               EncoderLayerCache<Real>& cache, Mat<Real>& y) const;
  // Adds into the parameter gradients and into dx (D × S·B).
  void backward(ParameterStore<Real>& params, const EncoderLayerCache<Real>& cache,
                const Mat<Real>& dy, Mat<Real>& dx) const;

 private:
  MultiHeadAttention<Real> self_attn_;
  FeedForward<Real> ffn_;
  Residual<Real> attn_residual_, ffn_residual_;
};

template <typename Real>
struct DecoderLayerCache {
  SublayerCache<Real> self_sub, cross_sub, ffn_sub;
  MhaMemory<Real> self_memory;
  MhaCache<Real> self_attn, cross_attn;
  FeedForwardCache<Real> ffn;
  Mat<Real> h1, h2;  // (D × T·B) after the self- and cross-attention sub-layers
};

// Incremental decoding of one layer: caches and buffers, sized on the first step.
template <typename Real>
struct DecoderLayerState {
  MhaMemory<Real> self_memory;   // keys/values of positions 0 … t−1 (then t, after append)
  MhaMemory<Real> cross_memory;  // keys/values of the encoder output
  MhaStepBuffers<Real> self_buffers, cross_buffers;  // cross_buffers.weights: last step's A
  SublayerCache<Real> self_sub, cross_sub, ffn_sub;
  FeedForwardCache<Real> ffn;
  Mat<Real> h1, h2;              // (D × N)
};

template <typename Real>
class TransformerDecoderLayer {
 public:
  TransformerDecoderLayer(ParamLayout& layout, const std::string& name,
                          const TransformerLayerConfig& config);
  void init(ParameterStore<Real>& params, Rng& rng) const;

  // Cross-attention keys/values of the encoder output (D × S·B), source lengths (B).
  void project_memory(const ParameterStore<Real>& params, const Mat<Real>& encoder_output,
                      const std::vector<uword>& src_lengths, uword src_steps,
                      MhaMemory<Real>& memory) const;
  void begin_backward(const MhaMemory<Real>& memory, MhaMemoryGrad<Real>& grad) const;
  // Adds the cross K/V projections' gradients and ∂L/∂encoder_output (D × S·B).
  void project_memory_backward(ParameterStore<Real>& params, const Mat<Real>& encoder_output,
                               const MhaMemory<Real>& memory, const MhaMemoryGrad<Real>& grad,
                               Mat<Real>& d_encoder_output) const;

  // x, y (D × T·B) teacher-forced target positions; tgt_lengths (B). y is overwritten.
  void forward(const ParameterStore<Real>& params, const Mat<Real>& x,
               const std::vector<uword>& tgt_lengths, const MhaMemory<Real>& memory,
               bool training, Rng& rng, DecoderLayerCache<Real>& cache, Mat<Real>& y) const;
  // Adds into the parameter gradients, into dx (D × T·B) and into memory_grad.
  void backward(ParameterStore<Real>& params, const DecoderLayerCache<Real>& cache,
                const MhaMemory<Real>& memory, const Mat<Real>& dy, Mat<Real>& dx,
                MhaMemoryGrad<Real>& memory_grad) const;

  // Incremental decoding. begin_decoding() empties the self-attention cache for N rows (with
  // room for `capacity` steps before it grows); state.cross_memory must be projected already.
  void begin_decoding(DecoderLayerState<Real>& state, uword rows, uword capacity) const;
  // One step: x, y (D × N), the input and output of this layer at position t = the number of
  // steps run so far. y is overwritten.
  void step(const ParameterStore<Real>& params, const Mat<Real>& x, DecoderLayerState<Real>& state,
            Mat<Real>& y) const;

  uword heads() const { return self_attn_.heads(); }

 private:
  MultiHeadAttention<Real> self_attn_, cross_attn_;
  FeedForward<Real> ffn_;
  Residual<Real> self_residual_, cross_residual_, ffn_residual_;
};

}  // namespace s2s
