#include "s2s/training/trainer.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <numeric>
#include <regex>
#include <sstream>
#include <stdexcept>

#include "s2s/models/model_factory.hpp"
#include "s2s/training/param_io.hpp"

namespace s2s {

namespace {

BatchingConfig batching_config(const TrainConfig& t) {
  BatchingConfig b;
  b.batch_size = static_cast<std::size_t>(t.batch_size);
  b.unit = parse_batch_unit(t.batch_unit);
  return b;
}

OptimizerConfig optimizer_config(const TrainConfig& t) {
  OptimizerConfig o;
  o.name = t.optimizer;
  o.weight_decay = t.weight_decay;
  o.momentum = t.momentum;
  o.beta1 = t.beta1;
  o.beta2 = t.beta2;
  o.eps = t.adam_eps;
  return o;
}

ScheduleConfig schedule_config(const TrainConfig& t) {
  return ScheduleConfig{t.schedule, t.lr, t.decay_factor, t.decay_every, t.plateau_patience,
                        t.warmup_steps, t.decay_steps > 0 ? t.decay_steps : t.max_steps,
                        t.min_lr};
}

std::string format_duration(double seconds) {
  const long s = static_cast<long>(seconds + 0.5);
  char buf[32];
  if (s >= 3600)
    std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
  else
    std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
  return buf;
}

// Keeps the lines of a JSON-lines log whose "step" is at most `step` (a resumed run rewrites
// what came after its checkpoint).
void truncate_log(const std::string& path, long step) {
  std::ifstream in(path);
  if (!in) return;
  std::string kept, line;
  while (std::getline(in, line)) {
    const auto pos = line.find("\"step\":");
    if (pos != std::string::npos && std::atol(line.c_str() + pos + 7) > step) break;
    kept += line + "\n";
  }
  in.close();
  write_file_atomically(path, kept);
}

// The weight average of train.ema in a full checkpoint.
const std::string kEmaKey = "ema/average";

constexpr std::uint64_t kDropoutSeedOffset = 0x9E3779B97F4A7C15ULL;
// Rank r > 0 of a multi-process run draws dropout from seed + offset + r · stride (rank 0 draws
// what a single process draws).
constexpr std::uint64_t kRankSeedStride = 0xBF58476D1CE4E5B9ULL;
// Worker thread w > 0 of a rank adds w · stride (worker 0 draws what the rank draws).
constexpr std::uint64_t kWorkerSeedStride = 0x94D049BB133111EBULL;

std::uint64_t dropout_seed(std::uint64_t seed, int rank, int worker = 0) {
  return seed + kDropoutSeedOffset + static_cast<std::uint64_t>(rank) * kRankSeedStride +
         static_cast<std::uint64_t>(worker) * kWorkerSeedStride;
}

// A count kept in a checkpoint's scalars: a whole number in [min, 2^31). Throws naming the field.
long checked_whole(const Checkpoint& c, const std::string& key, long min) {
  const double value = c.scalar(key);
  if (!(value >= static_cast<double>(min) && value < 2147483648.0 && value == std::floor(value)))
    throw std::runtime_error("damaged checkpoint: " + key + " is " + std::to_string(value) +
                             ", not a whole number from " + std::to_string(min));
  return static_cast<long>(value);
}

// Checkpoint key of the RNG state of rank r's worker w ("rng" for rank 0's worker 0, as in
// single-process checkpoints).
std::string rng_key(int rank, int worker = 0) {
  std::string key = rank == 0 ? "rng" : "rng.rank" + std::to_string(rank);
  if (worker > 0) key += ".worker" + std::to_string(worker);
  return key;
}

}  // namespace

std::string validation_checkpoint_name(long step) {
  return "step-" + std::to_string(step) + ".ckpt";
}

std::vector<std::pair<long, std::string>> validation_checkpoints(const std::string& dir) {
  static const std::regex name(R"(step-([0-9]{1,18})\.ckpt)");
  std::vector<std::pair<long, std::string>> found;
  std::error_code error;
  for (const auto& entry : std::filesystem::directory_iterator(dir, error)) {
    std::smatch m;
    const std::string file = entry.path().filename().string();
    if (std::regex_match(file, m, name)) found.emplace_back(std::stol(m[1]), entry.path().string());
  }
  std::sort(found.begin(), found.end());
  return found;
}

Trainer::Trainer(const RunConfig& config, Seq2SeqModel<float>& model,
                 const std::vector<SequencePair>& train, const DevSet* dev, TrainerContext context)
    : config_(config),
      model_(model),
      dev_(dev),
      context_(context),
      stream_(train, batching_config(config.train), config.train.seed),
      optimizer_(make_optimizer<float>(optimizer_config(config.train))),
      schedule_(schedule_config(config.train)),
      rng_(dropout_seed(config.train.seed, context.comm.rank())) {
  if (train.empty()) throw std::invalid_argument("no training data");
  if (!context_.comm.is_root()) context_.out = nullptr;  // rank 0 alone prints
  loss_options_.label_smoothing = config.train.label_smoothing;
  loss_options_.normalization = parse_loss_normalization(config.train.normalization);
  loss_options_.sampling_ratio = config.train.sampling_ratio;
  loss_options_.coverage_loss = config.train.coverage_loss;
  stream_.seek(0);
  if (config.train.ema) ema_.emplace(config.train.ema_decay);
  const int W = config.train.workers;
  if (W > 1) {
    std::vector<Rng> rngs;
    for (int w = 1; w < W; ++w)
      rngs.emplace_back(dropout_seed(config.train.seed, context.comm.rank(), w));
    const uword src_vocab = model.source_vocab_size(), tgt_vocab = model.target_vocab_size();
    workers_ = std::make_unique<GradientWorkers>(
        [&] { return make_model<float>(config.model, src_vocab, tgt_vocab); }, std::move(rngs));
  }
}

Trainer::~Trainer() = default;

void Trainer::resume(const Checkpoint& c) {
  // Every field is checked before it is used: a checksum only proves the bytes are the ones
  // written, and a cast of NaN or 1e30 to an integer is undefined (a NaN step made resume hang).
  const double seed = c.scalar("seed");
  if (seed != static_cast<double>(config_.train.seed))
    throw std::runtime_error("checkpoint was trained with train.seed " + std::to_string(seed) +
                             ", the config says " + std::to_string(config_.train.seed));
  const long step = checked_whole(c, "step", 0);
  const long epoch = checked_whole(c, "epoch", 0);
  const long position = checked_whole(c, "position", 0);
  const long validated = checked_whole(c, "last_validated_step", -1);
  const long bad_validations = checked_whole(c, "bad_validations", 0);
  const long interval_steps = checked_whole(c, "interval_steps", 0);
  const long decays = checked_whole(c, "schedule.decays", 0);
  const long schedule_bad = checked_whole(c, "schedule.bad_validations", 0);
  for (const char* key : {"best", "elapsed", "interval_loss", "schedule.best"})
    if (!std::isfinite(c.scalar(key)))
      throw std::runtime_error(std::string("damaged checkpoint: ") + key + " is not finite");
  load_parameters(c, model_.params());
  load_optimizer(c, *optimizer_);
  step_ = step;
  try {
    stream_.seek(BatchCursor{config_.train.seed, static_cast<std::uint64_t>(epoch),
                             static_cast<std::size_t>(position)});
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("damaged checkpoint or other training data: ") +
                             e.what());
  }
  // A rank the checkpoint has no state for (resumed with more ranks) starts a fresh stream.
  const int rank = context_.comm.rank();
  for (int w = 0; w < config_.train.workers; ++w) {
    Rng& rng = w == 0 ? rng_ : workers_->rng(w);
    if ((rank == 0 && w == 0) || c.texts.count(rng_key(rank, w)) != 0) {
      try {
        rng.set_state(c.text(rng_key(rank, w)));
      } catch (const std::invalid_argument& e) {
        throw std::runtime_error("damaged checkpoint: " + rng_key(rank, w) + " is " + e.what());
      }
    }
    else
      rng = Rng(dropout_seed(config_.train.seed, rank, w) + static_cast<std::uint64_t>(step_));
  }
  best_ = c.scalar("best");
  has_best_ = c.scalar("has_best") != 0;
  bad_validations_ = static_cast<int>(bad_validations);
  last_validated_step_ = validated;
  elapsed_before_ = c.scalar("elapsed");
  interval_loss_ = c.scalar("interval_loss");
  interval_steps_ = interval_steps;
  // Checkpoints before this field: NaN, as at the start of a run.
  last_loss_ = c.scalars.count("last_loss") != 0 ? c.scalar("last_loss") : NAN;
  LearningRateSchedule::State s;
  s.decays = static_cast<int>(decays);
  s.bad_validations = static_cast<int>(schedule_bad);
  s.best = c.scalar("schedule.best");
  s.has_best = c.scalar("schedule.has_best") != 0;
  schedule_.set_state(s);
  if (ema_) {
    const auto it = c.tensors.find(kEmaKey);
    if (it == c.tensors.end())
      throw std::runtime_error("checkpoint has no weight average (it was trained without "
                               "train.ema)");
    if (it->second.data.size() != model_.params().size())
      throw std::runtime_error("damaged checkpoint: its weight average has " +
                               std::to_string(it->second.data.size()) + " values, the model " +
                               std::to_string(model_.params().size()));
    ema_->average() = arma::fvec(it->second.data);
    ema_resumed_ = true;
  }
  if (!context_.comm.is_root()) return;
  truncate_log(config_.train.output_dir + "/train_log.jsonl", step_);
  log_.open(config_.train.output_dir + "/train_log.jsonl", std::ios::app);
}

