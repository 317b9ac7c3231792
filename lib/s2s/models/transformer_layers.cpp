#include "s2s/models/transformer_layers.hpp"

#include <stdexcept>

#include "s2s/core/choice.hpp"

namespace s2s {

NormPlacement parse_norm_placement(const std::string& name) {
  return parse_choice<NormPlacement>("norm", name,
      {{"pre", NormPlacement::kPre}, {"post", NormPlacement::kPost}});
}

// ---------------------------------------------------------------------------------------------
// Residual sub-layer

template <typename Real>
Residual<Real>::Residual(ParamLayout& layout, const std::string& norm_name, uword d_model,
                         NormPlacement norm, double dropout)
    : norm_(layout, norm_name, d_model), placement_(norm), dropout_(dropout) {}

template <typename Real>
void Residual<Real>::enter(const ParameterStore<Real>& params, const Mat<Real>& x,
                           SublayerCache<Real>& cache) const {
  if (placement_ == NormPlacement::kPre)
    norm_.forward(params, x, cache.input, cache.norm);
  else
    cache.input = x;
}

template <typename Real>
void Residual<Real>::leave(const ParameterStore<Real>& params, const Mat<Real>& x, bool training,
                           Rng& rng, SublayerCache<Real>& cache, Mat<Real>& y) const {
  const Mat<Real>* branch = &cache.output;
  if (dropout_.active(training)) {
    dropout_.forward(cache.output, cache.dropped, cache.dropout, training, rng);
    branch = &cache.dropped;
  } else {
    cache.dropout.scale.reset();
  }
  if (placement_ == NormPlacement::kPre) {
    y = x + *branch;
  } else {
    cache.sum = x + *branch;
    norm_.forward(params, cache.sum, y, cache.norm);
  }
}

template <typename Real>
void Residual<Real>::leave_backward(ParameterStore<Real>& params,
                                    const SublayerCache<Real>& cache, const Mat<Real>& dy,
                                    Mat<Real>& dx, Mat<Real>& d_output) const {
  d_output.zeros(arma::size(dy));
  if (placement_ == NormPlacement::kPre) {
    dx += dy;
    dropout_.backward(dy, cache.dropout, d_output);
  } else {
    Mat<Real> d_sum(arma::size(dy), arma::fill::zeros);
    norm_.backward(params, dy, cache.norm, &d_sum);
    dx += d_sum;
    dropout_.backward(d_sum, cache.dropout, d_output);
  }
}

template <typename Real>
void Residual<Real>::enter_backward(ParameterStore<Real>& params,
                                    const SublayerCache<Real>& cache, const Mat<Real>& d_input,
                                    Mat<Real>& dx) const {
  if (placement_ == NormPlacement::kPre)
    norm_.backward(params, d_input, cache.norm, &dx);
  else
    dx += d_input;
}

// ---------------------------------------------------------------------------------------------
// The sub-layers both layer kinds share

namespace {

// y = Sub[SelfAttn](x): keys and values from the sub-layer's own input.
template <typename Real>
void self_attention_forward(const Residual<Real>& residual, const MultiHeadAttention<Real>& attn,
                            const ParameterStore<Real>& params, const Mat<Real>& x,
                            const std::vector<uword>& lengths, bool causal, bool training,
                            Rng& rng, SublayerCache<Real>& sub, MhaMemory<Real>& memory,
                            MhaCache<Real>& cache, Mat<Real>& y) {
  const uword steps = lengths.empty() ? 0 : x.n_cols / lengths.size();
  residual.enter(params, x, sub);
  attn.project_memory(params, sub.input, lengths, steps, memory);
  attn.forward(params, sub.input, lengths, memory, causal, training, rng, cache, sub.output);
  residual.leave(params, x, training, rng, sub, y);
}

template <typename Real>
void self_attention_backward(const Residual<Real>& residual, const MultiHeadAttention<Real>& attn,
                             ParameterStore<Real>& params, const SublayerCache<Real>& sub,
                             const MhaMemory<Real>& memory, const MhaCache<Real>& cache,
                             const Mat<Real>& dy, Mat<Real>& dx) {
  Mat<Real> d_output, d_input(arma::size(dy), arma::fill::zeros);
  residual.leave_backward(params, sub, dy, dx, d_output);
  MhaMemoryGrad<Real> memory_grad;
  attn.begin_backward(memory, memory_grad);
  attn.backward(params, sub.input, memory, cache, d_output, d_input, memory_grad);
  attn.project_memory_backward(params, sub.input, memory, memory_grad, d_input);
  residual.enter_backward(params, sub, d_input, dx);
}

// y = Sub[FFN](x).
template <typename Real>
void feed_forward_forward(const Residual<Real>& residual, const FeedForward<Real>& ffn,
                          const ParameterStore<Real>& params, const Mat<Real>& x, bool training,
                          Rng& rng, SublayerCache<Real>& sub, FeedForwardCache<Real>& cache,
                          Mat<Real>& y) {
  residual.enter(params, x, sub);
  ffn.forward(params, sub.input, training, rng, cache, sub.output);
  residual.leave(params, x, training, rng, sub, y);
}

template <typename Real>
void feed_forward_backward(const Residual<Real>& residual, const FeedForward<Real>& ffn,
                           ParameterStore<Real>& params, const SublayerCache<Real>& sub,
                           const FeedForwardCache<Real>& cache, const Mat<Real>& dy,
                           Mat<Real>& dx) {
  Mat<Real> d_output, d_input(arma::size(dy), arma::fill::zeros);
  residual.leave_backward(params, sub, dy, dx, d_output);
  ffn.backward(params, sub.input, cache, d_output, d_input);
  residual.enter_backward(params, sub, d_input, dx);
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// Encoder layer

template <typename Real>
TransformerEncoderLayer<Real>::TransformerEncoderLayer(ParamLayout& layout,
                                                       const std::string& name,
                                                       const TransformerLayerConfig& config)
    : self_attn_(layout, name + ".self_attn", config.d_model, config.heads,
                 config.attention_dropout, config.position_bias, /*bidirectional=*/true),
      ffn_(layout, name, config.d_model, config.ff_size, config.activation, config.dropout),
      attn_residual_(layout, name + ".norm1", config.d_model, config.norm, config.dropout),
      ffn_residual_(layout, name + ".norm2", config.d_model, config.norm, config.dropout) {}

template <typename Real>
void TransformerEncoderLayer<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  self_attn_.init(params, rng);
  ffn_.init(params, rng);
  attn_residual_.init(params);
  ffn_residual_.init(params);
}

template <typename Real>
void TransformerEncoderLayer<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                                            const std::vector<uword>& lengths, bool training,
                                            Rng& rng, EncoderLayerCache<Real>& c,
                                            Mat<Real>& y) const {
  self_attention_forward(attn_residual_, self_attn_, params, x, lengths, false, training, rng,
                         c.attn_sub, c.self_memory, c.self_attn, c.h);
  feed_forward_forward(ffn_residual_, ffn_, params, c.h, training, rng, c.ffn_sub, c.ffn, y);
}

template <typename Real>
void TransformerEncoderLayer<Real>::backward(ParameterStore<Real>& params,
                                             const EncoderLayerCache<Real>& c, const Mat<Real>& dy,
                                             Mat<Real>& dx) const {
  Mat<Real> d_h(arma::size(dy), arma::fill::zeros);
  feed_forward_backward(ffn_residual_, ffn_, params, c.ffn_sub, c.ffn, dy, d_h);
  self_attention_backward(attn_residual_, self_attn_, params, c.attn_sub, c.self_memory,
                          c.self_attn, d_h, dx);
}

// ---------------------------------------------------------------------------------------------
// Decoder layer

template <typename Real>
TransformerDecoderLayer<Real>::TransformerDecoderLayer(ParamLayout& layout,
                                                       const std::string& name,
                                                       const TransformerLayerConfig& config)
    : self_attn_(layout, name + ".self_attn", config.d_model, config.heads,
                 config.attention_dropout, config.position_bias, /*bidirectional=*/false),
      cross_attn_(layout, name + ".cross_attn", config.d_model, config.heads,
                  config.attention_dropout),
      ffn_(layout, name, config.d_model, config.ff_size, config.activation, config.dropout),
      self_residual_(layout, name + ".norm1", config.d_model, config.norm, config.dropout),
      cross_residual_(layout, name + ".norm2", config.d_model, config.norm, config.dropout),
      ffn_residual_(layout, name + ".norm3", config.d_model, config.norm, config.dropout) {}

template <typename Real>
void TransformerDecoderLayer<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  self_attn_.init(params, rng);
  cross_attn_.init(params, rng);
  ffn_.init(params, rng);
  self_residual_.init(params);
  cross_residual_.init(params);
  ffn_residual_.init(params);
}

