// RnnSeq2Seq's training pass: the teacher-forced loss of a batch and its backward, as named parts
// in the order they run (rnn_seq2seq.hpp's equations; the per-step parts are in
// rnn_seq2seq_step.cpp):
//   encoder forward (encode_batch) → decoder forward → output and loss
//   → output backward → decoder backward → bridge backward → encoder backward
#include <algorithm>
#include <stdexcept>

#include "s2s/data/vocab.hpp"
#include "s2s/core/gemm.hpp"
#include "s2s/models/rnn_seq2seq.hpp"
#include "s2s/models/rnn_seq2seq_caches.hpp"
#include "s2s/models/sequence_loss.hpp"

namespace s2s {

using rnn_seq2seq_detail::tanh_backward;
using rnn_seq2seq_detail::tanh_inplace;
using rnn_seq2seq_detail::zero_states;

template <typename Real>
LossStats RnnSeq2Seq<Real>::forward_backward(const Batch& batch, const LossOptions& options,
                                             bool training, bool compute_gradients, Rng& rng) {
  if (!work_) work_ = std::make_unique<TrainWorkspace>();
  TrainWorkspace& w = *work_;
  gemm::PackCache packs;  // the weights do not change during the call
  gemm::UsePacks use_packs(packs);
  encode_batch(batch.source_ids, batch.source_lengths, batch.source_steps, training, rng,
               w.encoder, w.initial);
  plan_batch(batch, options, training, w);
  decoder_forward(options, training, rng, w);
  LossStats stats = output_forward(batch, options, training, rng, w);
  stats.loss += coverage_loss_forward(batch, options, stats, w);
  if (!compute_gradients) return stats;
  output_backward(batch, options, w);
  decoder_backward(w);
  bridge_backward(w);
  encoder_backward(w);
  return stats;
}

// ---------------------------------------------------------------------------------------------
// Forward

// Scheduled sampling replaces some inputs y_{t−1} by the model's own previous argmax, so the step
// inputs are then known only inside the loop; w.inputs records what was actually fed (the
// embedding's backward needs it). o_t is needed inside the loop with sampling or input feeding;
// otherwise the output projection runs once over all T·B columns after it.
template <typename Real>
void RnnSeq2Seq<Real>::plan_batch(const Batch& batch, const LossOptions& options, bool training,
                                  TrainWorkspace& w) const {
  const uword B = batch.size, T = batch.target_steps;
  w.B = B;
  w.T = T;
  w.sampling = training && options.sampling_ratio > 0;
  w.feeding = flow_ == Flow::kLuong && config_.input_feeding;
  w.outputs_in_loop = flow_ != Flow::kNone && (w.sampling || w.feeding);
  const uword known_rows = w.sampling ? 0 : E_;  // rows of the RNN input known before the loop
  w.step_rows = decoder_input_size_ - known_rows;
  w.inputs = batch.target_input_ids;
  if (copy_gate_)  // copy: target ids past the vocabulary are source tokens, fed as <unk>
    for (Index& id : w.inputs)
      if (static_cast<uword>(id) >= tgt_vocab_) id = Vocab::kUnk;
  w.step_ids.resize(B);
  w.embedded.set_size(E_, T * B);
  w.embedded_dropped.set_size(E_, T * B);
  w.embed_dropouts.resize(T);
  w.O.set_size(H_, T * B);
  w.context.set_size(H_, T * B);
  if (flow_ == Flow::kBahdanau) w.combine_in.set_size(2 * H_ + E_, T * B);
  if (flow_ == Flow::kLuong) w.combine_in.set_size(2 * H_, T * B);
  if (attention_) w.attn.resize(T);
  w.zero_feed.zeros(H_, B);
}

// e_t = dropout_emb(Emb_tgt(inputs_t)) into step t of w.embedded_dropped.
template <typename Real>
void RnnSeq2Seq<Real>::embed_target_step(uword t, bool training, Rng& rng,
                                         TrainWorkspace& w) const {
  const uword B = w.B;
  std::copy(w.inputs.begin() + t * B, w.inputs.begin() + (t + 1) * B, w.step_ids.begin());
  Mat<Real> e = step_view(w.embedded, t, B), ed = step_view(w.embedded_dropped, t, B);
  tgt_embed_->forward(*params_, w.step_ids, e);
  embed_dropout_.forward(e, ed, w.embed_dropouts[t], training, rng);
}

// Scheduled sampling at step t > 0: each real input y_{t−1} becomes argmax of step t − 1's
// logits with probability sampling_ratio.
template <typename Real>
void RnnSeq2Seq<Real>::sample_inputs(uword t, const LossOptions& options, Rng& rng,
                                     TrainWorkspace& w) const {
  const uword B = w.B;
  output_logits(step_view(w.O, t - 1, B), w.step_logits);
  for (uword b = 0; b < B; ++b)
    if (w.inputs[t * B + b] != Vocab::kPad && rng.uniform() < options.sampling_ratio)
      w.inputs[t * B + b] = static_cast<Index>(w.step_logits.col(b).index_max());
}

// The decoder over all T steps: fills w.O (H × T·B) with o_t.
template <typename Real>
void RnnSeq2Seq<Real>::decoder_forward(const LossOptions& options, bool training, Rng& rng,
                                       TrainWorkspace& w) const {
  const ParameterStore<Real>& p = *params_;
  const uword T = w.T;
  if (!w.sampling)
    for (uword t = 0; t < T; ++t) embed_target_step(t, training, rng, w);
  decoder_steps_->begin(p, w.sampling ? nullptr : &w.embedded_dropped, T, w.B, w.initial, w.rnn);
  if (!w.sampling && flow_ == Flow::kNone) w.x.reset();  // no per-step input
  if (!w.sampling && flow_ == Flow::kLuong && !w.feeding) w.x.reset();

  for (uword t = 0; t < T; ++t) {
    if (w.sampling) {
      if (t > 0) sample_inputs(t, options, rng, w);
      embed_target_step(t, training, rng, w);
    }
    switch (flow_) {
      case Flow::kNone: train_step_none(t, training, rng, w); break;
      case Flow::kBahdanau: train_step_bahdanau(t, training, rng, w); break;
      case Flow::kLuong: train_step_luong(t, training, rng, w); break;
    }
    if (w.outputs_in_loop) {  // o_t = tanh(W [..] + b)
      Mat<Real> o = step_view(w.O, t, w.B);
      output_proj_->forward(p, step_view(w.combine_in, t, w.B), o);
      tanh_inplace(o);
    }
  }
  if (flow_ != Flow::kNone && !w.outputs_in_loop) {
    output_proj_->forward(p, w.combine_in, w.O);  // all T·B columns in one GEMM
    tanh_inplace(w.O);
  }
}

// The output layer and the loss over all T·B positions at once.
template <typename Real>
LossStats RnnSeq2Seq<Real>::output_forward(const Batch& batch, const LossOptions& options,
                                           bool training, Rng& rng, TrainWorkspace& w) const {
  dropout_.forward(w.O, w.O_dropped, w.out_dropout, training, rng);
  output_logits(w.O_dropped, w.logits);
  if (copy_gate_) return copy_loss_forward(batch, options, w);
  return sequence_loss_forward(w.logits, batch, options, w.loss);
}

template <typename Real>
const Mat<Real>& RnnSeq2Seq<Real>::copy_gate_input(const Mat<Real>& combine_in,
                                                   const Mat<Real>& embedded,
                                                   Mat<Real>& buffer) const {
  if (flow_ == Flow::kBahdanau) return combine_in;  // [s_t; c_t; e_t]
  buffer.set_size(2 * H_ + E_, combine_in.n_cols);  // luong: [c_t; s_t; e_t]
  buffer.rows(0, 2 * H_ - 1) = combine_in;
  buffer.rows(2 * H_, 2 * H_ + E_ - 1) = embedded;
  return buffer;
}

// The pointer-generator loss (pointer_generator.hpp) of all T·B positions: the gate over the
// gate inputs in one product, the attention weights of every step side by side.
template <typename Real>
LossStats RnnSeq2Seq<Real>::copy_loss_forward(const Batch& batch, const LossOptions& options,
                                              TrainWorkspace& w) const {
  if (options.label_smoothing > 0)
    throw std::invalid_argument("label smoothing is not defined for model.copy (it would spread "
                                "mass over a vocabulary that changes with every source)");
  const uword B = w.B, T = w.T;
  copy_gate_->forward(*params_, copy_gate_input(w.combine_in, w.embedded_dropped, w.gate_in),
                      w.gate);
  w.copy_attention.set_size(w.encoder.steps, T * B);
  for (uword t = 0; t < T; ++t) {
    Mat<Real> a = step_view(w.copy_attention, t, B);
    a = w.attn[t].weights;
  }
  double tokens = 0;
  for (Index y : batch.target_output_ids) tokens += y != Vocab::kPad;
  const double norm = loss_denominator(options, tokens, B);
  LossStats stats;
  stats.loss = pointer_generator_loss(w.logits, w.gate, w.copy_attention,
                                      w.encoder.src_extended, B, batch.target_output_ids,
                                      Vocab::kPad, norm, w.copy);
  stats.nll_sum = stats.loss * norm;
  stats.tokens = static_cast<double>(w.copy.tokens);
  stats.correct = static_cast<double>(w.copy.correct);
  return stats;
}

// ∂L/∂logits into w.d_logits, the gate's parameter gradients, ∂L/∂(gate input) into w.d_gate_in
// (decoder_backward adds it to the combine input's and the embeddings' gradients) and ∂L/∂a_t
// into w.d_step_weights (with the coverage loss's, when that is on).
template <typename Real>
void RnnSeq2Seq<Real>::copy_loss_backward(const Batch& batch, TrainWorkspace& w) {
  const bool alone = w.d_step_weights.is_empty();  // no coverage loss gradient to add to
  pointer_generator_backward(w.copy_attention, w.encoder.src_extended, w.B,
                             batch.target_output_ids, Vocab::kPad, w.copy, w.d_logits, w.d_gate,
                             alone ? w.d_step_weights : w.d_copy_attention);
  if (!alone) w.d_step_weights += w.d_copy_attention;
  const Mat<Real>& gate_in = flow_ == Flow::kBahdanau ? w.combine_in : w.gate_in;
  w.d_gate_in.zeros(gate_in.n_rows, gate_in.n_cols);
  copy_gate_->backward(*params_, gate_in, w.d_gate, &w.d_gate_in);
}

// See et al. 2017: λ Σ_t Σ_j min(a_tj, cov_tj) over the real target steps (cov_t = the state
// entering step t), divided by what the cross-entropy is divided by. Its gradient goes to a_tj
// where a_tj < cov_tj and to cov_tj elsewhere (ties to the coverage, as torch.min's subgradient
// picks one side).
template <typename Real>
double RnnSeq2Seq<Real>::coverage_loss_forward(const Batch& batch, const LossOptions& options,
                                               const LossStats& stats, TrainWorkspace& w) const {
  w.d_step_weights.reset();
  w.d_coverage_state.reset();
  if (options.coverage_loss == 0 || !attention_ ||
      attention_->state_kind() != AttentionState::kCoverage)
    return 0.0;
  const uword B = w.B, T = w.T, S = w.encoder.steps;
  const double denominator = loss_denominator(options, stats.tokens, B);
  const Real scale = static_cast<Real>(options.coverage_loss / denominator);
  w.d_step_weights.zeros(S, T * B);
  w.d_coverage_state.zeros(S, T * B);
  double sum = 0.0;
  for (uword t = 0; t < T; ++t) {
    const Mat<Real>& a = w.attn[t].weights;  // (S × B)
    const Mat<Real>& cov = w.attn[t].state;  // (S × B)
    for (uword b = 0; b < B; ++b) {
      if (batch.target_output_ids[t * B + b] == Vocab::kPad) continue;
      for (uword j = 0; j < w.encoder.keys.lengths[b]; ++j) {
        const bool to_weight = a(j, b) < cov(j, b);
        sum += static_cast<double>(to_weight ? a(j, b) : cov(j, b));
        (to_weight ? w.d_step_weights : w.d_coverage_state)(j, t * B + b) = scale;
      }
    }
  }
  return options.coverage_loss * sum / denominator;
}

// ---------------------------------------------------------------------------------------------
// Backward

template <typename Real>
void RnnSeq2Seq<Real>::output_backward(const Batch& batch, const LossOptions& options,
                                       TrainWorkspace& w) {
  if (copy_gate_)
    copy_loss_backward(batch, w);
  else
    sequence_loss_backward(batch, options, w.loss, w.d_logits);
  output_->backward(*params_, w.O_dropped, w.d_logits, w.d_O_dropped);
  w.d_O.zeros(H_, w.T * w.B);
  dropout_.backward(w.d_O_dropped, w.out_dropout, w.d_O);
}

// From ∂L/∂o_t (w.d_O) back through the steps to the decoder's initial states (w.d_initial),
// the target embeddings and the attention memory (w.d_memory).
template <typename Real>
void RnnSeq2Seq<Real>::decoder_backward(TrainWorkspace& w) {
  ParameterStore<Real>& p = *params_;
  const uword B = w.B, T = w.T;
  w.d_embedded_dropped.zeros(E_, T * B);
  if (copy_gate_ && flow_ == Flow::kLuong)  // the gate's e_t part (bahdanau's is in combine_in)
    w.d_embedded_dropped += w.d_gate_in.rows(2 * H_, 2 * H_ + E_ - 1);
  decoder_steps_->begin_backward(nullptr, w.rnn);
  if (attention_) attention_->begin_backward(w.encoder.keys, w.attn_grad);
  if (flow_ != Flow::kNone) {
    w.d_pre.set_size(H_, T * B);
    w.d_combine.set_size(w.combine_in.n_rows, T * B);
    if (!w.outputs_in_loop) {  // d_O is complete: the output projection's backward in one GEMM
      tanh_backward(w.O, w.d_O, w.d_pre);
      w.d_combine.zeros();
      output_proj_->backward(p, w.combine_in, w.d_pre, &w.d_combine);
      if (copy_gate_) w.d_combine += w.d_gate_in.rows(0, w.combine_in.n_rows - 1);
    }
  }
  const Mat<Real>* w_proj = output_proj_ ? &p.value(output_proj_->weight_id()) : nullptr;
  for (uword t = T; t-- > 0;) {
    if (w.outputs_in_loop) {  // d_o_t is complete now (step t + 1 has added its feed gradient)
      Mat<Real> d_pre = step_view(w.d_pre, t, B), d_combine = step_view(w.d_combine, t, B);
      tanh_backward(step_view(w.O, t, B), step_view(w.d_O, t, B), d_pre);
      gemm::weight_t_product(*w_proj, d_pre, d_combine);
      if (copy_gate_) d_combine += step_view(w.d_gate_in, t, B).rows(0, w.combine_in.n_rows - 1);
    }
    switch (flow_) {
      case Flow::kNone: train_step_backward_none(t, w); break;
      case Flow::kBahdanau: train_step_backward_bahdanau(t, w); break;
      case Flow::kLuong: train_step_backward_luong(t, w); break;
    }
  }
  decoder_steps_->finish_backward(p, w.rnn, w.sampling ? nullptr : &w.d_embedded_dropped,
                                  &w.d_initial);
  if (w.outputs_in_loop) output_proj_->backward(p, w.combine_in, w.d_pre, nullptr);  // ∂W once
  target_embedding_backward(w);
  // The attention memory, summed over all steps: key projection gradients and ∂L/∂h_j.
  w.d_memory.zeros(H_, w.encoder.outputs.n_cols);
  if (attention_) attention_->precompute_backward(p, w.encoder.keys, w.attn_grad, w.d_memory);
}

template <typename Real>
void RnnSeq2Seq<Real>::target_embedding_backward(TrainWorkspace& w) {
  const uword B = w.B, T = w.T;
  w.d_embedded.zeros(E_, T * B);
  for (uword t = 0; t < T; ++t) {
    Mat<Real> d_in = step_view(w.d_embedded, t, B);
    embed_dropout_.backward(step_view(w.d_embedded_dropped, t, B), w.embed_dropouts[t], d_in);
  }
  tgt_embed_->backward(*params_, w.inputs, w.d_embedded);
}

// ∂L/∂(decoder initial states) → ∂L/∂(encoder final states), w.d_final.
template <typename Real>
void RnnSeq2Seq<Real>::bridge_backward(TrainWorkspace& w) {
  const bool lstm = cell_ == RnnCellType::kLstm;
  w.d_final = zero_states<Real>(encoder_->num_layers(), H_, w.B, lstm);
  const std::vector<RnnState<Real>>& d_initial = w.d_initial;
  std::vector<RnnState<Real>>& d_final = w.d_final;
  if (bridge_type_ == Bridge::kCopy) {
    for (uword l = 0; l < d_initial.size(); ++l) {
      const uword to = d_final.size() == d_initial.size() ? l : d_final.size() - 1;
      d_final[to].h += d_initial[l].h;
      if (lstm) d_final[to].c += d_initial[l].c;
    }
  } else if (bridge_type_ == Bridge::kTanh) {  // s_0^l = tanh(W_b h_top + b_b) for every l
    const EncoderCache& enc = w.encoder;
    Mat<Real> d_out(H_, w.B, arma::fill::zeros), d_bridge_pre;
    for (const auto& d : d_initial) d_out += d.h;
    tanh_backward(enc.bridge_out, d_out, d_bridge_pre);
    bridge_->backward(*params_, enc.final_states.back().h, d_bridge_pre, &d_final.back().h);
  }
}

// From ∂L/∂(encoder outputs) (w.d_memory) and ∂L/∂(final states) to the source embeddings.
template <typename Real>
void RnnSeq2Seq<Real>::encoder_backward(TrainWorkspace& w) {
  ParameterStore<Real>& p = *params_;
  const EncoderCache& enc = w.encoder;
  w.d_src_dropped.zeros(E_, enc.embedded.n_cols);
  encoder_->backward(p, enc.embedded_dropped, w.encoder.rnn, &w.d_memory, &w.d_final,
                     &w.d_src_dropped, nullptr);
  w.d_src.zeros(E_, enc.embedded.n_cols);
  embed_dropout_.backward(w.d_src_dropped, enc.embed_dropout, w.d_src);
  src_embed_->backward(p, enc.src, w.d_src);
}

// The member functions defined here (the class itself is instantiated in rnn_seq2seq.cpp).
#define S2S_INSTANTIATE_RNN_TRAINING(Real)                                                      \
  template LossStats RnnSeq2Seq<Real>::forward_backward(const Batch&, const LossOptions&, bool, \
                                                        bool, Rng&);                            \
  template void RnnSeq2Seq<Real>::plan_batch(const Batch&, const LossOptions&, bool,            \
                                             TrainWorkspace&) const;                            \
  template void RnnSeq2Seq<Real>::embed_target_step(uword, bool, Rng&, TrainWorkspace&) const;  \
  template void RnnSeq2Seq<Real>::sample_inputs(uword, const LossOptions&, Rng&,                \
                                                TrainWorkspace&) const;                         \
  template void RnnSeq2Seq<Real>::decoder_forward(const LossOptions&, bool, Rng&,               \
                                                  TrainWorkspace&) const;                       \
  template LossStats RnnSeq2Seq<Real>::output_forward(const Batch&, const LossOptions&, bool,   \
                                                      Rng&, TrainWorkspace&) const;             \
  template const Mat<Real>& RnnSeq2Seq<Real>::copy_gate_input(const Mat<Real>&,                \
                                                               const Mat<Real>&, Mat<Real>&)    \
      const;                                                                                    \
  template LossStats RnnSeq2Seq<Real>::copy_loss_forward(const Batch&, const LossOptions&,      \
                                                         TrainWorkspace&) const;                \
  template void RnnSeq2Seq<Real>::copy_loss_backward(const Batch&, TrainWorkspace&);            \
  template double RnnSeq2Seq<Real>::coverage_loss_forward(const Batch&, const LossOptions&,     \
                                                          const LossStats&, TrainWorkspace&)    \
      const;                                                                                    \
  template void RnnSeq2Seq<Real>::output_backward(const Batch&, const LossOptions&,             \
                                                  TrainWorkspace&);                             \
  template void RnnSeq2Seq<Real>::decoder_backward(TrainWorkspace&);                            \
  template void RnnSeq2Seq<Real>::target_embedding_backward(TrainWorkspace&);                   \
  template void RnnSeq2Seq<Real>::bridge_backward(TrainWorkspace&);                             \
  template void RnnSeq2Seq<Real>::encoder_backward(TrainWorkspace&);
S2S_INSTANTIATE_RNN_TRAINING(float)
S2S_INSTANTIATE_RNN_TRAINING(double)
#undef S2S_INSTANTIATE_RNN_TRAINING

}  // namespace s2s