Checkpoint Trainer::make_checkpoint(
    bool full, const std::vector<std::pair<std::string, std::string>>& rng_states) const {
  Checkpoint c;
  save_parameters(model_.params(), c);
  c.scalars["step"] = static_cast<double>(step_);
  c.scalars["seed"] = static_cast<double>(config_.train.seed);
  for (const auto& [key, text] : context_.checkpoint_texts) c.texts[key] = text;
  if (!full) return c;
  save_optimizer(*optimizer_, c);
  if (ema_) {
    const arma::fvec& a = ema_->average();
    c.tensors[kEmaKey] = TensorRecord{a.n_elem, 1, std::vector<float>(a.begin(), a.end())};
  }
  const BatchCursor cursor = stream_.cursor();
  c.scalars["epoch"] = static_cast<double>(cursor.epoch);
  c.scalars["position"] = static_cast<double>(cursor.position);
  for (const auto& [key, state] : rng_states) c.texts[key] = state;
  c.scalars["best"] = best_;
  c.scalars["has_best"] = has_best_;
  c.scalars["bad_validations"] = bad_validations_;
  c.scalars["last_validated_step"] = static_cast<double>(last_validated_step_);
  c.scalars["elapsed"] = elapsed();
  c.scalars["interval_loss"] = interval_loss_;
  c.scalars["interval_steps"] = static_cast<double>(interval_steps_);
  c.scalars["last_loss"] = last_loss_;
  const auto& s = schedule_.state();
  c.scalars["schedule.decays"] = s.decays;
  c.scalars["schedule.bad_validations"] = s.bad_validations;
  c.scalars["schedule.best"] = s.best;
  c.scalars["schedule.has_best"] = s.has_best;
  return c;
}