template <typename Real>
void TransformerDecoderLayer<Real>::project_memory(const ParameterStore<Real>& params,
                                                   const Mat<Real>& encoder_output,
                                                   const std::vector<uword>& src_lengths,
                                                   uword src_steps,
                                                   MhaMemory<Real>& memory) const {
  cross_attn_.project_memory(params, encoder_output, src_lengths, src_steps, memory);
}

template <typename Real>
void TransformerDecoderLayer<Real>::begin_backward(const MhaMemory<Real>& memory,
                                                   MhaMemoryGrad<Real>& grad) const {
  cross_attn_.begin_backward(memory, grad);
}

template <typename Real>
void TransformerDecoderLayer<Real>::project_memory_backward(ParameterStore<Real>& params,
                                                            const Mat<Real>& encoder_output,
                                                            const MhaMemory<Real>& memory,
                                                            const MhaMemoryGrad<Real>& grad,
                                                            Mat<Real>& d_encoder_output) const {
  cross_attn_.project_memory_backward(params, encoder_output, memory, grad, d_encoder_output);
}

template <typename Real>
void TransformerDecoderLayer<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                                            const std::vector<uword>& tgt_lengths,
                                            const MhaMemory<Real>& memory, bool training,
                                            Rng& rng, DecoderLayerCache<Real>& c,
                                            Mat<Real>& y) const {
  self_attention_forward(self_residual_, self_attn_, params, x, tgt_lengths, true, training, rng,
                         c.self_sub, c.self_memory, c.self_attn, c.h1);

  cross_residual_.enter(params, c.h1, c.cross_sub);
  cross_attn_.forward(params, c.cross_sub.input, tgt_lengths, memory, false, training, rng,
                      c.cross_attn, c.cross_sub.output);
  cross_residual_.leave(params, c.h1, training, rng, c.cross_sub, c.h2);

  feed_forward_forward(ffn_residual_, ffn_, params, c.h2, training, rng, c.ffn_sub, c.ffn, y);
}

