// The arithmetic of data-parallel training (data_parallel.hpp), in one process and in double:
// the gradient of a global batch equals (1/N) · Σ over its shards of the gradients of the
// shards' unnormalised losses, for every loss normalisation and shard count, for the RNN and the
// Transformer (shards are re-padded to their own lengths, so this also checks that padding does
// not leak into the gradients). The real multi-process run is tests/test_mpi.cpp.
#include <catch2/catch.hpp>

#include <cmath>

#include "s2s/models/model_factory.hpp"
#include "s2s/training/data_parallel.hpp"

using namespace s2s;

namespace {

// 7 pairs of unequal lengths; ids 4.. (0-3 are the specials).
std::vector<SequencePair> tiny_pairs() {
  return {{{4, 5, 6, 4}, {5, 6}},       {{6, 5}, {4, 4, 6, 5, 7}}, {{5, 4, 6}, {6}},
          {{7}, {7, 4}},                {{4, 4, 5, 6, 7, 5}, {5}}, {{6, 7, 4}, {4, 6, 6}},
          {{5, 5}, {7, 7, 7, 4}}};
}

ModelConfig tiny_model(const std::string& type) {
  ModelConfig c;
  c.type = type;
  c.embed_size = 4;
  c.hidden_size = 6;
  c.dropout = 0.0;
  c.d_model = 8;
  c.heads = 2;
  c.ff_size = 12;
  c.transformer_layers = 1;
  c.attention_dropout = 0.0;
  return c;
}

}  // namespace

TEST_CASE("slice_batch keeps each sentence and pads a shard to its own lengths", "[data_parallel]") {
  const auto pairs = tiny_pairs();
  const Batch global = make_batch(pairs, {0, 1, 2, 3, 4, 5, 6});
  const Batch shard = slice_batch(global, 2, 5);
  const Batch expected = make_batch(pairs, {2, 3, 4});
  CHECK(shard.size == 3);
  CHECK(shard.source_steps == expected.source_steps);
  CHECK(shard.target_steps == expected.target_steps);
  CHECK(shard.source_ids == expected.source_ids);
  CHECK(shard.target_input_ids == expected.target_input_ids);
  CHECK(shard.target_output_ids == expected.target_output_ids);
  CHECK(shard.source_lengths == expected.source_lengths);
  CHECK(shard.target_lengths == expected.target_lengths);
  CHECK(shard.indices == expected.indices);
  CHECK_THROWS_AS(slice_batch(global, 5, 8), std::out_of_range);

  // Shards cover the batch once, in order; more ranks than sentences give empty shards.
  std::size_t covered = 0;
  for (int r = 0; r < 3; ++r) covered += shard_of(global, r, 3).size;
  CHECK(covered == 7);
  const Batch two = make_batch(pairs, {0, 1});
  CHECK(shard_of(two, 0, 4).size == 0);
  CHECK(shard_of(two, 1, 4).size == 1);
  CHECK(shard_of(two, 3, 4).size == 1);
}

TEST_CASE("Sharded unnormalised gradients, summed and scaled, equal the global batch's gradient",
          "[data_parallel]") {
  // rnn-coverage: Bahdanau attention with coverage and the coverage loss, a second loss term;
  // rnn-copy: the pointer-generator, with source ids of the extended vocabulary in the shards.
  const auto type =
      GENERATE(as<std::string>{}, "rnn", "transformer", "rnn-coverage", "rnn-copy");
  const auto normalization = GENERATE(LossNormalization::tokens, LossNormalization::sentences,
                                      LossNormalization::none);
  const int ranks = GENERATE(2, 3);
  INFO(type << ", normalization " << static_cast<int>(normalization) << ", " << ranks << " ranks");
  const bool coverage = type == "rnn-coverage", copy = type == "rnn-copy";
  ModelConfig config = tiny_model(type == "transformer" ? type : "rnn");
  config.coverage = coverage;
  config.copy = copy;
  auto model = make_model<double>(config, 8, 8);
  Rng rng(3);
  model->init(rng);
  std::vector<SequencePair> pairs = tiny_pairs();
  if (copy) {  // ids 8 and 9: source tokens outside the vocabulary, copied into the targets
    pairs[1] = {{8, 5}, {4, 8, 6, 5, 8}};
    pairs[4] = {{4, 9, 5, 8, 7, 5}, {9}};
  }
  const Batch global = make_batch(pairs, {0, 1, 2, 3, 4, 5, 6});
  LossOptions options;
  options.label_smoothing = copy ? 0.0 : 0.1;
  options.coverage_loss = coverage ? 0.5 : 0.0;
  options.normalization = normalization;

  model->params().zero_grad();
  const LossStats whole = model->forward_backward(global, options, true, true, rng);
  const arma::vec expected = model->params().grads();

  LossOptions unnormalised = options;
  unnormalised.normalization = LossNormalization::none;
  model->params().zero_grad();
  double loss_sum = 0.0;
  for (int r = 0; r < ranks; ++r)
    loss_sum += model->forward_backward(shard_of(global, r, ranks), unnormalised, true, true, rng)
                    .loss;
  const double N = global_loss_normalizer(global, options);
  const arma::vec sharded = model->params().grads() / N;

  CHECK(loss_sum / N == Approx(whole.loss).epsilon(1e-12));
  const double relative = arma::norm(sharded - expected) / arma::norm(expected);
  INFO("relative difference " << relative);
  CHECK(arma::norm(expected) > 0);
  CHECK(relative < 1e-12);
}

