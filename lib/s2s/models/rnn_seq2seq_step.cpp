// The decoder step of each flow (rnn_seq2seq.hpp's equations), in its two versions side by side.
//
// Why two: decoding runs one step on RnnStack's single-step API, optionally with the embedding
// parts of its products looked up in tables (encode()); training runs the step of a whole batch
// on DecoderRnn, whose input projection of e_t and whose weight gradients are one GEMM over all
// T·B columns, writing into (· × T·B) workspace buffers so that the output layer runs once
// after the loop. The equations are the same; only the order of the products differs, so the
// two agree up to rounding (a test compares training's loss with decoding's log-probabilities).
#include "s2s/models/rnn_seq2seq.hpp"

#include "s2s/core/gemm.hpp"
#include "s2s/data/vocab.hpp"
#include "s2s/models/rnn_seq2seq_caches.hpp"

namespace s2s {

using rnn_seq2seq_detail::tanh_inplace;

// ---------------------------------------------------------------------------------------------
// Decoding: one step of N rows

template <typename Real>
void RnnSeq2Seq<Real>::step_forward(const AttentionKeys<Real>* keys, const Mat<Real>& e, uword t,
                                    const std::vector<RnnState<Real>>& prev,
                                    const Mat<Real>& feed, std::vector<RnnState<Real>>& next,
                                    Mat<Real>& o, StepCache& cache, bool training, Rng& rng,
                                    const ProjectedEmbeddings* projected) const {
  const ParameterStore<Real>& p = *params_;
  const uword N = e.n_cols;
  // The decoder RNN on [e_t; x_step] (x_step: Bahdanau's c_t, Luong's o_{t−1}, or nothing).
  // With projected embeddings, layer 0's W_ih [e_t; x_step] = (W_ih[:, :E] e_t, gathered) +
  // W_ih[:, E:] x_step.
  auto rnn_step = [&](const Mat<Real>* x_step) {
    if (projected != nullptr) {
      cache.gx0 = projected->gates;
      if (x_step != nullptr) {
        const Mat<Real>& w_ih = p.value(decoder_->layer(0).cell(0).weight_ih_id());
        gemm::weight_product(columns(w_ih, E_, x_step->n_rows), *x_step, cache.gx0, true);
      }
      decoder_->step_forward_projected(p, cache.gx0, prev, next, cache.rnn, training, rng);
    } else if (x_step != nullptr) {
      cache.x.set_size(decoder_input_size_, N);
      cache.x.rows(0, E_ - 1) = e;
      cache.x.rows(E_, E_ + x_step->n_rows - 1) = *x_step;
      decoder_->step_forward(p, cache.x, prev, next, cache.rnn, training, rng);
    } else {
      decoder_->step_forward(p, e, prev, next, cache.rnn, training, rng);
    }
  };
  switch (flow_) {
    case Flow::kNone:
      rnn_step(nullptr);
      o = next.back().h;
      return;
    case Flow::kBahdanau: {
      attention_->forward(p, *keys, prev.back().h, t, cache.attn, cache.context, cache.weights);
      rnn_step(&cache.context);
      // W_o [s_t; c_t; e_t] = W_o[:, :2H] [s_t; c_t] + (W_o[:, 2H:] e_t, gathered)
      if (projected != nullptr) {
        cache.combine_in.set_size(2 * H_, N);
        cache.combine_in.rows(0, H_ - 1) = next.back().h;
        cache.combine_in.rows(H_, 2 * H_ - 1) = cache.context;
        o = projected->output;
        gemm::weight_product(columns(p.value(output_proj_->weight_id()), 0, 2 * H_),
                             cache.combine_in, o, true);
        o.each_col() += p.value(output_proj_->bias_id()).col(0);
        tanh_inplace(o);
        return;
      }
      cache.combine_in.set_size(2 * H_ + E_, N);
      cache.combine_in.rows(0, H_ - 1) = next.back().h;
      cache.combine_in.rows(H_, 2 * H_ - 1) = cache.context;
      cache.combine_in.rows(2 * H_, 2 * H_ + E_ - 1) = e;
      break;
    }
    case Flow::kLuong: {
      rnn_step(config_.input_feeding ? &feed : nullptr);
      attention_->forward(p, *keys, next.back().h, t, cache.attn, cache.context, cache.weights);
      cache.combine_in.set_size(2 * H_, N);
      cache.combine_in.rows(0, H_ - 1) = cache.context;
      cache.combine_in.rows(H_, 2 * H_ - 1) = next.back().h;
      break;
    }
  }
  output_proj_->forward(p, cache.combine_in, o);
  tanh_inplace(o);
}


// ---------------------------------------------------------------------------------------------
// Training: step t of a batch, forward (t = 0 … T−1, in order)

template <typename Real>
const Mat<Real>& RnnSeq2Seq<Real>::train_step_input(const Mat<Real>& e, const Mat<Real>* extra,
                                                    TrainWorkspace& w) const {
  if (!w.sampling) return extra != nullptr ? *extra : w.x;
  w.x.set_size(w.step_rows, w.B);
  w.x.rows(0, E_ - 1) = e;
  if (extra != nullptr) w.x.rows(E_, w.step_rows - 1) = *extra;
  return w.x;
}

// none:  s_t = RNN(e_t, s_{t−1});  o_t = s_t
template <typename Real>
void RnnSeq2Seq<Real>::train_step_none(uword t, bool training, Rng& rng, TrainWorkspace& w) const {
  const ParameterStore<Real>& p = *params_;
  const Mat<Real> e = step_view(w.embedded_dropped, t, w.B);
  decoder_steps_->step_forward(p, t, train_step_input(e, nullptr, w), w.rnn, training, rng);
  Mat<Real> o = step_view(w.O, t, w.B);
  o = decoder_steps_->top_state(w.rnn, t + 1);
}

// bahdanau:  c_t = Attn(s_{t−1});  s_t = RNN([e_t; c_t], s_{t−1});  combine_in_t = [s_t; c_t; e_t]
template <typename Real>
void RnnSeq2Seq<Real>::train_step_bahdanau(uword t, bool training, Rng& rng,
                                           TrainWorkspace& w) const {
  const Mat<Real> e = step_view(w.embedded_dropped, t, w.B);
  Mat<Real> c = step_view(w.context, t, w.B), combine = step_view(w.combine_in, t, w.B);
  train_attention_inputs(t, training, rng, w);
  attention_->forward(*params_, w.encoder.keys, decoder_steps_->top_state(w.rnn, t), t, w.attn[t],
                      c, w.weights);
  decoder_steps_->step_forward(*params_, t, train_step_input(e, &c, w), w.rnn, training, rng);
  combine.rows(0, H_ - 1) = decoder_steps_->top_state(w.rnn, t + 1);
  combine.rows(H_, 2 * H_ - 1) = c;
  combine.rows(2 * H_, 2 * H_ + E_ - 1) = e;
}

// luong:  s_t = RNN([e_t; o_{t−1}] or e_t, s_{t−1});  c_t = Attn(s_t);  combine_in_t = [c_t; s_t]
template <typename Real>
void RnnSeq2Seq<Real>::train_step_luong(uword t, bool training, Rng& rng,
                                        TrainWorkspace& w) const {
  const ParameterStore<Real>& p = *params_;
  const Mat<Real> feed = t > 0 ? step_view(w.O, t - 1, w.B) : w.zero_feed;
  const Mat<Real>* extra = w.feeding ? &feed : nullptr;
  const Mat<Real> e = step_view(w.embedded_dropped, t, w.B);
  decoder_steps_->step_forward(p, t, train_step_input(e, extra, w), w.rnn, training, rng);
  const Mat<Real> s = decoder_steps_->top_state(w.rnn, t + 1);
  Mat<Real> c = step_view(w.context, t, w.B), combine = step_view(w.combine_in, t, w.B);
  train_attention_inputs(t, training, rng, w);
  attention_->forward(p, w.encoder.keys, s, t, w.attn[t], c, w.weights);
  combine.rows(0, H_ - 1) = c;
  combine.rows(H_, 2 * H_ - 1) = s;
}

// ---------------------------------------------------------------------------------------------
// Training: step t of a batch, backward (t = T−1 … 0). On entry step t's d_o is complete (step
// t + 1 has added its feed gradient) and so is d_combine when the output projection ran after
// the loop; with sampling, the step's input gradient goes to d_e as well.

template <typename Real>
void RnnSeq2Seq<Real>::train_step_backward_none(uword t, TrainWorkspace& w) {
  ParameterStore<Real>& p = *params_;
  Mat<Real> d_o = step_view(w.d_O, t, w.B);
  decoder_steps_->step_backward(p, t, &d_o, w.dx, w.rnn);
  if (w.sampling) {
    Mat<Real> d_e = step_view(w.d_embedded_dropped, t, w.B);
    d_e += w.dx;
  }
}

template <typename Real>
void RnnSeq2Seq<Real>::train_step_backward_bahdanau(uword t, TrainWorkspace& w) {
  ParameterStore<Real>& p = *params_;
  const uword B = w.B;
  Mat<Real> d_e = step_view(w.d_embedded_dropped, t, B);
  const Mat<Real> d_combine = step_view(w.d_combine, t, B);  // ∂[s_t; c_t; e_t]
  w.d_s = d_combine.rows(0, H_ - 1);
  w.d_c = d_combine.rows(H_, 2 * H_ - 1);
  d_e += d_combine.rows(2 * H_, 2 * H_ + E_ - 1);
  decoder_steps_->step_backward(p, t, &w.d_s, w.dx, w.rnn);  // ∂x_t, x_t = [e_t;] c_t
  if (w.sampling) {
    d_e += w.dx.rows(0, E_ - 1);
    w.d_c += w.dx.rows(E_, E_ + H_ - 1);
  } else {
    w.d_c += w.dx;
  }
  // c_t = Attn(s_{t−1}): the query gradient goes to s_{t−1}, the top state entering step t.
  train_attention_backward(t, decoder_steps_->d_top_state(w.rnn), w);
}

template <typename Real>
void RnnSeq2Seq<Real>::train_step_backward_luong(uword t, TrainWorkspace& w) {
  ParameterStore<Real>& p = *params_;
  const uword B = w.B;
  Mat<Real> d_e = step_view(w.d_embedded_dropped, t, B);
  const Mat<Real> d_combine = step_view(w.d_combine, t, B);  // ∂[c_t; s_t]
  w.d_c = d_combine.rows(0, H_ - 1);
  w.d_s = d_combine.rows(H_, 2 * H_ - 1);
  train_attention_backward(t, w.d_s, w);
  decoder_steps_->step_backward(p, t, &w.d_s, w.dx, w.rnn);  // ∂x_t, x_t = [e_t;] [o_{t−1}]
  if (w.sampling) d_e += w.dx.rows(0, E_ - 1);
  if (w.feeding && t > 0) {  // o_{t−1} fed step t: its gradient is complete before step t − 1
    Mat<Real> d_feed = step_view(w.d_O, t - 1, B);
    if (w.sampling)
      d_feed += w.dx.rows(E_, E_ + H_ - 1);
    else
      d_feed += w.dx;
  }
}

// Recurrent variants: the state from step t − 1. Monotonic attention in training: the
// pre-sigmoid noise (Raffel et al. §2.5), drawn from the training Rng as dropout is.
template <typename Real>
void RnnSeq2Seq<Real>::train_attention_inputs(uword t, bool training, Rng& rng,
                                              TrainWorkspace& w) const {
  AttentionStepCache<Real>& cache = w.attn[t];
  if (attention_->recurrent()) {
    if (t == 0)
      attention_->begin_state(w.encoder.keys, cache.state);
    else
      attention_->next_state(w.attn[t - 1], cache.state);
  }
  if (training && is_monotonic(attention_->kind()) && config_.monotonic_noise > 0) {
    cache.noise.set_size(w.encoder.steps, w.B);
    rng.fill_normal(cache.noise, 0.0, config_.monotonic_noise);
  } else {
    cache.noise.reset();
  }
}

// ∂L/∂c_t is in w.d_c. The coverage loss and copy add ∂/∂a_t as the given weight gradient; the
// coverage loss adds ∂/∂cov_t to ∂L/∂cov_t once the step's backward has turned ∂L/∂cov_{t+1}
// into it.
template <typename Real>
void RnnSeq2Seq<Real>::train_attention_backward(uword t, Mat<Real>& d_query, TrainWorkspace& w) {
  const bool step_weights = !w.d_step_weights.is_empty();
  // A local view: assigning a view to a workspace member would move its borrowed pointer there
  // (Armadillo steals a strict view's memory on move), to dangle once the buffer is resized.
  const Mat<Real> d_weights = step_weights ? step_view(w.d_step_weights, t, w.B) : Mat<Real>();
  attention_->backward(*params_, w.encoder.keys, w.attn[t], w.d_c,
                       step_weights ? &d_weights : nullptr, d_query, w.attn_grad);
  if (!w.d_coverage_state.is_empty())
    w.attn_grad.d_state += step_view(w.d_coverage_state, t, w.B);
}

// The member functions defined here (the class itself is instantiated in rnn_seq2seq.cpp).
#define S2S_INSTANTIATE_RNN_STEPS(Real)                                                          \
  template void RnnSeq2Seq<Real>::step_forward(                                                  \
      const AttentionKeys<Real>*, const Mat<Real>&, uword, const std::vector<RnnState<Real>>&,   \
      const Mat<Real>&, std::vector<RnnState<Real>>&, Mat<Real>&, StepCache&, bool, Rng&,        \
      const ProjectedEmbeddings*) const;                                                         \
  template const Mat<Real>& RnnSeq2Seq<Real>::train_step_input(const Mat<Real>&,                \
                                                                const Mat<Real>*,                \
                                                                TrainWorkspace&) const;          \
  template void RnnSeq2Seq<Real>::train_step_none(uword, bool, Rng&, TrainWorkspace&) const;     \
  template void RnnSeq2Seq<Real>::train_step_bahdanau(uword, bool, Rng&, TrainWorkspace&) const; \
  template void RnnSeq2Seq<Real>::train_step_luong(uword, bool, Rng&, TrainWorkspace&) const;    \
  template void RnnSeq2Seq<Real>::train_step_backward_none(uword, TrainWorkspace&);              \
  template void RnnSeq2Seq<Real>::train_step_backward_bahdanau(uword, TrainWorkspace&);          \
  template void RnnSeq2Seq<Real>::train_step_backward_luong(uword, TrainWorkspace&);             \
  template void RnnSeq2Seq<Real>::train_attention_inputs(uword, bool, Rng&, TrainWorkspace&)     \
      const;                                                                                     \
  template void RnnSeq2Seq<Real>::train_attention_backward(uword, Mat<Real>&, TrainWorkspace&);
S2S_INSTANTIATE_RNN_STEPS(float)
S2S_INSTANTIATE_RNN_STEPS(double)
#undef S2S_INSTANTIATE_RNN_STEPS

}  // namespace s2s
