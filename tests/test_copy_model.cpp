// The pointer-generator RNN model (model.copy; See et al. 2017): gradients through every flow,
// decoding's distribution over the extended vocabulary, training and decoding agreeing, and
// beams copying from their own source.
#include <catch2/catch.hpp>

#include <cmath>
#include <set>

#include "rnn_model_helpers.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/decoding/ensemble.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

constexpr uword kVocab = 7;  // ids 4, 5, 6 are tokens; 7 and 8 are source tokens outside it

// Sources with tokens outside the vocabulary (ids 7, 8: each source's own extended ids) and
// targets that copy them; pair 2's target has a token that neither side knows (<unk>).
Batch copy_batch() {
  const std::vector<SequencePair> pairs = {
      {{4, 7, 6, 8}, {7, 6, 8}}, {{7, 5}, {4, 7, 7}}, {{5, 4, 6}, {6, Vocab::kUnk}}};
  return make_batch(pairs, {0, 1, 2});
}

ModelConfig copy_config(const std::string& cell, const std::string& attention, bool bi) {
  ModelConfig c = tiny_config(cell, attention, bi);
  c.copy = true;
  return c;
}

std::unique_ptr<RnnSeq2Seq<double>> copy_model(const ModelConfig& config, std::uint64_t seed) {
  auto model = std::make_unique<RnnSeq2Seq<double>>(config, kVocab, kVocab);
  Rng init(seed);
  model->init(init);
  model->params().values() *= 2.0;
  return model;
}

}  // namespace

TEST_CASE("Copy model gradients match finite differences in every flow",
          "[copy][gradcheck]") {
  // bahdanau and monotonic: the gate reads combine_in [s; c; e]; luong-*: [c; s] and e apart;
  // input feeding and sampling: o_t inside the step loop.
  struct Case {
    std::string attention;
    bool bi, feeding, coverage;
    double sampling;
  };
  const std::vector<Case> cases = {{"bahdanau", true, true, false, 0.0},
                                   {"bahdanau", false, true, false, 0.5},
                                   {"luong-general", true, true, false, 0.0},
                                   {"luong-general", false, false, false, 0.0},
                                   {"luong-concat", true, false, true, 0.0},
                                   {"luong-local-p", true, true, false, 0.0},
                                   {"monotonic", true, true, false, 0.0},
                                   {"monotonic-chunk", false, true, false, 0.0}};
  for (const std::string cell : {"gru", "lstm"})
    for (const Case& k : cases) {
      ModelConfig c = copy_config(cell, k.attention, k.bi);
      c.input_feeding = k.feeding;
      c.coverage = k.coverage;
      c.monotonic_noise = 0.0;
      LossOptions options;
      options.sampling_ratio = k.sampling;
      options.coverage_loss = k.coverage ? 0.5 : 0.0;
      INFO(cell << " " << k.attention << (k.bi ? " bi" : " uni") << " feeding " << k.feeding
                << " coverage " << k.coverage << " sampling " << k.sampling);
      check_model_gradients(c, options, k.sampling > 0, copy_batch(), kVocab);
    }
  LossOptions sentences;
  sentences.normalization = LossNormalization::sentences;
  ModelConfig dropout = copy_config("gru", "bahdanau", true);
  dropout.dropout = 0.3;
  dropout.embed_dropout = 0.2;
  check_model_gradients(dropout, sentences, true, copy_batch(), kVocab);
}

