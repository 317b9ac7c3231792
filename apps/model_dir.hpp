#pragma once
// A trained model directory (written by `s2s train`):
//   config.ini            the run's resolved configuration (every key)
//   src.vocab, tgt.vocab  vocabularies; src.spm.model, tgt.spm.model for spm tokenizers
//   best.ckpt, last.ckpt  checkpoints (lib/s2s/core/checkpoint.hpp); train_log.jsonl
//   model.json            the model's description, its parameter count and the run's provenance
//   test_hyps.txt, test_metrics.json   the test set's outputs and scores (data.test)
// Every file is written atomically through NAME.tmp.PID (write_file_atomically); a write that
// was killed leaves that temporary behind until the next run in the directory removes it.
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <boost/program_options/options_description.hpp>

#include "s2s/core/checkpoint.hpp"
#include "s2s/core/config.hpp"
#include "s2s/core/provenance.hpp"
#include "s2s/data/task_data.hpp"
#include "s2s/decoding/ensemble.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s::app {

struct LoadedModel {
  RunConfig config;
  Codec codec;
  std::unique_ptr<Seq2SeqModel<float>> model;
  std::string checkpoint_path;
};

// `which`: "best" (falls back to last.ckpt when there is no best), "last", or the name of another
// checkpoint in the directory: "average" (s2s average), "step-N" (train.keep_checkpoints).
// Throws std::runtime_error naming what is missing or incompatible.
LoadedModel load_model_dir(const std::string& dir, const std::string& which = "best");

// A checkpoint name: letters, digits, '-', '_' and '.', not starting with '.'; throws UsageError
// naming `option` otherwise.
void check_checkpoint_name(const std::string& name, const std::string& option);

// The model(s) of translate and evaluate: one directory, or several decoded as an ensemble
// (s2s/decoding/ensemble.hpp). The first member's config gives the decoding settings and the
// tokenizers.
struct DecodingModels {
  std::vector<LoadedModel> members;
  std::unique_ptr<EnsembleModel> ensemble;  // with more than one member

  Seq2SeqModel<float>& model() { return ensemble ? *ensemble : *members.front().model; }
  const RunConfig& config() const { return members.front().config; }
  const Codec& codec() const { return members.front().codec; }
};

// Loads every directory's `which` checkpoint. Several must share their vocabularies and
// tokenizers: otherwise std::runtime_error names the first file that differs. `weights`: none
// (the plain mean) or one per directory (EnsembleModel); otherwise a UsageError.
DecodingModels load_decoding_models(const std::vector<std::string>& dirs, const std::string& which,
                                    const std::vector<double>& weights = {});

// The options that name the model(s) of translate, evaluate and score-model: --model (repeated
// for an ensemble), --weight (one per --model) and --checkpoint.
struct ModelFlags {
  std::vector<std::string> dirs;
  std::vector<double> weights;
  std::string which;
  void add_to(boost::program_options::options_description& opts);
  // A UsageError without --model; load_decoding_models otherwise.
  DecodingModels load() const;
};

// Refuses a checkpoint written by an s2s of another major.minor version.
void check_checkpoint_version(const Checkpoint& checkpoint, const std::string& path);

std::string read_text_file(const std::string& path);

// Records the digests of DIR/src.vocab and DIR/tgt.vocab in texts (what train puts into its
// checkpoints), and checks them against a checkpoint's: "DIR/tgt.vocab: does not match ...".
// A checkpoint without digests (older) is not checked.
void add_vocabulary_digests(const std::string& dir, std::map<std::string, std::string>& texts);
void check_vocabulary_digests(const Checkpoint& checkpoint, const std::string& dir,
                              const std::string& checkpoint_path);

// DIR/model.json:
//   {"model": "…", "parameters": N,
//    "provenance": {…},                                   where and how the run started
//    "resumes": [{"step": S, "provenance": {…}}, …]}      each resume on a changed setup
// (provenance.hpp). experiments/run_experiment.py reads "model" and "parameters".
struct ModelRecord {
  std::string description;
  std::size_t parameters = 0;
  Provenance provenance;
  std::vector<std::pair<long, Provenance>> resumes;

  // The setup of the last part of the run: the last resume's, or the start's.
  const Provenance& latest() const;
  std::string json() const;
};

void write_model_record(const ModelRecord& record, const std::string& dir);
// The record in DIR/model.json. std::nullopt when the file is missing or has no provenance (runs
// of older versions); throws std::runtime_error naming the file when it is not such JSON.
std::optional<ModelRecord> read_model_record(const std::string& dir);

// The names of the files above: what `train` writes into a model directory.
const std::vector<std::string>& run_file_names();
// Removes the run files from dir (nothing else of it) and their temporaries.
void remove_run_files(const std::string& dir);
// Removes the temporaries NAME.tmp.PID of run files that killed writes left behind
// (remove_dead_temporaries in output_file.hpp).
void remove_stale_temporaries(const std::string& dir);

}  // namespace s2s::app
