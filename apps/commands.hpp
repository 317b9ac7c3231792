#pragma once
// The s2s subcommands. Each takes its arguments (after the command name), prints its results,
// and returns the exit code; errors are thrown and printed by main() as one line.
#include <string>
#include <vector>

namespace s2s::app {

using Args = std::vector<std::string>;

int run_train(const Args& args);
int run_translate(const Args& args);
int run_evaluate(const Args& args);
int run_score(const Args& args);
int run_score_model(const Args& args);
int run_generate(const Args& args);
int run_config_doc(const Args& args);
int run_average(const Args& args);

// Thrown for bad usage (exit code 2), as opposed to failures while running (exit code 1).
struct UsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

}  // namespace s2s::app