TEST_CASE("A copy model decodes a distribution over the extended vocabulary, and its training "
          "loss is what decoding gives the references",
          "[copy]") {
  for (const std::string attention : {"bahdanau", "luong-general"}) {
    INFO(attention);
    const auto model = copy_model(copy_config("gru", attention, true), 3);
    const Batch batch = copy_batch();
    LossOptions sum;
    sum.normalization = LossNormalization::none;
    Rng rng(1);
    const LossStats stats = model->forward_backward(batch, sum, false, false, rng);
    CHECK(stats.tokens == 11);  // 8 tokens and 3 </s>
    CHECK(stats.nll_sum == Approx(stats.loss).epsilon(1e-12));

    auto state = model->encode(batch.source_ids, batch.source_lengths, batch.source_steps);
    const uword B = batch.size;
    arma::mat log_probs;
    double nll = 0;
    for (uword t = 0; t < batch.target_steps; ++t) {
      const std::vector<Index> inputs(batch.target_input_ids.begin() + t * B,
                                      batch.target_input_ids.begin() + (t + 1) * B);
      model->decode_step(*state, inputs, log_probs);
      REQUIRE(log_probs.n_rows == kVocab + 2);  // the batch's sources have 2 extended ids at most
      for (uword b = 0; b < B; ++b) {
        CHECK(arma::accu(arma::exp(log_probs.col(b))) == Approx(1.0).epsilon(1e-12));
        const Index y = batch.target_output_ids[t * B + b];
        if (y != Vocab::kPad) nll -= log_probs(static_cast<uword>(y), b);
      }
      // Source 1 has no id 8 and source 2 no extended id at all: they cannot produce them.
      CHECK(std::isinf(log_probs(8, 1)));
      CHECK(std::isinf(log_probs(7, 2)));
      CHECK(std::isfinite(log_probs(8, 0)));
    }
    CHECK(nll == Approx(stats.loss).epsilon(1e-10));
  }
}

TEST_CASE("Beams of a copy model copy from their own source", "[copy][decoding]") {
  // With the gate's bias at −30 the model only copies: every output token, in greedy and in beam
  // search (whose beams are reordered step by step), must be a token of its own source.
  const auto model = copy_model(copy_config("lstm", "bahdanau", true), 5);
  model->params().value(model->params().layout().find("decoder.copy_gate.bias")).fill(-30.0);
  const Batch batch = copy_batch();
  for (uword K : {1, 3}) {
    DecodeOptions options;
    options.beam_size = K;
    options.nbest = K;
    options.max_length_extra = 2;
    const auto hyps =
        decode(*model, batch.source_ids, batch.source_lengths, batch.source_steps, options);
    for (uword b = 0; b < batch.size; ++b) {
      std::set<Index> source;
      for (uword j = 0; j < batch.source_lengths[b]; ++j)
        source.insert(batch.source_ids[j * batch.size + b]);
      for (const Hypothesis& h : hyps[b]) {
        INFO("beam " << K << " source " << b);
        CHECK(!h.tokens.empty());
        for (Index y : h.tokens) CHECK(source.count(y) == 1);
      }
    }
  }
}

TEST_CASE("An ensemble of a copy model, or of two copies of it, decodes as the model",
          "[copy][decoding]") {
  RnnSeq2Seq<float> model(copy_config("gru", "luong-general", true), kVocab, kVocab);
  Rng init(7);
  model.init(init);
  model.params().values() *= 2.0f;
  EnsembleModel one({&model}), two({&model, &model});
  const Batch batch = copy_batch();
  DecodeOptions options;
  options.beam_size = 3;
  options.max_length_extra = 2;
  const auto expected =
      decode(model, batch.source_ids, batch.source_lengths, batch.source_steps, options);
  for (EnsembleModel* ensemble : {&one, &two}) {
    const auto got =
        decode(*ensemble, batch.source_ids, batch.source_lengths, batch.source_steps, options);
    for (uword b = 0; b < batch.size; ++b) {
      CHECK(got[b][0].tokens == expected[b][0].tokens);
      CHECK(got[b][0].log_prob == Approx(expected[b][0].log_prob).epsilon(1e-6));
    }
  }
}

TEST_CASE("A copy model needs attention and one vocabulary", "[copy]") {
  CHECK_THROWS_WITH(RnnSeq2Seq<double>(copy_config("gru", "bahdanau", true), 7, 8),
                    Catch::Contains("one vocabulary for both sides"));
  ModelConfig none = copy_config("gru", "none", true);
  CHECK_THROWS_WITH(RnnSeq2Seq<double>(none, 7, 7), Catch::Contains("model.copy needs attention"));
}
