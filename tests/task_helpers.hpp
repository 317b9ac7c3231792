#pragma once
// A tiny generated reverse task for end-to-end tests of the `s2s` program, and tiny initialised
// models for decoding tests.
#include <memory>
#include <string>

#include "file_helpers.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/data/parallel_data.hpp"
#include "s2s/data/synthetic.hpp"
#include "s2s/models/model_factory.hpp"

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

// A randomly initialised model of `type` (rnn: GRU + Bahdanau, 6/8 wide; transformer: one layer
// each side, d_model 8, 2 heads) with `vocab` source and target tokens.
inline std::unique_ptr<Seq2SeqModel<float>> tiny_model(const std::string& type,
                                                       std::uint64_t seed, uword vocab = 10) {
  ModelConfig c;
  c.type = type;
  c.attention = "bahdanau";
  c.embed_size = 6;
  c.hidden_size = 8;
  c.d_model = 8;
  c.heads = 2;
  c.ff_size = 16;
  c.transformer_layers = 1;
  auto model = make_model<float>(c, vocab, vocab);
  Rng rng(seed);
  model->init(rng);
  return model;
}

}  // namespace s2s::testing
