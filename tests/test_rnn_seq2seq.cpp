// Whole-model tests of the RNN encoder-decoder: a gradient check for every cell × attention ×
// encoder direction, and decoding invariants.
#include <catch2/catch.hpp>
#include <memory>

#include "gradcheck.hpp"
#include "rnn_model_helpers.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/models/model_factory.hpp"
#include "s2s/training/param_io.hpp"

#include <unistd.h>
#include <cstdio>
#include "s2s/models/rnn_seq2seq.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

// A bi-GRU with Bahdanau attention and coverage, initialised from `seed`.
std::unique_ptr<RnnSeq2Seq<double>> coverage_model(std::uint64_t seed) {
  ModelConfig c = tiny_config("gru", "bahdanau", true);
  c.coverage = true;
  auto model = std::make_unique<RnnSeq2Seq<double>>(c, 7, 7);
  Rng init(seed);
  model->init(init);
  return model;
}

}  // namespace

TEST_CASE("RNN seq2seq gradients match finite differences for every cell, attention and encoder",
          "[rnn_seq2seq][gradcheck]") {
  const std::vector<std::string> attentions = {"none",          "dot",          "bahdanau",
                                               "luong-dot",     "luong-general", "luong-concat",
                                               "luong-local-m", "luong-local-p", "monotonic",
                                               "monotonic-chunk"};
  LossOptions options;
  options.label_smoothing = 0.1;
  for (const std::string cell : {"gru", "lstm"})
    for (const std::string& attention : attentions)
      for (bool bi : {false, true}) {
        INFO("cell " << cell << " attention " << attention << (bi ? " bi" : " uni"));
        check_model_gradients(tiny_config(cell, attention, bi), options, false);
      }
}

TEST_CASE("RNN seq2seq gradients with depth, dropout, copy bridge, no input feeding and tied "
          "embeddings",
          "[rnn_seq2seq][gradcheck]") {
  LossOptions options;
  options.normalization = LossNormalization::sentences;
  for (const std::string cell : {"gru", "lstm"}) {
    ModelConfig c = tiny_config(cell, "luong-general", true);
    c.encoder_layers = 2;
    c.decoder_layers = 2;
    c.dropout = 0.3;
    c.embed_dropout = 0.2;
    c.bridge = "copy";
    c.input_feeding = false;
    INFO("deep " << cell);
    check_model_gradients(c, options, true);

    ModelConfig t = tiny_config(cell, "bahdanau", false);
    t.embed_size = 4;
    t.tie_embeddings = true;
    t.bridge = "zero";
    INFO("tied " << cell);
    check_model_gradients(t, options, false);
  }
}

TEST_CASE("RNN seq2seq gradients with coverage and the coverage loss",
          "[rnn_seq2seq][coverage][gradcheck]") {
  for (const std::string cell : {"gru", "lstm"})
    for (const std::string attention : {"bahdanau", "luong-concat"})
      for (double coverage_loss : {0.0, 0.7}) {
        ModelConfig c = tiny_config(cell, attention, true);
        c.coverage = true;
        LossOptions options;
        options.coverage_loss = coverage_loss;
        INFO(cell << " " << attention << " coverage loss " << coverage_loss);
        check_model_gradients(c, options, false);
      }
}

TEST_CASE("RNN seq2seq gradients with monotonic attention's pre-sigmoid training noise",
          "[rnn_seq2seq][monotonic][gradcheck]") {
  // training = true draws the noise (a constant of the gradient: the same Rng seed each time).
  for (const std::string cell : {"gru", "lstm"}) {
    ModelConfig c = tiny_config(cell, "monotonic", true);
    c.monotonic_noise = 1.0;
    INFO(cell);
    check_model_gradients(c, LossOptions{}, true);
  }
  // The noise is drawn in training only, and changes the loss.
  ModelConfig c = tiny_config("gru", "monotonic", false);
  RnnSeq2Seq<double> model(c, 7, 7);
  Rng init(2);
  model.init(init);
  const Batch batch = tiny_batch();
  Rng r1(1), r2(1), r3(1);
  const double eval = model.forward_backward(batch, LossOptions{}, false, false, r1).loss;
  const double noisy = model.forward_backward(batch, LossOptions{}, true, false, r2).loss;
  c.monotonic_noise = 0.0;
  RnnSeq2Seq<double> quiet(c, 7, 7);
  quiet.params().values() = model.params().values();
  CHECK(quiet.forward_backward(batch, LossOptions{}, true, false, r3).loss == eval);
  CHECK(noisy != eval);
}

TEST_CASE("The coverage loss's gradients are the same batch after batch of other shapes",
          "[rnn_seq2seq][coverage]") {
  // Regression: a workspace member once borrowed the coverage-gradient buffer, which the next
  // batch's shape reallocated: silent here, a heap corruption on G2P (the result must repeat, and
  // scripts/test.sh --sanitize would flag the access).
  const auto owned = coverage_model(6);
  RnnSeq2Seq<double>& model = *owned;
  LossOptions options;
  options.coverage_loss = 1.0;
  const Batch big = tiny_batch();
  const Batch small = make_batch({{{4, 5}, {6}}}, {0});
  auto gradient = [&](const Batch& batch) {
    model.params().zero_grad();
    Rng rng(1);
    model.forward_backward(batch, options, false, true, rng);
    return arma::vec(model.params().grads());
  };
  const arma::vec first = gradient(big);
  gradient(small);
  gradient(big);
  gradient(small);
  CHECK(arma::approx_equal(gradient(big), first, "absdiff", 0.0));
}

