// s2s train --config FILE [--section.key VALUE ...] | --resume DIR  [--check]
#include <unistd.h>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <optional>
#include <sstream>

#include "cli_util.hpp"
#include "config_schema.hpp"
#include "model_dir.hpp"
#include "s2s/core/blas_setup.hpp"
#include "s2s/core/gemm.hpp"
#include "s2s/core/provenance.hpp"
#include "s2s/data/task_data.hpp"
#include "s2s/models/model_factory.hpp"
#include "s2s/training/distributed.hpp"
#include "s2s/training/param_io.hpp"
#include "s2s/training/trainer.hpp"

namespace po = boost::program_options;
namespace fs = std::filesystem;

namespace s2s::app {

namespace {

// Decodes the test set with the best checkpoint and writes DIR/test_hyps.txt (one output per
// test line), then DIR/test_metrics.json, atomically: experiments/run_experiment.py takes the
// metrics file for "this run is finished".
void evaluate_test(const RunConfig& config, Seq2SeqModel<float>& model, const Codec& codec,
                   const std::string& dir, const EvalData& test) {
  load_parameters(load_checkpoint(dir + "/best.ckpt"), model.params());
  std::vector<std::vector<std::string>> oovs;
  const std::vector<std::vector<Index>> sources = codec.encode_sources(test.sources, oovs);
  DecodeFlags flags;
  WorkerPool pool(config.train.workers);  // BLAS threads as training had them
  const auto translations = translate(model, sources, codec.target_vocab, *codec.target_tokenizer,
                                      flags.resolve(config.decode), flags.batch_size, &pool, {},
                                      oovs);
  std::vector<std::string> hyps;
  for (const auto& t : translations) hyps.push_back(t.text);
  const EvalMetrics m = score_all(hyps, test.references);
  std::cout << "test (" << config.data.test << ", beam " << config.decode.beam_size << "):\n";
  print_metrics(std::cout, m, false);
  std::string hyps_text;
  for (const auto& h : hyps) hyps_text += h + "\n";
  write_file_atomically(dir + "/test_hyps.txt", hyps_text);
  std::ostringstream json;
  print_metrics(json, m, true);
  write_file_atomically(dir + "/test_metrics.json", json.str());
}

// The resumed run's record in DIR/model.json, or nullopt (with a warning) when there is none to
// compare this run's setup with.
std::optional<ModelRecord> previous_record(const std::string& dir) {
  std::optional<ModelRecord> record;
  try {
    record = read_model_record(dir);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "s2s train: warning: %s; this resume's setup is not compared\n", e.what());
    return std::nullopt;
  }
  if (!record)
    std::fprintf(stderr, "s2s train: warning: %s/model.json records no provenance (an older "
                         "s2s); this resume's setup is not compared\n", dir.c_str());
  return record;
}

// Resuming on another setup breaks bit-identity with a run that went straight through (unless
// only the CPU changed under portable mode): one line says what changed. The change is kept in
// model.json's "resumes".
void note_resume_setup(ModelRecord& record, const Provenance& now, long step) {
  const std::vector<std::string> changes = provenance_differences(record.latest(), now);
  if (changes.empty()) return;
  std::string list;
  for (const std::string& c : changes) list += (list.empty() ? "" : "; ") + c;
  if (differences_keep_portable_bits(record.latest(), now))
    std::fprintf(stderr, "s2s train: note: resuming on another CPU (%s); portable mode keeps the "
                         "run bit-identical\n", list.c_str());
  else
    std::fprintf(stderr, "s2s train: warning: resuming with a changed setup (%s): the run is no "
                         "longer bit-identical to one without the interruption\n", list.c_str());
  record.resumes.emplace_back(step, now);
}

// --check: the configuration parses and validates, the data files exist, the model builds.
void check_config(const RunConfig& config) {
  for (const std::string& path : {config.data.train, config.data.train_tgt, config.data.dev,
                                  config.data.dev_tgt, config.data.test, config.data.test_tgt})
    if (!path.empty() && !fs::exists(path)) throw std::runtime_error(path + ": no such file");
  const auto model = make_model<float>(config.model, 16, 16);
  std::cout << "config ok: " << model->describe() << " (with 16-token vocabularies)\n";
}

// Everything after the checks: the directory, the data, the model, training and the test set.
// `started` turns true when training begins.
int train_in(const RunConfig& config, const std::string& dir, bool resume, bool quiet,
             const Communicator& comm, bool& started) {
  std::optional<ModelRecord> record;
  if (resume && comm.is_root()) record = previous_record(dir);
  if (comm.is_root()) {
    fs::create_directories(dir);
    RunConfig copy = config;
    ConfigSchema schema(copy);
    write_file_atomically(dir + "/config.ini", schema.to_ini());
  }
  // Worker threads (train.workers) each run single-threaded BLAS unless train.threads says
  // otherwise: two levels of threads on the same cores only wait for each other.
  const Reproducibility mode = parse_reproducibility(config.train.reproducible);
  if (mode == Reproducibility::kPortable)
    set_blas_num_threads(1);
  else if (config.train.threads > 0)
    set_blas_num_threads(config.train.threads);
  else if (config.train.workers > 1)
    set_blas_num_threads(1);
  const Provenance provenance = current_provenance(mode, config.train.workers, comm.size());

  // Rank 0 builds the vocabularies (and SentencePiece models) and writes them; then the others
  // load them, so every rank maps text to the same ids.
  // Every data file is read and checked now, with file and line in every message, not when
  // training or the test set reaches it.
  const std::size_t max_length = model_max_length(config.model);
  TrainingData data;
  PrepareOptions prepare{resume, max_length, config.model.copy};
  if (comm.is_root()) data = prepare_training_data(config.data, dir, prepare);
  comm.barrier();
  prepare.reuse_codec = true;
  if (!comm.is_root()) data = prepare_training_data(config.data, dir, prepare);
  std::optional<EvalData> test;
  if (!config.data.test.empty() && comm.is_root()) {
    test = read_eval_data(config.data.test, config.data.test_tgt.empty()
                                                ? std::vector<std::string>{}
                                                : std::vector<std::string>{config.data.test_tgt});
    check_source_lengths(*test, data.codec, max_length);
  }
  auto model = make_model<float>(config.model, data.codec.source_vocab.size(),
                                 data.codec.target_vocab.size());
  Rng init_rng(config.train.seed);
  model->init(init_rng);
  const bool compare_setup = record.has_value();
  if (!record) record.emplace();
  record->description = model->describe();
  record->parameters = model->params().size();
  if (!compare_setup) record->provenance = provenance;
  if (comm.is_root()) write_model_record(*record, dir);
  if (!quiet) {
    std::cout << "s2s train: " << model->describe() << "\n"
              << "data: " << data.train.size() << " training pairs ("
              << data.train_filter.dropped() << " filtered), " << data.dev.pairs.size()
              << " dev; vocab " << data.codec.source_vocab.size() << " -> "
              << data.codec.target_vocab.size() << "\n"
              << "BLAS: " << blas_description() << "\n"
              << "model directory: " << dir << "\n";
  }
  TrainerContext context;
  context.target_vocab = &data.codec.target_vocab;
  context.target_tokenizer = data.codec.target_tokenizer.get();
  context.out = quiet ? nullptr : &std::cout;
  context.interactive = ::isatty(STDOUT_FILENO) != 0;
  context.comm = comm;
  context.log_header = "{\"provenance\": " + provenance.json() + "}";
  if (comm.is_root()) add_vocabulary_digests(dir, context.checkpoint_texts);
  Trainer trainer(config, *model, data.train, config.data.dev.empty() ? nullptr : &data.dev,
                  context);
  if (resume) {
    const std::string path = dir + "/last.ckpt";
    const Checkpoint checkpoint = load_checkpoint(path);
    check_checkpoint_version(checkpoint, path);
    check_vocabulary_digests(checkpoint, dir, path);
    try {
      trainer.resume(checkpoint);
    } catch (const std::exception& e) {
      throw std::runtime_error(path + ": " + e.what());
    }
    if (compare_setup && comm.is_root()) {
      note_resume_setup(*record, provenance, static_cast<long>(checkpoint.scalar("step")));
      write_model_record(*record, dir);
    }
  }
  started = true;
  const TrainSummary summary = trainer.run();
  if (!quiet && comm.size() > 1)
    std::printf("%d processes (MPI), global batch %d %s\n", comm.size(), config.train.batch_size,
                config.train.batch_unit.c_str());
  if (!quiet) {
    std::printf("trained %ld steps, %llu epochs in %.1f s%s\n", summary.steps,
                static_cast<unsigned long long>(summary.epochs), summary.elapsed_seconds,
                summary.stopped_early ? " (early stop)" : "");
    if (summary.has_best)
      std::printf("best dev %s: %.4f\n", config.train.early_stopping_metric.c_str(),
                  summary.best_metric);
    std::fflush(stdout);
  }
  if (test) evaluate_test(config, *model, data.codec, dir, *test);
  return 0;
}

}  // namespace

