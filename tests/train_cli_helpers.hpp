#pragma once
// The tiny training task of the CLI tests (tests/test_train_cli*.cpp).
#include <catch2/catch.hpp>

#include <string>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "s2s/core/checkpoint.hpp"
#include "task_helpers.hpp"

namespace s2s::testing {

// A tiny reverse task and a config that trains on it for `steps` steps, validating (and so
// checkpointing) every 10 steps, with dropout on so that the RNG state matters.
inline std::string write_task(const TempDir& dir, int steps) {
  return write_reverse_task(dir, 400, 6,
                            "[model]\ncell = lstm\nattention = luong-general\nembed_size = 8\n"
                            "hidden_size = 16\ndropout = 0.2\nembed_dropout = 0.1\n"
                            "[train]\nseed = 7\nepochs = 0\nmax_steps = " + std::to_string(steps) +
                                "\nbatch_size = 16\nvalid_every = 10\nlog_every = 5\nlr = 0.01\n"
                                "schedule = noam\nwarmup_steps = 20\nlabel_smoothing = 0.1\n");
}

// Trains `config` into DIR/model (requiring success) and returns the model directory.
inline std::string train_model(const TempDir& dir, const std::string& config) {
  const std::string model = dir.file("model");
  CliResult r = run_cli({"train", "--config", config, "--quiet", "--train.output_dir", model});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  return model;
}

// Every tensor of the two checkpoints, bit for bit.
inline void require_same_parameters(const std::string& a, const std::string& b) {
  const Checkpoint x = load_checkpoint(a), y = load_checkpoint(b);
  REQUIRE(x.tensors.size() == y.tensors.size());
  std::size_t compared = 0;
  for (const auto& [name, tensor] : x.tensors) {
    INFO(name);
    REQUIRE(y.tensors.count(name) == 1);
    CHECK(tensor.data == y.tensors.at(name).data);  // bit for bit
    ++compared;
  }
  CHECK(compared > 10);
}

}  // namespace s2s::testing
