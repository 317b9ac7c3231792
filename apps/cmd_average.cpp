// s2s average --model DIR --last K [--output NAME]
// The mean of the weights of the last K validation checkpoints (step-N.ckpt, which
// train.keep_checkpoints keeps) into DIR/average.ckpt, for translate/evaluate --checkpoint average.
#include <iostream>

#include "cli_util.hpp"
#include "model_dir.hpp"
#include "s2s/training/trainer.hpp"
#include "s2s/training/weight_averaging.hpp"

namespace po = boost::program_options;

namespace s2s::app {

int run_average(const Args& args) {
  std::string model_dir, output;
  int last = 0;
  po::options_description opts("s2s average options");
  opts.add_options()
      ("help", "this message")
      ("model", po::value<std::string>(&model_dir), "model directory trained with train.keep_checkpoints = K")
      ("last", po::value<int>(&last), "average the last K validation checkpoints (step-N.ckpt)")
      ("output", po::value<std::string>(&output)->default_value("average"), "checkpoint name in the model directory: writes DIR/NAME.ckpt");
  po::variables_map vm;
  parse_args(args, opts, vm);
  if (vm.count("help")) {
    print_usage("average --model DIR --last K [--output NAME]", opts);
    return 0;
  }
  if (model_dir.empty()) throw UsageError("--model DIR is required");
  if (last < 1) throw UsageError("--last K is required, K >= 1");
  check_checkpoint_name(output, "--output");
  if (output == "best" || output == "last")
    throw UsageError("--output " + output + " would replace the run's own " + output + ".ckpt");

  const auto found = validation_checkpoints(model_dir);
  if (found.size() < static_cast<std::size_t>(last))
    throw std::runtime_error(model_dir + ": " + std::to_string(found.size()) +
                             " validation checkpoints (step-N.ckpt), fewer than --last " +
                             std::to_string(last) + " (train with train.keep_checkpoints >= " +
                             std::to_string(last) + ")");
  std::vector<Checkpoint> checkpoints;
  std::string steps;
  for (std::size_t i = found.size() - static_cast<std::size_t>(last); i < found.size(); ++i) {
    const std::string& path = found[i].second;
    checkpoints.push_back(load_checkpoint(path));
    check_checkpoint_version(checkpoints.back(), path);
    check_vocabulary_digests(checkpoints.back(), model_dir, path);
    steps += (steps.empty() ? "" : ", ") + std::to_string(found[i].first);
  }
  Checkpoint average;
  try {
    average = average_checkpoints(checkpoints);
  } catch (const std::runtime_error& e) {
    throw std::runtime_error(model_dir + ": " + e.what());
  }
  average.scalars["step"] = static_cast<double>(found.back().first);
  average.scalars["averaged"] = static_cast<double>(last);
  const std::string path = model_dir + "/" + output + ".ckpt";
  save_checkpoint(path, average);
  std::cout << "averaged " << last << " checkpoints (steps " << steps << ") into " << path << "\n";
  return 0;
}

}  // namespace s2s::app