TEST_CASE("The coverage loss is lambda times the summed min(attention, coverage)",
          "[rnn_seq2seq][coverage]") {
  const auto owned = coverage_model(4);
  RnnSeq2Seq<double>& model = *owned;
  const Batch batch = tiny_batch();
  LossOptions off, on;
  on.coverage_loss = 0.5;
  Rng r1(1), r2(1);
  const LossStats a = model.forward_backward(batch, off, false, false, r1);
  const LossStats b = model.forward_backward(batch, on, false, false, r2);
  CHECK(b.nll_sum == a.nll_sum);
  // The same sum from decoding, step by step with the reference inputs (teacher forcing).
  auto state = model.encode(batch.source_ids, batch.source_lengths, batch.source_steps);
  const uword B = batch.size;
  arma::mat coverage(batch.source_steps, B, arma::fill::zeros), log_probs;
  double sum = 0;
  for (uword t = 0; t < batch.target_steps; ++t) {
    std::vector<Index> inputs(batch.target_input_ids.begin() + t * B,
                              batch.target_input_ids.begin() + (t + 1) * B);
    model.decode_step(*state, inputs, log_probs);
    const arma::mat a_t = model.attention(*state).weights.at(0).at(0);
    for (uword col = 0; col < B; ++col)
      if (batch.target_output_ids[t * B + col] != Vocab::kPad)
        sum += arma::accu(arma::min(a_t.col(col), coverage.col(col)));
    coverage += a_t;
  }
  CHECK(sum > 0.1);
  CHECK(b.loss - a.loss == Approx(0.5 * sum / a.tokens).epsilon(1e-10));
}

TEST_CASE("RNN seq2seq gradients with scheduled sampling and with a deep attention decoder",
          "[rnn_seq2seq][gradcheck]") {
  // Training's batched paths (decoder_rnn.hpp) differ by flow: inputs known before the loop or
  // not (sampling), o_t needed inside the loop or not (input feeding). The sampled tokens are
  // argmaxes, constant under the small perturbations of the check.
  LossOptions sampling;
  sampling.sampling_ratio = 0.5;
  for (const std::string cell : {"gru", "lstm"})
    for (const std::string attention : {"none", "bahdanau", "luong-general"}) {
      INFO("sampling " << cell << " " << attention);
      check_model_gradients(tiny_config(cell, attention, true), sampling, true);
      ModelConfig deep = tiny_config(cell, attention, false);
      deep.decoder_layers = 3;
      deep.dropout = 0.3;
      deep.embed_dropout = 0.2;
      INFO("deep " << cell << " " << attention);
      check_model_gradients(deep, LossOptions{}, true);
    }
}

TEST_CASE("Beam search with K=1 equals greedy search, and K>1 never scores lower",
          "[rnn_seq2seq][decoding]") {
  ModelConfig c = tiny_config("gru", "bahdanau", true);
  c.embed_size = 8;
  c.hidden_size = 16;
  RnnSeq2Seq<float> model(c, 7, 9);
  for (std::uint64_t seed = 1; seed <= 5; ++seed) {
    Rng rng(seed);
    model.init(rng);
    const Batch batch = tiny_batch();
    DecodeOptions greedy;
    greedy.max_length_ratio = 1.5;
    const auto g = greedy_search(model, batch.source_ids, batch.source_lengths,
                                 batch.source_steps, greedy);
    DecodeOptions beam1 = greedy;
    beam1.beam_size = 1;
    const auto b1 = beam_search(model, batch.source_ids, batch.source_lengths,
                                batch.source_steps, beam1);
    for (double alpha : {0.0, 0.6}) {
      DecodeOptions wide = greedy;
      wide.beam_size = 4;
      wide.length_penalty = alpha;
      DecodeOptions one = wide;
      one.beam_size = 1;
      const auto k1 = beam_search(model, batch.source_ids, batch.source_lengths,
                                  batch.source_steps, one);
      const auto k4 = beam_search(model, batch.source_ids, batch.source_lengths,
                                  batch.source_steps, wide);
      for (uword b = 0; b < batch.size; ++b) CHECK(k4[b][0].score >= k1[b][0].score);
    }
    for (uword b = 0; b < batch.size; ++b) {
      CHECK(b1[b][0].tokens == g[b][0].tokens);
      CHECK(b1[b][0].log_prob == g[b][0].log_prob);
    }
  }
}