TEST_CASE("A single-process Communicator is rank 0 of 1 and its collectives change nothing",
          "[data_parallel]") {
  const Communicator alone;
  CHECK(alone.rank() == 0);
  CHECK(alone.size() == 1);
  CHECK(alone.is_root());
  float values[3] = {1.5f, -2.0f, 3.0f};
  alone.allreduce_sum(values, 3);
  alone.broadcast(values, 3);
  CHECK(values[0] == 1.5f);
  CHECK(values[1] == -2.0f);
  CHECK(values[2] == 3.0f);
  CHECK(alone.gather_text("state") == std::vector<std::string>{"state"});
  // Without an active DistributedSession the world is this process alone, MPI build or not.
  CHECK(Communicator::world().size() == 1);
}

TEST_CASE("Worker threads' summed shard gradients equal the batch's gradient, run after run",
          "[data_parallel][workers]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  const int W = GENERATE(2, 3);
  INFO(type << ", " << W << " workers");
  const ModelConfig config = tiny_model(type);
  auto model = make_model<float>(config, 8, 8);
  Rng rng(3);
  model->init(rng);
  const Batch batch = make_batch(tiny_pairs(), {0, 1, 2, 3, 4, 5, 6});
  LossOptions options;
  options.label_smoothing = 0.1;

  model->params().zero_grad();
  const LossStats whole = model->forward_backward(batch, options, true, true, rng);
  const arma::fvec expected = model->params().grads();

  std::vector<Rng> rngs;
  for (int w = 1; w < W; ++w) rngs.emplace_back(100 + w);
  GradientWorkers workers([&] { return make_model<float>(config, 8, 8); }, std::move(rngs));
  REQUIRE(workers.size() == W);
  auto threaded = [&](const LossStats& expected_stats) {
    model->params().zero_grad();
    const LossStats s =
        data_parallel_forward_backward(*model, batch, options, Communicator{}, rng, &workers);
    CHECK(s.loss == Approx(expected_stats.loss).epsilon(1e-5));
    CHECK(s.tokens == expected_stats.tokens);
    return arma::fvec(model->params().grads());
  };
  const arma::fvec first = threaded(whole);
  const double relative = arma::norm(first - expected) / arma::norm(expected);
  INFO("relative difference " << relative);
  CHECK(arma::norm(expected) > 0);
  CHECK(relative < 1e-5);
  // The replicas' parameters follow the model's: change the model, and the gradient changes.
  CHECK(arma::approx_equal(threaded(whole), first, "absdiff", 0.0f));  // same W: bit for bit
  model->params().values() *= 1.5f;
  model->params().zero_grad();
  const LossStats scaled_whole = model->forward_backward(batch, options, true, true, rng);
  const arma::fvec scaled_expected = model->params().grads();
  const arma::fvec scaled = threaded(scaled_whole);
  CHECK(arma::norm(scaled - scaled_expected) / arma::norm(scaled_expected) < 1e-5);
}

TEST_CASE("Accumulated gradients of several batches equal the gradient of their concatenation",
          "[data_parallel][accumulate]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  const auto normalization = GENERATE(LossNormalization::tokens, LossNormalization::sentences,
                                      LossNormalization::none);
  const int W = GENERATE(1, 2);
  INFO(type << ", normalization " << static_cast<int>(normalization) << ", " << W << " workers");
  const ModelConfig config = tiny_model(type);
  auto model = make_model<float>(config, 8, 8);
  Rng rng(3);
  model->init(rng);
  const auto pairs = tiny_pairs();
  const Batch whole = make_batch(pairs, {0, 1, 2, 3, 4, 5, 6});
  // Three batches of unequal sizes and lengths, taken as one.
  const Batch a = make_batch(pairs, {0, 1}), b = make_batch(pairs, {2, 3, 4}),
              c = make_batch(pairs, {5, 6});
  LossOptions options;
  options.label_smoothing = 0.1;
  options.normalization = normalization;

  model->params().zero_grad();
  const LossStats expected_stats = model->forward_backward(whole, options, true, true, rng);
  const arma::fvec expected = model->params().grads();

  std::unique_ptr<GradientWorkers> workers;
  if (W > 1)
    workers = std::make_unique<GradientWorkers>(
        [&] { return make_model<float>(config, 8, 8); }, std::vector<Rng>(W - 1, Rng(9)));
  model->params().zero_grad();
  const LossStats stats = accumulated_forward_backward(*model, {&a, &b, &c}, options,
                                                       Communicator(), rng, workers.get());
  const arma::fvec accumulated = model->params().grads();
  const double relative = arma::norm(accumulated - expected) / arma::norm(expected);
  INFO("relative difference " << relative);
  CHECK(arma::norm(expected) > 0);
  CHECK(relative < 1e-5);  // float, another order of summation
  CHECK(stats.loss == Approx(expected_stats.loss).epsilon(1e-5));
  CHECK(stats.tokens == expected_stats.tokens);

  // The tolerance can fail: the mean of the three batches' own normalised gradients (what
  // accumulating without a joint normaliser gives) is well outside it.
  if (normalization != LossNormalization::none) {
    arma::fvec separate(expected.n_elem, arma::fill::zeros);
    for (const Batch* batch : {&a, &b, &c}) {
      model->params().zero_grad();
      model->forward_backward(*batch, options, true, true, rng);
      separate += model->params().grads() / 3.0f;
    }
    CHECK(arma::norm(separate - expected) / arma::norm(expected) > 1e-3);
  }
}
