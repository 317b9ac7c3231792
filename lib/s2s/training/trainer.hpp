#pragma once
// The training loop: batches, teacher-forced loss and backward, clipping, the optimizer step
// with the scheduled learning rate, periodic validation (dev loss and the task metric with
// greedy decoding), best/last checkpoints, early stopping, a progress display and a log file.
//
// Files in the model directory (config.train.output_dir):
//   last.ckpt        everything needed to continue exactly: parameters, optimizer state,
//                    schedule state, step, epoch and position in the data order, the dropout
//                    RNG, early-stopping state, elapsed time
//   best.ckpt        parameters of the best validation so far (by train.early_stopping_metric)
//   train_log.jsonl  one JSON object per line: step, epoch, lr, train_loss (mean since the last
//                    line), dev_loss, dev_<metric>, tokens_per_s, elapsed_s
// Exactness: the data order is a function of (seed, epoch, position), dropout draws from the
// trainer's own Rng whose state is checkpointed, and validation draws no random numbers; so a
// run resumed from last.ckpt ends with the same parameters, bit for bit, as one that was never
// interrupted, and the same seed gives the same log (up to the timing fields).
//
// Multi-process (TrainerContext::comm of R > 1 ranks, data_parallel.hpp): every rank walks the
// same global batches; each differentiates its shard, the gradients are all-reduced, and every
// rank clips and steps identically, so the parameters stay identical (rank 0's are broadcast at
// the start). Each rank draws dropout from its own Rng (seed and rank); last.ckpt holds all of
// them. Rank 0 alone validates, prints, logs and writes checkpoints; the validation result is
// broadcast so that the schedule and early stopping decide alike on every rank.
//
// Worker threads (config.train.workers = W > 1, data_parallel.hpp's GradientWorkers): each
// rank's batch is split once more over W threads with model replicas; worker w ≥ 1 draws dropout
// from its own Rng, checkpointed as well. Validation decodes its batches on the same threads.
// Exact resumption needs the same W (and rank count); a run resumed with more workers starts
// the new workers' Rngs fresh.
#include <chrono>
#include <cmath>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <string>
#include <utility>
#include <vector>

#include "s2s/core/checkpoint.hpp"
#include "s2s/core/config.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/decoding/evaluation.hpp"
#include "s2s/models/seq2seq_model.hpp"
#include "s2s/training/data_parallel.hpp"
#include "s2s/training/distributed.hpp"
#include "s2s/training/optim.hpp"
#include "s2s/training/schedule.hpp"
#include "s2s/training/weight_averaging.hpp"

namespace s2s {

struct TrainerContext {
  const Vocab* target_vocab = nullptr;
  const Tokenizer* target_tokenizer = nullptr;
  std::ostream* out = nullptr;  // progress and messages; nullptr: silent
  bool interactive = false;     // a terminal: one self-updating progress line
  Communicator comm;            // the ranks of a multi-process run; default: this process alone
  // Texts copied into every checkpoint (the digests of the model directory's vocabularies).
  std::map<std::string, std::string> checkpoint_texts;
  // The first line of a new train_log.jsonl, a JSON object without "step" (the run's
  // provenance); "": none. A resumed run keeps the line its log has.
  std::string log_header;
};

struct TrainSummary {
  long steps = 0;
  std::uint64_t epochs = 0;
  double best_metric = 0.0;
  bool has_best = false;
  bool stopped_early = false;
  double elapsed_seconds = 0.0;
};

// train.keep_checkpoints: "step-N.ckpt", and the ones in a model directory as (N, path) in
// increasing N.
std::string validation_checkpoint_name(long step);
std::vector<std::pair<long, std::string>> validation_checkpoints(const std::string& dir);

class Trainer {
 public:
  Trainer(const RunConfig& config, Seq2SeqModel<float>& model,
          const std::vector<SequencePair>& train, const DevSet* dev, TrainerContext context);
  ~Trainer();

  // Continues from a last.ckpt written by a run of the same config.
  void resume(const Checkpoint& checkpoint);
  TrainSummary run();

  // Validation as the trainer does it: dev loss per token and the decoded metrics.
  struct Validation {
    double loss = 0.0;
    EvalMetrics metrics;
  };
  Validation validate();

 private:
  // rng_states[k]: checkpoint key → state of every RNG of every rank.
  Checkpoint make_checkpoint(bool full,
                             const std::vector<std::pair<std::string, std::string>>& rng_states) const;
  // Collective: every rank calls it (a full checkpoint gathers the ranks' RNG states); rank 0
  // writes.
  void save(const std::string& file, bool full) const;
  // step-N.ckpt of the weights just validated, and the removal of those beyond the last
  // train.keep_checkpoints. Rank 0 only.
  void keep_validation_checkpoint() const;
  // With train.ema: the average in the model's weights (the raw weights kept aside), and back.
  void swap_in_average();
  void swap_out_average();
  void log_line(double train_loss, const Validation* validation, double tokens_per_s);
  void show_progress(double loss, double tokens_per_s);
  bool done() const;
  double elapsed() const;

  const RunConfig& config_;
  Seq2SeqModel<float>& model_;
  const DevSet* dev_;
  TrainerContext context_;
  BatchStream stream_;
  std::unique_ptr<Optimizer<float>> optimizer_;
  LearningRateSchedule schedule_;
  LossOptions loss_options_;
  Rng rng_;
  std::unique_ptr<GradientWorkers> workers_;  // null when train.workers = 1
  std::optional<ParameterEma> ema_;           // train.ema
  bool ema_resumed_ = false;                  // the average came from a checkpoint
  arma::fvec raw_weights_;                    // the weights while the average is swapped in
  long step_ = 0;
  double best_ = 0.0;
  bool has_best_ = false;
  int bad_validations_ = 0;
  long last_validated_step_ = -1;
  // Train loss since the last log line (checkpointed, so a resumed log matches).
  double interval_loss_ = 0.0;
  long interval_steps_ = 0;
  double last_loss_ = NAN;  // the mean training loss of the last logged interval
  double elapsed_before_ = 0.0;  // seconds spent in earlier runs of a resumed training
  std::chrono::steady_clock::time_point start_;
  std::ofstream log_;
};

}  // namespace s2s
