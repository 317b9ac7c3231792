// The slow cases (Catch2 tag [.slow], ctest label "slow", `scripts/test.sh --slow`): whole
// trainings that must reach a quality, the end-to-end check that the hand-written gradients
// and the optimiser together learn what the literature says these models learn. A few
// minutes in all on 2 cores; the default suite checks the same code in pieces, faster.
#include <catch2/catch.hpp>

#include <regex>
#include <string>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "task_helpers.hpp"

using namespace s2s::testing;

namespace {

// Trains `model_section` on the reverse task (8,000 pairs of 1-12 tokens from a vocabulary of
// 10, 4,000 steps with Adam) and returns the dev set's exact-match accuracy in percent.
double reverse_task_accuracy(const std::string& model_section) {
  TempDir dir;
  const std::string config = write_reverse_task(
      dir, 8000, 12,
      model_section +
          "[train]\nseed = 1\nepochs = 0\nmax_steps = 4000\nbatch_size = 64\nlr = 0.003\n"
          "valid_every = 1000\nearly_stopping_metric = acc\nworkers = 2\n");
  const std::string model = dir.file("model");
  CliResult trained = run_cli({"train", "--config", config, "--quiet", "--train.output_dir", model});
  INFO(trained.err);
  REQUIRE(trained.exit_code == 0);
  CliResult scored = run_cli({"evaluate", "--model", model, "--src", dir.file("dev.tsv"), "--json"});
  INFO(scored.err);
  REQUIRE(scored.exit_code == 0);
  std::smatch m;
  REQUIRE(std::regex_search(scored.out, m, std::regex(R"("acc": ([0-9.]+))")));
  return std::stod(m[1]);
}

}  // namespace

TEST_CASE("A bi-GRU with Bahdanau attention learns to reverse sequences", "[.slow][train]") {
  const double acc = reverse_task_accuracy(
      "[model]\ncell = gru\nattention = bahdanau\nembed_size = 32\nhidden_size = 64\n"
      "dropout = 0.1\n");
  CHECK(acc >= 95.0);
}

TEST_CASE("A bi-LSTM with Luong general attention and input feeding learns to reverse sequences",
          "[.slow][train]") {
  const double acc = reverse_task_accuracy(
      "[model]\ncell = lstm\nattention = luong-general\ninput_feeding = true\nembed_size = 32\n"
      "hidden_size = 64\ndropout = 0.1\n");
  CHECK(acc >= 95.0);
}

TEST_CASE("A Transformer learns to reverse sequences", "[.slow][train]") {
  const double acc = reverse_task_accuracy(
      "[model]\ntype = transformer\nd_model = 64\nheads = 4\nff_size = 128\n"
      "transformer_layers = 2\ndropout = 0.1\nattention_dropout = 0.0\n");
  CHECK(acc >= 95.0);
}
