#pragma once
// A tiny generated reverse task for end-to-end tests of the `s2s` program.
#include <string>

#include "file_helpers.hpp"
#include "s2s/data/parallel_data.hpp"
#include "s2s/data/synthetic.hpp"

namespace s2s::testing {

// Writes into `dir`: train.tsv (`train_count` reverse pairs of 1..`max_length` tokens 0-9, seed
// 1), dev.tsv (a tenth as many, seed 2), and task.ini = a [data] section reading them with space
// tokenizers, followed by `model_and_train` (the config's [model] and [train] sections).
// Returns the path of task.ini.
inline std::string write_reverse_task(const TempDir& dir, int train_count, int max_length,
                                      const std::string& model_and_train) {
  SyntheticConfig c;
  c.count = train_count;
  c.max_length = max_length;
  c.max_token = 9;
  write_parallel_tsv(dir.file("train.tsv"), generate_synthetic(c));
  c.count = train_count / 10;
  c.seed = 2;
  write_parallel_tsv(dir.file("dev.tsv"), generate_synthetic(c));
  return dir.write("task.ini", "[data]\ntrain = " + dir.file("train.tsv") +
                                   "\ndev = " + dir.file("dev.tsv") +
                                   "\nsrc_tokenizer = space\ntgt_tokenizer = space\n" +
                                   model_and_train);
}

}  // namespace s2s::testing
