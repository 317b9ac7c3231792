#pragma once
// The small RNN encoder-decoders of the whole-model tests (test_rnn_seq2seq.cpp,
// test_copy_model.cpp) and their gradient check.
#include <catch2/catch.hpp>

#include <string>

#include "gradcheck.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/models/rnn_seq2seq.hpp"

namespace s2s::testing {

// A padded batch of 3 pairs with unequal source and target lengths over a vocabulary of 7.
inline Batch tiny_batch() {
  std::vector<SequencePair> pairs = {
      {{4, 5, 6, 4}, {5, 6}}, {{6, 5}, {4, 4, 6}}, {{5, 4, 6}, {6}}};
  return make_batch(pairs, {0, 1, 2});
}

inline ModelConfig tiny_config(const std::string& cell, const std::string& attention, bool bi) {
  ModelConfig c;
  c.cell = cell;
  c.attention = attention;
  c.bidirectional = bi;
  c.embed_size = 3;
  c.hidden_size = 4;
  c.encoder_layers = 1;
  c.decoder_layers = 1;
  c.bridge = "tanh";
  c.local_window = 2;
  c.dropout = 0.0;
  return c;
}

// Every parameter gradient of forward_backward on `batch` (tiny_batch() by default) against
// finite differences, with the model's weights doubled.
inline void check_model_gradients(const ModelConfig& config, const LossOptions& options,
                                  bool with_dropout, const Batch& batch = tiny_batch(),
                                  uword vocab = 7) {
  RnnSeq2Seq<double> model(config, vocab, vocab);
  Rng init_rng(11);
  model.init(init_rng);
  // Larger weights than the default init make attention sharper and its gradients larger.
  model.params().values() *= 2.0;
  // Monotonic attention's offset r starts at −4 (Raffel et al.): alignments so spread that the
  // gradients are too small for the finite differences' relative error. 0 sharpens them.
  if (config.attention.rfind("monotonic", 0) == 0)
    model.params().value(model.params().layout().find("decoder.attention.r")).zeros();
  // Scheduled sampling feeds argmaxes back; a sampled pad would be an input whose embedding
  // row, by the padding_idx convention, gets no gradient. A low pad logit keeps it out.
  if (options.sampling_ratio > 0)
    model.params().value(model.params().layout().find("decoder.output.bias"))(Vocab::kPad) = -30;
  // The same dropout masks at every evaluation: a fresh Rng with the same seed.
  auto loss = [&] {
    Rng rng(5);
    return model.forward_backward(batch, options, with_dropout, false, rng).loss;
  };
  model.params().zero_grad();
  Rng rng(5);
  model.forward_backward(batch, options, with_dropout, true, rng);
  check_parameter_gradients(model.params(), loss, kGradTolerance, 1e-4);
}

}  // namespace s2s::testing