TEST_CASE("Attention weights of a decode step are zero at padding and sum to one",
          "[rnn_seq2seq][attention]") {
  ModelConfig c = tiny_config("lstm", "luong-general", true);
  RnnSeq2Seq<double> model(c, 7, 7);
  Rng rng(3);
  model.init(rng);
  const Batch batch = tiny_batch();
  auto state = model.encode(batch.source_ids, batch.source_lengths, batch.source_steps);
  arma::mat log_probs;
  model.decode_step(*state, std::vector<Index>(batch.size, Vocab::kBos), log_probs);
  const auto w = model.attention(*state).weights.at(0).at(0);
  REQUIRE(w.n_rows == batch.source_steps);
  for (uword b = 0; b < batch.size; ++b) {
    CHECK(arma::accu(w.col(b)) == Approx(1.0));
    for (uword s = batch.source_lengths[b]; s < batch.source_steps; ++s) CHECK(w(s, b) == 0.0);
  }
  CHECK(arma::approx_equal(arma::sum(arma::exp(log_probs), 0),
                           arma::rowvec(batch.size, arma::fill::ones), "absdiff", 1e-12));
}

TEST_CASE("The model factory lists the valid model types", "[rnn_seq2seq]") {
  ModelConfig c;
  c.type = "lstm2000";
  CHECK_THROWS_WITH(make_model<float>(c, 5, 5),
                    Catch::Contains("Valid options: rnn, transformer"));
}

TEST_CASE("Parameters saved to a checkpoint and loaded into a new model give the same outputs",
          "[rnn_seq2seq][checkpoint]") {
  ModelConfig c = tiny_config("lstm", "luong-local-p", true);
  RnnSeq2Seq<float> a(c, 7, 7), b(c, 7, 7);
  Rng rng(9);
  a.init(rng);
  Checkpoint checkpoint;
  save_parameters(a.params(), checkpoint);
  const std::string path = "/tmp/s2s_test_rnn_params_" + std::to_string(::getpid());
  save_checkpoint(path, checkpoint);
  load_parameters(load_checkpoint(path), b.params());
  std::remove(path.c_str());
  const Batch batch = tiny_batch();
  DecodeOptions options;
  options.beam_size = 3;
  const auto ha = beam_search(a, batch.source_ids, batch.source_lengths, batch.source_steps, options);
  const auto hb = beam_search(b, batch.source_ids, batch.source_lengths, batch.source_steps, options);
  for (uword i = 0; i < batch.size; ++i) {
    CHECK(ha[i][0].tokens == hb[i][0].tokens);
    CHECK(ha[i][0].log_prob == hb[i][0].log_prob);
  }
  // A model of another shape is refused with the parameter's name.
  ModelConfig other = c;
  other.hidden_size = 6;
  RnnSeq2Seq<float> wrong(other, 7, 7);
  CHECK_THROWS_WITH(load_parameters(checkpoint, wrong.params()),
                    Catch::Contains("encoder.embedding.weight") || Catch::Contains("in the model"));
}

TEST_CASE("Decoding with projected-embedding tables gives the log-probabilities of decoding "
          "without them", "[rnn_seq2seq][decoding]") {
  // encode() builds the tables when V ≤ rows × source steps: here 8 rows × 3 steps ≥ V = 12 for
  // the batch, 1 × 3 < 12 for its first source alone. Both decode that source with the same
  // previous tokens; its log-probabilities must agree up to double rounding.
  const auto cell = GENERATE(as<std::string>{}, "gru", "lstm");
  const auto attention = GENERATE(as<std::string>{}, "none", "bahdanau", "luong-general");
  const bool feeding = GENERATE(true, false);
  if (attention != "luong-general" && !feeding) return;  // input feeding is Luong's alone
  INFO(cell << ", " << attention << (feeding ? ", input feeding" : ""));
  ModelConfig config = tiny_config(cell, attention, true);
  config.input_feeding = feeding;
  config.decoder_layers = 2;
  RnnSeq2Seq<double> model(config, 9, 12);
  Rng rng(3);
  model.init(rng);
  model.params().values() *= 2.0;
  std::vector<SequencePair> pairs;
  for (Index i = 0; i < 8; ++i)
    pairs.push_back({{static_cast<Index>(4 + i % 5), static_cast<Index>(4 + (i * 3) % 5),
                      static_cast<Index>(4 + (i * 2) % 5)},
                     {4}});
  const Batch all = make_batch(pairs, {0, 1, 2, 3, 4, 5, 6, 7});
  const Batch first = make_batch(pairs, {0});
  auto with_tables = model.encode(all.source_ids, all.source_lengths, all.source_steps);
  auto without = model.encode(first.source_ids, first.source_lengths, first.source_steps);
  Mat<double> lp_all, lp_first;
  double largest = 0.0;
  for (Index token : {Vocab::kBos, Index(7), Index(11), Index(5)}) {
    model.decode_step(*with_tables, std::vector<Index>(8, token), lp_all);
    model.decode_step(*without, {token}, lp_first);
    largest = std::max(largest, arma::abs(lp_all.col(0) - lp_first.col(0)).max());
  }
  CHECK(largest < 1e-12);
  CHECK(arma::abs(lp_first).max() > 0.1);  // not a degenerate distribution
}