void Trainer::save(const std::string& file, bool full) const {
  std::vector<std::pair<std::string, std::string>> rng_states;
  for (int w = 0; full && w < config_.train.workers; ++w) {
    const std::vector<std::string> states =
        context_.comm.gather_text(w == 0 ? rng_.state() : workers_->rng(w).state());
    for (std::size_t r = 0; r < states.size(); ++r)
      rng_states.emplace_back(rng_key(static_cast<int>(r), w), states[r]);
  }
  if (context_.comm.is_root())
    save_checkpoint(config_.train.output_dir + "/" + file, make_checkpoint(full, rng_states));
}

void Trainer::keep_validation_checkpoint() const {
  if (config_.train.keep_checkpoints == 0 || !context_.comm.is_root()) return;
  const std::string dir = config_.train.output_dir;
  save_checkpoint(dir + "/" + validation_checkpoint_name(step_), make_checkpoint(false, {}));
  const std::vector<std::pair<long, std::string>> kept = validation_checkpoints(dir);
  const std::size_t keep = static_cast<std::size_t>(config_.train.keep_checkpoints);
  for (std::size_t i = 0; i + keep < kept.size(); ++i) std::filesystem::remove(kept[i].second);
}

void Trainer::swap_in_average() {
  if (!ema_) return;
  raw_weights_ = model_.params().values();
  model_.params().values() = ema_->average();
}

