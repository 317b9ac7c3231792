#pragma once
// A trained model directory (written by `s2s train`):
//   config.ini            the run's resolved configuration (every key)
//   src.vocab, tgt.vocab  vocabularies; src.spm.model, tgt.spm.model for spm tokenizers
//   best.ckpt, last.ckpt  checkpoints (lib/s2s/core/checkpoint.hpp); train_log.jsonl
#include <memory>
#include <string>

#include "s2s/core/checkpoint.hpp"
#include "s2s/core/config.hpp"
#include "s2s/data/task_data.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s::app {

struct LoadedModel {
  RunConfig config;
  Codec codec;
  std::unique_ptr<Seq2SeqModel<float>> model;
  std::string checkpoint_path;
};

// `which`: "best" (falls back to last.ckpt when there is no best) or "last".
// Throws std::runtime_error naming what is missing or incompatible.
LoadedModel load_model_dir(const std::string& dir, const std::string& which = "best");

// Refuses a checkpoint written by an s2s of another major.minor version.
void check_checkpoint_version(const Checkpoint& checkpoint, const std::string& path);

std::string read_text_file(const std::string& path);

}  // namespace s2s::app
