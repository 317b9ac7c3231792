#pragma once
// RnnSeq2Seq's caches (plain structs: what forward keeps for backward, and the decoding state),
// shared by its three source files (rnn_seq2seq.hpp, "Code"). Not a public header.
#include <vector>

#include "s2s/models/rnn_seq2seq.hpp"

namespace s2s {

template <typename Real>
struct RnnSeq2Seq<Real>::EncoderCache {
  std::vector<Index> src;                      // (S·B) time-major, in the vocabulary
  std::vector<Index> src_extended;             // (S·B) copy: as given (extended ids); else empty
  std::vector<uword> lengths;                  // (B)
  uword batch = 0, steps = 0;
  Mat<Real> embedded;                          // (E × S·B)
  Mat<Real> embedded_dropped;                  // (E × S·B) the encoder's input
  DropoutCache<Real> embed_dropout;
  Mat<Real> outputs;                           // (H × S·B) the attention memory
  std::vector<RnnState<Real>> final_states;    // per encoder layer, (H × B)
  RnnStackCache<Real> rnn;
  AttentionKeys<Real> keys;
  Mat<Real> bridge_out;                        // (H × B) tanh bridge output
};

template <typename Real>
struct RnnSeq2Seq<Real>::StepCache {
  Mat<Real> x;                  // (X × N) decoder RNN input, when it is not just e_t
  Mat<Real> gx0;                // (G·H × N) layer 0's input projection from ProjectedEmbeddings
  RnnStackStepCache<Real> rnn;
  AttentionStepCache<Real> attn;
  Mat<Real> context;            // (H × N) c_t
  Mat<Real> weights;            // (S × N) a_t
  Mat<Real> combine_in;         // bahdanau (2H+E × N) [s_t; c_t; e_t]; luong (2H × N) [c_t; s_t]
};

template <typename Real>
struct RnnSeq2Seq<Real>::RnnDecodeState : DecodeState {
  EncoderCache encoder;
  std::vector<RnnState<Real>> states, next;  // per decoder layer (H × N)
  Mat<Real> feed;                            // (H × N) o_{t−1} (input feeding), zeros at t = 0
  Mat<Real> embedded, output, logits;        // (E × N), (H × N), (V × N)
  StepCache step;                            // step.attn.state: the attention state of the
                                             // next step (recurrent variants)
  uword t = 0;
  std::vector<uword> source_of_row;          // which source each row decodes
  // Copy: the extended vocabulary's size, each row's source ids (S × rows, time-major with
  // batch = rows), the step's inputs in the vocabulary, the gate's input and pre-activation.
  uword extended_size = 0;
  std::vector<Index> copy_source, prev_in_vocab;
  Mat<Real> gate_in;
  arma::Row<Real> gate;
  // Decoding tables, when cheaper than per-step products (encode()): the embedding part of the
  // decoder's layer-0 input projection and of Bahdanau's output projection, for every target id.
  Mat<Real> embed_to_gates;                  // (G·H × V) W_ih[:, :E] Emb_tgt, or empty
  Mat<Real> embed_to_output;                 // (H × V) W_o[:, 2H:] Emb_tgt (bahdanau), or empty
  ProjectedEmbeddings projected;             // the step's columns of the two tables
};

// Training: every buffer of forward_backward, kept across batches.
template <typename Real>
struct RnnSeq2Seq<Real>::TrainWorkspace {
  // What this batch runs (plan_batch()).
  uword B = 0, T = 0;
  bool sampling = false;         // scheduled sampling: step t's input is known only at step t
  bool feeding = false;          // Luong input feeding
  bool outputs_in_loop = false;  // o_t computed inside the step loop (sampling or feeding)
  uword step_rows = 0;           // rows of the decoder RNN input fed at each step
  EncoderCache encoder;
  std::vector<RnnState<Real>> initial;            // per decoder layer (H × B), from the bridge
  DecoderRnnCache<Real> rnn;
  std::vector<AttentionStepCache<Real>> attn;     // [t]
  AttentionKeysGrad<Real> attn_grad;
  std::vector<Index> inputs;                      // (T·B) what was fed: y_{t−1} or a sample
  std::vector<Index> step_ids;                    // (B)
  Mat<Real> embedded, embedded_dropped;           // (E × T·B)
  std::vector<DropoutCache<Real>> embed_dropouts; // [t]
  Mat<Real> x;                                    // (I_s × B) the decoder RNN's step input
  Mat<Real> context;                              // (H × T·B) c_t
  Mat<Real> weights;                              // (S × B) a_t of the current step
  Mat<Real> combine_in;  // bahdanau (2H+E × T·B) [s_t; c_t; e_t]; luong (2H × T·B) [c_t; s_t]
  Mat<Real> O, O_dropped, logits, step_logits;    // (H × T·B), (H × T·B), (V × T·B), (V × B)
  DropoutCache<Real> out_dropout;
  CrossEntropyCache<Real> loss;
  Mat<Real> zero_feed;                            // (H × B) o_{−1} = 0
  // backward
  // d_pre (H × T·B) ∂L/∂(W [..] + b) of the output projection, d_combine shaped as combine_in
  Mat<Real> d_logits, d_O_dropped, d_O, d_pre, d_combine;
  Mat<Real> d_embedded_dropped, d_embedded;       // (E × T·B)
  Mat<Real> dx, d_s, d_c;                         // (I_s × B), (H × B), (H × B)
  std::vector<RnnState<Real>> d_initial;
  std::vector<RnnState<Real>> d_final;           // per encoder layer (H × B)
  Mat<Real> d_memory, d_src_dropped, d_src;       // (H × S·B), (E × S·B), (E × S·B)
  // Copy: the gate's input when not combine_in (luong), its pre-activation (1 × T·B), every
  // step's a_t (S × T·B), the loss's cache, ∂/∂gate, ∂/∂(gate input), ∂/∂a_t.
  Mat<Real> gate_in, copy_attention, d_gate_in, d_copy_attention;
  arma::Row<Real> gate, d_gate;
  PointerGeneratorCache<Real> copy;
  // ∂L/∂a_t from outside the attention, (S × T·B) step-major: the coverage loss's and copy's;
  // ∂L/∂cov_t from the coverage loss. Empty when there is none.
  Mat<Real> d_step_weights, d_coverage_state;
};

namespace rnn_seq2seq_detail {

// In place, m = tanh(m) (vectorised activation::tanh).
template <typename Real>
void tanh_inplace(Mat<Real>& m);
// d_pre = d_out ⊙ (1 − out²): the derivative through out = tanh(pre).
template <typename Real>
void tanh_backward(const Mat<Real>& out, const Mat<Real>& d_out, Mat<Real>& d_pre);

template <typename Real>
std::vector<RnnState<Real>> zero_states(uword layers, uword H, uword N, bool lstm) {
  std::vector<RnnState<Real>> states(layers);
  for (auto& s : states) {
    s.h.zeros(H, N);
    if (lstm) s.c.zeros(H, N);
  }
  return states;
}

}  // namespace rnn_seq2seq_detail

}  // namespace s2s