void Trainer::swap_out_average() {
  if (!ema_) return;
  model_.params().values() = raw_weights_;
}

double Trainer::elapsed() const {
  return elapsed_before_ +
         std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

bool Trainer::done() const {
  const auto& t = config_.train;
  if (t.max_steps > 0 && step_ >= t.max_steps) return true;
  if (t.epochs > 0 && stream_.epoch() >= static_cast<std::uint64_t>(t.epochs)) return true;
  return t.patience > 0 && bad_validations_ >= t.patience;
}

Trainer::Validation Trainer::validate() {
  Validation v;
  if (dev_ == nullptr || dev_->pairs.empty()) return v;
  // Teacher-forced loss: negative log-likelihood per target token, no dropout, no smoothing.
  std::vector<std::size_t> order(dev_->pairs.size());
  std::iota(order.begin(), order.end(), 0);
  double nll = 0.0, tokens = 0.0;
  LossOptions plain;
  const std::size_t batch_size = 64;
  for (std::size_t start = 0; start < order.size(); start += batch_size) {
    const std::vector<std::size_t> idx(order.begin() + start,
                                       order.begin() + std::min(order.size(), start + batch_size));
    const Batch batch = make_batch(dev_->pairs, idx);
    const LossStats s = model_.forward_backward(batch, plain, false, false, rng_);
    nll += s.nll_sum;
    tokens += s.tokens;
  }
  v.loss = tokens > 0 ? nll / tokens : 0.0;
  if (context_.target_vocab != nullptr && context_.target_tokenizer != nullptr) {
    std::vector<std::vector<Index>> sources;
    sources.reserve(dev_->pairs.size());
    for (const auto& p : dev_->pairs) sources.push_back(p.source);
    DecodeOptions options;
    const auto& t = config_.train;
    options.beam_size = static_cast<uword>(t.valid_beam > 0 ? t.valid_beam : config_.decode.beam_size);
    if (t.valid_beam == 0) {
      options.length_penalty = config_.decode.length_penalty;
      options.coverage_penalty = config_.decode.coverage_penalty;
    }
    options.max_length_ratio = config_.decode.max_length_ratio;
    options.max_length_extra = static_cast<uword>(config_.decode.max_length_extra);
    const auto translations =
        translate(model_, sources, *context_.target_vocab, *context_.target_tokenizer, options,
                  64, workers_ ? &workers_->pool() : nullptr, {}, dev_->source_oovs);
    std::vector<std::string> hyps;
    hyps.reserve(translations.size());
    for (const auto& t : translations) hyps.push_back(t.text);
    v.metrics = score_all(hyps, dev_->references);
  }
  return v;
}

void Trainer::log_line(double train_loss, const Validation* validation, double tokens_per_s) {
  if (!log_.is_open()) return;
  char buf[512];
  int n = std::snprintf(buf, sizeof buf, "{\"step\":%ld,\"epoch\":%llu,\"lr\":%.9g", step_,
                        static_cast<unsigned long long>(stream_.epoch()), schedule_.lr(step_));
  std::string line(buf, n);
  if (!std::isnan(train_loss)) {
    std::snprintf(buf, sizeof buf, ",\"train_loss\":%.9g", train_loss);
    line += buf;
  }
  if (validation != nullptr) {
    const auto& m = validation->metrics;
    std::snprintf(buf, sizeof buf,
                  ",\"dev_loss\":%.9g,\"dev_per\":%.6g,\"dev_wer\":%.6g,\"dev_acc\":%.6g,"
                  "\"dev_bleu\":%.6g,\"dev_chrf\":%.6g",
                  validation->loss, m.per, m.wer, m.acc, m.bleu, m.chrf);
    line += buf;
  }
  std::snprintf(buf, sizeof buf, ",\"tokens_per_s\":%.1f,\"elapsed_s\":%.3f}\n", tokens_per_s,
                elapsed());
  line += buf;
  log_ << line;
  log_.flush();
}

void Trainer::show_progress(double loss, double tokens_per_s) {
  if (context_.out == nullptr) return;
  const auto& t = config_.train;
  long total = 0;
  if (t.epochs > 0)
    total = static_cast<long>(t.epochs * ((stream_.batches_in_epoch() + t.accumulate - 1) /
                                          static_cast<std::size_t>(t.accumulate)));
  if (t.max_steps > 0) total = total > 0 ? std::min<long>(total, t.max_steps) : t.max_steps;
  char buf[256];
  if (context_.interactive) {
    const double fraction = total > 0 ? std::min(1.0, double(step_) / total) : 0.0;
    const int width = 24, filled = static_cast<int>(fraction * width);
    const double per_step = step_ > 0 ? elapsed() / step_ : 0.0;
    std::snprintf(buf, sizeof buf,
                  "\rstep %ld/%ld [%s%s] %3.0f%% loss %.4f %.1fk tok/s ETA %s   ", step_, total,
                  std::string(filled, '#').c_str(), std::string(width - filled, '.').c_str(),
                  100 * fraction, loss, tokens_per_s / 1000,
                  format_duration(per_step * std::max<long>(0, total - step_)).c_str());
    *context_.out << buf << std::flush;
  } else {
    std::snprintf(buf, sizeof buf, "step %ld/%ld epoch %llu lr %.3g loss %.4f %.1fk tok/s %s\n",
                  step_, total, static_cast<unsigned long long>(stream_.epoch()),
                  schedule_.lr(step_), loss, tokens_per_s / 1000, format_duration(elapsed()).c_str());
    *context_.out << buf << std::flush;
  }
}

TrainSummary Trainer::run() {
  start_ = std::chrono::steady_clock::now();
  const Communicator& comm = context_.comm;
  if (comm.is_root()) {
    if (!log_.is_open()) {
      log_.open(config_.train.output_dir + "/train_log.jsonl", std::ios::trunc);
      if (!context_.log_header.empty()) log_ << context_.log_header << "\n" << std::flush;
    }
    if (!log_) throw std::runtime_error(config_.train.output_dir + "/train_log.jsonl: cannot write");
  }
  // Identical by construction (same seed or same checkpoint); the broadcast makes it certain.
  comm.broadcast(model_.params().values().memptr(), model_.params().values().n_elem);
  if (ema_ && !ema_resumed_) ema_->reset(model_.params().values());
  const auto& t = config_.train;
  const Metric metric = parse_metric(t.early_stopping_metric);

  auto run_validation = [&](double train_loss, double tokens_per_s) {
    last_validated_step_ = step_;
    swap_in_average();  // train.ema: the average is what is validated and kept as best
    // Rank 0 validates; the others wait for its result in the broadcast.
    const Validation v = comm.is_root() ? validate() : Validation{};
    const double value = metric == Metric::kLoss ? v.loss : metric_value(v.metrics, metric);
    double key = metric_higher_is_better(metric) ? -value : value;  // lower is better
    comm.broadcast(&key, 1);
    schedule_.report_validation(key);
    if (!has_best_ || key < best_) {
      best_ = key;
      has_best_ = true;
      bad_validations_ = 0;
      save("best.ckpt", false);
    } else {
      ++bad_validations_;
    }
    keep_validation_checkpoint();
    swap_out_average();
    log_line(train_loss, &v, tokens_per_s);
    save("last.ckpt", true);
    if (context_.out != nullptr && comm.is_root()) {
      char buf[256];
      std::snprintf(buf, sizeof buf,
                    "%svalidation at step %ld: dev loss %.4f  PER %.2f  WER %.2f  acc %.2f  "
                    "BLEU %.2f  chrF %.2f%s\n",
                    context_.interactive ? "\n" : "", step_, v.loss, v.metrics.per, v.metrics.wer,
                    v.metrics.acc, v.metrics.bleu, v.metrics.chrf,
                    bad_validations_ == 0 ? "  (best)" : "");
      *context_.out << buf << std::flush;
    }
  };

  double interval_tokens = 0.0;
  auto interval_start = std::chrono::steady_clock::now();
  double last_rate = 0.0;
  // One optimizer step takes train.accumulate batches (the last step of an epoch may take
  // fewer); the buffers are reused from step to step.
  std::vector<Batch> group(static_cast<std::size_t>(t.accumulate));
  std::vector<const Batch*> taken;
  while (!done()) {
    taken.clear();
    while (taken.size() < group.size() && stream_.next(group[taken.size()]))
      taken.push_back(&group[taken.size()]);
    if (taken.empty()) {  // the epoch is over
      stream_.seek(stream_.epoch() + 1);
      if (dev_ != nullptr && t.valid_every == 0) run_validation(last_loss_, last_rate);
      continue;
    }
    ++step_;
    model_.params().zero_grad();
    const LossStats s =
        t.accumulate > 1 || comm.size() > 1 || workers_
            ? accumulated_forward_backward(model_, taken, loss_options_, comm, rng_, workers_.get())
            : model_.forward_backward(group[0], loss_options_, true, true, rng_);
    // A non-finite loss would turn every parameter into NaN at this step's update: stop before
    // it, with last.ckpt as the last validation or checkpoint left it (every rank sees the same
    // global loss, so every rank stops).
    if (!std::isfinite(s.loss))
      throw std::runtime_error(
          "the training loss is " + std::string(std::isnan(s.loss) ? "NaN" : "infinite") +
          " at step " + std::to_string(step_) + " (epoch " + std::to_string(stream_.epoch()) +
          "); the parameters were not updated. Lower train.lr or set train.clip_norm, and "
          "resume from last.ckpt");
    WorkerPool* pool = workers_ ? &workers_->pool() : nullptr;
    if (t.clip_norm > 0) clip_grad_norm(model_.params().grads(), t.clip_norm, pool);
    optimizer_->step(model_.params(), schedule_.lr(step_), pool);
    if (ema_) ema_->update(model_.params().values());
    interval_loss_ += s.loss;
    interval_tokens += s.tokens;
    ++interval_steps_;
    if (step_ % t.log_every == 0 || done()) {
      const auto now = std::chrono::steady_clock::now();
      const double seconds = std::chrono::duration<double>(now - interval_start).count();
      last_loss_ = interval_loss_ / interval_steps_;
      last_rate = seconds > 0 ? interval_tokens / seconds : 0.0;
      log_line(last_loss_, nullptr, last_rate);
      show_progress(last_loss_, last_rate);
      interval_loss_ = interval_tokens = 0.0;
      interval_steps_ = 0;
      interval_start = now;
    }
    if (dev_ != nullptr && t.valid_every > 0 && step_ % t.valid_every == 0)
      run_validation(last_loss_, last_rate);
    // A run without a dev set, or with rare validations, can still be resumed after a kill.
    if (t.checkpoint_every > 0 && step_ % t.checkpoint_every == 0 &&
        last_validated_step_ != step_ && !done())
      save("last.ckpt", true);
  }
  if (context_.out != nullptr && context_.interactive) *context_.out << "\n";
  // The final parameters are always validated, so best.ckpt exists even when training stopped
  // before the first scheduled validation.
  if (dev_ != nullptr && step_ != last_validated_step_) run_validation(last_loss_, last_rate);
  save("last.ckpt", true);
  if (dev_ == nullptr) {
    swap_in_average();
    save("best.ckpt", false);
    swap_out_average();
  }

  TrainSummary summary;
  summary.steps = step_;
  summary.epochs = stream_.epoch();
  summary.has_best = has_best_;
  summary.best_metric = metric_higher_is_better(metric) ? -best_ : best_;
  summary.stopped_early = t.patience > 0 && bad_validations_ >= t.patience;
  summary.elapsed_seconds = elapsed();
  return summary;
}

}  // namespace s2s