template <typename Real>
void TransformerDecoderLayer<Real>::backward(ParameterStore<Real>& params,
                                             const DecoderLayerCache<Real>& c,
                                             const MhaMemory<Real>& memory, const Mat<Real>& dy,
                                             Mat<Real>& dx, MhaMemoryGrad<Real>& memory_grad) const {
  Mat<Real> d_h2(arma::size(dy), arma::fill::zeros);
  feed_forward_backward(ffn_residual_, ffn_, params, c.ffn_sub, c.ffn, dy, d_h2);

  Mat<Real> d_h1(arma::size(dy), arma::fill::zeros), d_output,
      d_input(arma::size(dy), arma::fill::zeros);
  cross_residual_.leave_backward(params, c.cross_sub, d_h2, d_h1, d_output);
  cross_attn_.backward(params, c.cross_sub.input, memory, c.cross_attn, d_output, d_input,
                       memory_grad);
  cross_residual_.enter_backward(params, c.cross_sub, d_input, d_h1);

  self_attention_backward(self_residual_, self_attn_, params, c.self_sub, c.self_memory,
                          c.self_attn, d_h1, dx);
}

template <typename Real>
void TransformerDecoderLayer<Real>::begin_decoding(DecoderLayerState<Real>& state, uword rows,
                                                   uword capacity) const {
  self_attn_.begin_incremental(state.self_memory, rows, capacity);
}

template <typename Real>
void TransformerDecoderLayer<Real>::step(const ParameterStore<Real>& params, const Mat<Real>& x,
                                         DecoderLayerState<Real>& s, Mat<Real>& y) const {
  Rng unused(0);  // no dropout at inference
  self_residual_.enter(params, x, s.self_sub);
  self_attn_.append(params, s.self_sub.input, s.self_memory, s.self_buffers);
  self_attn_.step(params, s.self_sub.input, s.self_memory, s.self_buffers, s.self_sub.output);
  self_residual_.leave(params, x, false, unused, s.self_sub, s.h1);

  cross_residual_.enter(params, s.h1, s.cross_sub);
  cross_attn_.step(params, s.cross_sub.input, s.cross_memory, s.cross_buffers,
                   s.cross_sub.output);
  cross_residual_.leave(params, s.h1, false, unused, s.cross_sub, s.h2);

  feed_forward_forward(ffn_residual_, ffn_, params, s.h2, false, unused, s.ffn_sub, s.ffn, y);
}

template class Residual<float>;
template class Residual<double>;
template class TransformerEncoderLayer<float>;
template class TransformerEncoderLayer<double>;
template class TransformerDecoderLayer<float>;
template class TransformerDecoderLayer<double>;

}  // namespace s2s
