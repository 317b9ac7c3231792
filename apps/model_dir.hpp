#pragma once
// A trained model directory (written by `s2s train`):
//   config.ini            the run's resolved configuration (every key)
//   src.vocab, tgt.vocab  vocabularies; src.spm.model, tgt.spm.model for spm tokenizers
//   best.ckpt, last.ckpt  checkpoints (lib/s2s/core/checkpoint.hpp); train_log.jsonl
//   model.json            the model's description and parameter count
//   test_hyps.txt, test_metrics.json   the test set's outputs and scores (data.test)
// Every file is written atomically through NAME.tmp.PID (write_file_atomically); a write that
// was killed leaves that temporary behind until the next run in the directory removes it.
#include <map>
#include <memory>
#include <string>
#include <vector>

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

// Records the digests of DIR/src.vocab and DIR/tgt.vocab in texts (what train puts into its
// checkpoints), and checks them against a checkpoint's: "DIR/tgt.vocab: does not match ...".
// A checkpoint without digests (older) is not checked.
void add_vocabulary_digests(const std::string& dir, std::map<std::string, std::string>& texts);
void check_vocabulary_digests(const Checkpoint& checkpoint, const std::string& dir,
                              const std::string& checkpoint_path);

// The names of the files above: what `train` writes into a model directory.
const std::vector<std::string>& run_file_names();
// Removes the run files from dir (nothing else of it) and their temporaries.
void remove_run_files(const std::string& dir);
// Removes the temporaries NAME.tmp.PID of run files that killed writes left behind
// (remove_dead_temporaries in output_file.hpp).
void remove_stale_temporaries(const std::string& dir);

}  // namespace s2s::app