int run_train(const Args& args) {
  std::string config_path, resume_dir;
  bool overwrite = false, quiet = false, check = false;
  po::options_description opts("s2s train options");
  opts.add_options()
      ("help", "this message (with every config key and its default)")
      ("config", po::value<std::string>(&config_path), "INI config file (see docs/config.md)")
      ("resume", po::value<std::string>(&resume_dir), "continue the training in this model directory exactly where its last checkpoint stands")
      ("overwrite", po::bool_switch(&overwrite), "replace a trained model already in train.output_dir")
      ("quiet", po::bool_switch(&quiet), "no progress output")
      ("check", po::bool_switch(&check), "check the config, the data paths and the model; train nothing");
  po::variables_map vm;
  Args overrides;
  parse_args(args, opts, vm, &overrides);
  if (vm.count("help")) {
    RunConfig defaults;
    ConfigSchema schema(defaults);
    print_usage("train --config FILE [--section.key VALUE ...] | --resume DIR", opts);
    std::cout << schema.options() << "\n";
    return 0;
  }
  const bool resume = !resume_dir.empty();
  if (resume && !config_path.empty())
    throw UsageError("--resume takes its config from the model directory; drop --config");
  if (!resume && config_path.empty()) throw UsageError("--config FILE or --resume DIR is required");

  RunConfig config;
  if (resume) {
    if (!fs::exists(resume_dir + "/last.ckpt"))
      throw std::runtime_error(resume_dir + ": nothing to resume (no last.ckpt)");
    overrides.push_back("--train.output_dir=" + resume_dir);
    config = load_config(resume_dir + "/config.ini", overrides);
  } else {
    config = load_config(config_path, overrides);
  }
  if (config.data.train.empty()) throw UsageError("data.train is not set");
  if (check) {
    check_config(config);
    return 0;
  }
  // Under mpirun every rank runs this; rank 0 alone prints and writes, the others read what it
  // wrote (train.output_dir must be on a file system all ranks see).
  const Reproducibility mode = parse_reproducibility(config.train.reproducible);
  enter_reproducibility(mode, "train.reproducible = portable");  // may restart the program
  try {  // before anything is written
    gemm::set_precision(gemm::parse_precision(config.train.precision));
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("train.precision = bf16: ") + e.what());
  }
  Communicator comm = Communicator::world();
  comm.set_ordered_sums(mode == Reproducibility::kPortable);
  if (!comm.is_root()) quiet = true;
  const std::string dir = config.train.output_dir;
  if (!resume && fs::exists(dir + "/last.ckpt") && !overwrite)
    throw std::runtime_error(dir + " already holds a trained model; use --resume " + dir +
                             ", another train.output_dir, or --overwrite");
  const bool dir_existed = fs::exists(dir);
  if (comm.is_root()) {
    // --overwrite replaces the old run before anything of the new one is written: a kill before
    // the new run's first checkpoint then leaves nothing to resume, never the old parameters
    // under the new config.
    if (overwrite && !resume)
      remove_run_files(dir);
    else
      remove_stale_temporaries(dir);
  }
  bool started = false;
  try {
    return train_in(config, dir, resume, quiet, comm, started);
  } catch (...) {
    // A run refused before it trained leaves nothing behind (a resumed run keeps its directory).
    if (!resume && !started && comm.is_root()) {
      remove_run_files(dir);
      std::error_code error;
      if (!dir_existed) fs::remove(dir, error);  // only if empty
    }
    throw;
  }
}

}  // namespace s2s::app
