// The training machinery of published recipes: gradient accumulation (train.accumulate), an
// exponential moving average of the weights (train.ema), checkpoint averaging
// (train.keep_checkpoints + s2s average) and beam-search validation (train.valid_beam). The
// arithmetic of accumulation is in tests/test_data_parallel.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <regex>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "task_helpers.hpp"
#include "s2s/core/checkpoint.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/decoding/ensemble.hpp"
#include "s2s/models/model_factory.hpp"
#include "s2s/training/weight_averaging.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

const char* const kRecipe =
    "[model]\ncell = gru\nattention = bahdanau\nembed_size = 8\nhidden_size = 16\n"
    "dropout = 0.2\n"
    "[train]\nseed = 3\nepochs = 0\nmax_steps = 40\nbatch_size = 16\nvalid_every = 10\n"
    "log_every = 5\nlr = 0.01\n";

struct Task {
  TempDir dir;
  std::string config = write_reverse_task(dir, 300, 6, kRecipe);

  CliResult train(const std::string& name, std::vector<std::string> extra = {}) const {
    std::vector<std::string> args = {"train", "--config", config, "--quiet",
                                     "--train.output_dir", dir.file(name)};
    args.insert(args.end(), extra.begin(), extra.end());
    return run_cli(args);
  }
  std::string run(const std::string& name) const { return dir.file(name); }
};

std::vector<float> parameters_of(const Checkpoint& c) {
  std::vector<float> all;
  for (const auto& [key, tensor] : c.tensors)
    if (key.rfind("param/", 0) == 0) all.insert(all.end(), tensor.data.begin(), tensor.data.end());
  return all;
}

std::vector<float> parameters_of(const std::string& path) {
  return parameters_of(load_checkpoint(path));
}

std::string log_without_timing(const std::string& path) {
  static const std::regex timing(R"(,"tokens_per_s":[^,}]*|,"elapsed_s":[^,}]*)");
  return std::regex_replace(read_whole_file(path), timing, "");
}

// The dev metric of the validation at `step`, as the log prints it.
double logged(const std::string& log_path, long step, const std::string& field) {
  const std::string log = read_whole_file(log_path);
  const std::regex line("\\{\"step\":" + std::to_string(step) + ",[^\\n]*\"" + field +
                        "\":([-0-9.e+]+)");
  std::smatch m;
  REQUIRE(std::regex_search(log, m, line));
  return std::stod(m[1]);
}

// Trains runs "straight" (40 steps) and "resumed" (20 steps, then --resume to 40) with `extra`:
// the same best.ckpt bytes and the same log.
void check_resume_is_exact(const Task& task, const std::vector<std::string>& extra) {
  REQUIRE(task.train("straight", extra).exit_code == 0);
  std::vector<std::string> first = extra;
  first.insert(first.end(), {"--train.max_steps", "20"});
  REQUIRE(task.train("resumed", first).exit_code == 0);
  REQUIRE(run_cli({"train", "--resume", task.run("resumed"), "--quiet", "--train.max_steps", "40"})
              .exit_code == 0);
  CHECK(read_whole_file(task.run("straight") + "/best.ckpt") ==
        read_whole_file(task.run("resumed") + "/best.ckpt"));
  CHECK(log_without_timing(task.run("straight") + "/train_log.jsonl") ==
        log_without_timing(task.run("resumed") + "/train_log.jsonl"));
}

}  // namespace

TEST_CASE("The weight average follows a <- d a + (1 - d) theta. decay 0 is the weights",
          "[recipes][ema]") {
  arma::fvec t0 = {1.0f, -2.0f, 0.5f}, t1 = {3.0f, 0.0f, 0.25f}, t2 = {-1.0f, 4.0f, 1.0f};
  ParameterEma ema(0.9);
  ema.reset(t0);
  ema.update(t1);
  ema.update(t2);
  for (arma::uword i = 0; i < 3; ++i) {
    const double expected = 0.81 * t0[i] + 0.09 * t1[i] + 0.1 * t2[i];
    CHECK(ema.average()[i] == Approx(expected).epsilon(1e-6));
  }
  ParameterEma none(0.0);
  none.reset(t0);
  none.update(t1);
  none.update(t2);
  CHECK(arma::approx_equal(none.average(), t2, "absdiff", 0.0f));
}

TEST_CASE("The average of K copies of a checkpoint is that checkpoint, bit for bit",
          "[recipes][average]") {
  Checkpoint c;
  Rng rng(5);
  for (const char* name : {"param/a", "param/b"}) {
    arma::fmat m(3, 4);
    rng.fill_uniform(m, -1, 1);
    c.tensors[name] = TensorRecord{3, 4, std::vector<float>(m.begin(), m.end())};
  }
  c.tensors["optim/m"] = TensorRecord{1, 1, {7.0f}};  // not a parameter: dropped
  c.texts["src.vocab.digest"] = "0123";
  for (int k : {1, 3, 7}) {
    const Checkpoint average = average_checkpoints(std::vector<Checkpoint>(k, c));
    CHECK(parameters_of(average) == parameters_of(c));
    CHECK(average.tensors.count("optim/m") == 0);
    CHECK(average.texts == c.texts);
  }
  // Two different checkpoints: the mean.
  Checkpoint d = c;
  for (auto& [key, tensor] : d.tensors)
    for (float& v : tensor.data) v += 1.0f;
  const Checkpoint mean = average_checkpoints({c, d});
  for (std::size_t i = 0; i < c.tensors["param/a"].data.size(); ++i)
    CHECK(mean.tensors.at("param/a").data[i] ==
          Approx(c.tensors["param/a"].data[i] + 0.5f).margin(1e-6));
  // Checkpoints of different models are refused.
  Checkpoint other = c;
  other.tensors["param/b"].rows = 4;
  other.tensors["param/b"].cols = 3;
  CHECK_THROWS_WITH(average_checkpoints({c, other}), Catch::Contains("param/b") ||
                                                          Catch::Contains("b of the shape"));
  CHECK_THROWS(average_checkpoints({}));
}

TEST_CASE("train.ema with decay 0 trains and keeps exactly the run without it",
          "[recipes][ema]") {
  Task task;
  REQUIRE(task.train("plain").exit_code == 0);
  REQUIRE(task.train("ema0", {"--train.ema", "true", "--train.ema_decay", "0"}).exit_code == 0);
  CHECK(parameters_of(task.run("plain") + "/best.ckpt") ==
        parameters_of(task.run("ema0") + "/best.ckpt"));
  CHECK(log_without_timing(task.run("plain") + "/train_log.jsonl") ==
        log_without_timing(task.run("ema0") + "/train_log.jsonl"));
  // A real decay validates other weights, and last.ckpt keeps the average for resume.
  REQUIRE(task.train("ema", {"--train.ema", "true", "--train.ema_decay", "0.9"}).exit_code == 0);
  CHECK(parameters_of(task.run("ema") + "/best.ckpt") !=
        parameters_of(task.run("plain") + "/best.ckpt"));
  // The raw weights train on untouched by the average: last.ckpt's parameters are the plain run's.
  CHECK(parameters_of(task.run("ema") + "/last.ckpt") ==
        parameters_of(task.run("plain") + "/last.ckpt"));
  CHECK(load_checkpoint(task.run("ema") + "/last.ckpt").tensors.count("ema/average") == 1);
}

TEST_CASE("A run with train.ema resumed from its last.ckpt ends as the run without a break",
          "[recipes][ema]") {
  Task task;
  check_resume_is_exact(task, {"--train.ema", "true", "--train.ema_decay", "0.8"});
  CHECK(load_checkpoint(task.run("straight") + "/last.ckpt").tensors.at("ema/average").data ==
        load_checkpoint(task.run("resumed") + "/last.ckpt").tensors.at("ema/average").data);
  // A last.ckpt without an average cannot resume a run that keeps one.
  REQUIRE(task.train("no-ema", {"--train.max_steps", "20"}).exit_code == 0);
  const CliResult refused = run_cli({"train", "--resume", task.run("no-ema"), "--quiet",
                                     "--train.max_steps", "40", "--train.ema", "true"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err_is_one_line());
  CHECK(refused.err.find("no weight average") != std::string::npos);
}

TEST_CASE("train.accumulate takes several batches per step and resumes exactly",
          "[recipes][accumulate]") {
  Task task;
  check_resume_is_exact(task, {"--train.accumulate", "2", "--train.batch_size", "8"});
  // 40 steps of 2 batches of 8 read 640 sentences: 2 epochs of the 300 pairs, and a little.
  const std::string log = read_whole_file(task.run("straight") + "/train_log.jsonl");
  CHECK(log.find("{\"step\":40,\"epoch\":2,") != std::string::npos);
  // Accumulating 2 batches of 8 is not the same run as 1 batch of 8.
  REQUIRE(task.train("one", {"--train.batch_size", "8"}).exit_code == 0);
  CHECK(parameters_of(task.run("one") + "/last.ckpt") !=
        parameters_of(task.run("straight") + "/last.ckpt"));
  const CliResult bad = task.train("bad", {"--train.accumulate", "0"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("train.accumulate must be between 1 and 4096") != std::string::npos);
}

TEST_CASE("The cosine schedule's logged rate reaches train.min_lr at train.max_steps and resumes "
          "exactly", "[recipes][schedule]") {
  Task task;
  const std::vector<std::string> cosine = {"--train.schedule", "cosine", "--train.warmup_steps",
                                           "5", "--train.min_lr", "0.001"};
  std::vector<std::string> budget = cosine;
  budget.insert(budget.end(), {"--train.decay_steps", "40"});
  check_resume_is_exact(task, budget);
  // train.decay_steps = 0 (the default) decays over train.max_steps: the same run.
  REQUIRE(task.train("default", cosine).exit_code == 0);
  const std::string log = task.run("default") + "/train_log.jsonl";
  CHECK(log_without_timing(log) == log_without_timing(task.run("straight") + "/train_log.jsonl"));
  for (long step = 5; step <= 40; step += 5) {
    const double p = (step - 5) / 35.0;
    const double expected = 0.001 + (0.01 - 0.001) * 0.5 * (1 + std::cos(3.141592653589793 * p));
    INFO("step " << step);
    CHECK(logged(log, step, "lr") == Approx(expected).epsilon(1e-6));
  }
  CHECK(logged(log, 40, "lr") == Approx(0.001).epsilon(1e-6));
  // A different schedule is a different run (so the comparisons above can fail).
  REQUIRE(task.train("linear", {"--train.schedule", "linear", "--train.warmup_steps", "5",
                                "--train.min_lr", "0.001"}).exit_code == 0);
  CHECK(logged(task.run("linear") + "/train_log.jsonl", 20, "lr") != Approx(logged(log, 20, "lr")));
}

TEST_CASE("keep_checkpoints keeps the last K validations and s2s average averages them",
          "[recipes][average]") {
  Task task;
  REQUIRE(task.train("run", {"--train.keep_checkpoints", "3"}).exit_code == 0);
  const std::string dir = task.run("run");
  CHECK_FALSE(std::filesystem::exists(dir + "/step-10.ckpt"));
  for (int step : {20, 30, 40})
    CHECK(std::filesystem::exists(dir + "/step-" + std::to_string(step) + ".ckpt"));
  // The last validation's weights are the final ones (no EMA): step-40 = last.ckpt's parameters.
  CHECK(parameters_of(dir + "/step-40.ckpt") == parameters_of(dir + "/last.ckpt"));

  const CliResult one = run_cli({"average", "--model", dir, "--last", "1", "--output", "avg1"});
  INFO(one.err);
  REQUIRE(one.exit_code == 0);
  CHECK(parameters_of(dir + "/avg1.ckpt") == parameters_of(dir + "/step-40.ckpt"));

  const CliResult three = run_cli({"average", "--model", dir, "--last", "3"});
  REQUIRE(three.exit_code == 0);
  CHECK(three.out.find("steps 20, 30, 40") != std::string::npos);
  const auto a = parameters_of(dir + "/average.ckpt");
  const auto x = parameters_of(dir + "/step-20.ckpt"), y = parameters_of(dir + "/step-30.ckpt"),
             z = parameters_of(dir + "/step-40.ckpt");
  REQUIRE(a.size() == z.size());
  for (std::size_t i = 0; i < a.size(); i += 97)
    CHECK(a[i] == Approx((double(x[i]) + y[i] + z[i]) / 3).margin(1e-6));
  CHECK(a != z);
  // The averaged model decodes: evaluate --checkpoint average.
  const CliResult evaluated = run_cli({"evaluate", "--model", dir, "--checkpoint", "average",
                                       "--src", task.dir.file("dev.tsv"), "--json"});
  INFO(evaluated.err);
  CHECK(evaluated.exit_code == 0);
  CHECK(evaluated.out.find("\"wer\"") != std::string::npos);

  const CliResult too_many = run_cli({"average", "--model", dir, "--last", "9"});
  CHECK(too_many.exit_code == 1);
  CHECK(too_many.err_is_one_line());
  CHECK(too_many.err.find("fewer than --last 9") != std::string::npos);
  const CliResult path = run_cli({"average", "--model", dir, "--last", "1", "--output", "../x"});
  CHECK(path.exit_code == 2);
  CHECK(path.err_is_one_line());
  const CliResult missing = run_cli({"evaluate", "--model", dir, "--checkpoint", "step-7",
                                     "--src", task.dir.file("dev.tsv")});
  CHECK(missing.exit_code == 1);
  CHECK(missing.err.find("step-7.ckpt: no such checkpoint") != std::string::npos);
  // --overwrite removes the kept checkpoints and the average with the old run.
  REQUIRE(task.train("run", {"--overwrite", "--train.max_steps", "10"}).exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(dir + "/step-40.ckpt"));
  CHECK_FALSE(std::filesystem::exists(dir + "/average.ckpt"));
}

TEST_CASE("Validation with train.valid_beam scores the dev set as evaluate --beam does",
          "[recipes][valid_beam]") {
  Task task;
  REQUIRE(task.train("beam", {"--train.valid_beam", "3", "--train.keep_checkpoints", "1"})
              .exit_code == 0);
  const std::string dir = task.run("beam");
  const CliResult evaluated =
      run_cli({"evaluate", "--model", dir, "--checkpoint", "step-40", "--beam", "3", "--src",
               task.dir.file("dev.tsv"), "--json"});
  INFO(evaluated.err);
  REQUIRE(evaluated.exit_code == 0);
  const std::regex wer("\"wer\": ([0-9.]+)");
  std::smatch m;
  REQUIRE(std::regex_search(evaluated.out, m, wer));
  CHECK(logged(dir + "/train_log.jsonl", 40, "dev_wer") == Approx(std::stod(m[1])).margin(1e-3));
  // Greedy validation (the default) scores it otherwise here.
  REQUIRE(task.train("greedy", {"--train.valid_beam", "1"}).exit_code == 0);
  REQUIRE(task.train("default").exit_code == 0);
  CHECK(log_without_timing(task.run("greedy") + "/train_log.jsonl") ==
        log_without_timing(task.run("default") + "/train_log.jsonl"));
}

namespace {

std::vector<std::vector<Hypothesis>> decode_all(Seq2SeqModel<float>& model, int beam) {
  const std::vector<SequencePair> pairs = {{{4, 5, 6, 7}, {4}}, {{8, 9}, {4}}, {{5, 5, 6}, {4}}};
  const Batch batch = make_batch(pairs, {0, 1, 2});
  DecodeOptions options;
  options.beam_size = static_cast<uword>(beam);
  options.nbest = static_cast<uword>(beam);
  options.max_length_extra = 4;
  return decode(model, batch.source_ids, batch.source_lengths, batch.source_steps, options);
}

void check_same_hypotheses(const std::vector<std::vector<Hypothesis>>& a,
                           const std::vector<std::vector<Hypothesis>>& b) {
  REQUIRE(a.size() == b.size());
  for (std::size_t i = 0; i < a.size(); ++i) {
    REQUIRE(a[i].size() == b[i].size());
    for (std::size_t k = 0; k < a[i].size(); ++k) {
      CHECK(a[i][k].tokens == b[i][k].tokens);
      CHECK(a[i][k].log_prob == b[i][k].log_prob);  // bit for bit
    }
  }
}

}  // namespace

TEST_CASE("An ensemble of one model, or of two copies of it, decodes exactly as the model",
          "[recipes][ensemble]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  const int beam = GENERATE(1, 3);
  INFO(type << ", beam " << beam);
  auto model = tiny_model(type, 3);
  const auto alone = decode_all(*model, beam);
  EnsembleModel one({model.get()});
  check_same_hypotheses(decode_all(one, beam), alone);
  EnsembleModel two({model.get(), model.get()});
  check_same_hypotheses(decode_all(two, beam), alone);
  // The check can fail: a second, different member changes the scores.
  auto other = tiny_model(type == "rnn" ? "transformer" : "rnn", 4);
  EnsembleModel mixed({model.get(), other.get()});
  const auto together = decode_all(mixed, beam);
  bool same_scores = true;
  for (std::size_t i = 0; i < alone.size(); ++i)
    same_scores = same_scores && together[i][0].log_prob == alone[i][0].log_prob;
  CHECK_FALSE(same_scores);
  CHECK(mixed.describe().rfind("ensemble of 2: ", 0) == 0);
  Rng rng(1);
  CHECK_THROWS_AS(mixed.init(rng), std::logic_error);
}

TEST_CASE("A weighted ensemble scores the weighted mean of its members' log-probabilities",
          "[recipes][ensemble]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  INFO(type);
  auto model = tiny_model(type, 3);
  auto other = tiny_model(type == "rnn" ? "transformer" : "rnn", 4);
  // One decoding step of each from the same sources.
  const std::vector<SequencePair> pairs = {{{4, 5, 6, 7}, {4}}, {{8, 9}, {4}}};
  const Batch batch = make_batch(pairs, {0, 1});
  const std::vector<Index> bos(2, Vocab::kBos);
  auto first_step = [&](Seq2SeqModel<float>& m) {
    auto state = m.encode(batch.source_ids, batch.source_lengths, batch.source_steps);
    Mat<float> log_probs;
    m.decode_step(*state, bos, log_probs);
    return log_probs;
  };
  const Mat<float> a = first_step(*model), b = first_step(*other);
  EnsembleModel weighted({model.get(), other.get()}, {1.0, 3.0});
  const Mat<float> mixed = first_step(weighted);
  REQUIRE(mixed.n_rows == a.n_rows);
  REQUIRE(mixed.n_cols == a.n_cols);
  const Mat<float> expected = 0.25f * a + 0.75f * b;
  CHECK(arma::abs(mixed - expected).max() < 1e-5f);
  // The check can fail: the plain mean is another score.
  EnsembleModel plain({model.get(), other.get()});
  CHECK(arma::abs(first_step(plain) - expected).max() > 1e-3f);
  // Equal weights are the plain mean (up to rounding); copies of one model, weighted, decode as
  // the model.
  EnsembleModel equal({model.get(), other.get()}, {2.0, 2.0});
  CHECK(arma::abs(first_step(equal) - first_step(plain)).max() < 1e-5f);
  EnsembleModel copies({model.get(), model.get()}, {0.2, 0.8});
  const auto alone = decode_all(*model, 3), together = decode_all(copies, 3);
  for (std::size_t i = 0; i < alone.size(); ++i) {
    CHECK(together[i][0].tokens == alone[i][0].tokens);
    CHECK(together[i][0].log_prob == Approx(alone[i][0].log_prob).epsilon(1e-5));
  }
  CHECK(weighted.describe().find("weight 0.25") != std::string::npos);
  for (const std::vector<double>& bad :
       {std::vector<double>{1.0}, {1.0, 0.0}, {1.0, -2.0}, {1.0, std::nan("")}})
    CHECK_THROWS_AS(EnsembleModel({model.get(), other.get()}, bad), std::invalid_argument);
}

TEST_CASE("translate and evaluate take several --model directories as an ensemble",
          "[recipes][ensemble]") {
  Task task;
  REQUIRE(task.train("a", {"--train.max_steps", "30"}).exit_code == 0);
  REQUIRE(task.train("b", {"--train.max_steps", "30", "--train.seed", "4"}).exit_code == 0);
  REQUIRE(task.train("t", {"--train.max_steps", "30", "--model.type", "transformer",
                           "--model.d_model", "16", "--model.heads", "2", "--model.ff_size", "32",
                           "--model.transformer_layers", "1"})
              .exit_code == 0);
  const std::string dev = task.dir.file("dev.tsv");
  auto evaluate = [&](const std::vector<std::string>& models, const std::string& out) {
    std::vector<std::string> args = {"evaluate", "--src", dev, "--beam", "3", "--json",
                                     "--output", task.dir.file(out)};
    for (const std::string& m : models) args.insert(args.end(), {"--model", task.run(m)});
    return run_cli(args);
  };
  REQUIRE(evaluate({"a"}, "a.txt").exit_code == 0);
  const CliResult twice = evaluate({"a", "a"}, "aa.txt");
  INFO(twice.err);
  REQUIRE(twice.exit_code == 0);
  CHECK(read_whole_file(task.dir.file("aa.txt")) == read_whole_file(task.dir.file("a.txt")));
  // Members of other seeds and kinds, RNN and Transformer together.
  const CliResult three = evaluate({"a", "b", "t"}, "abt.txt");
  INFO(three.err);
  REQUIRE(three.exit_code == 0);
  CHECK(three.out.find("\"wer\"") != std::string::npos);
  const CliResult translated = run_cli({"translate", "--model", task.run("a"), "--model",
                                        task.run("t"), "--beam", "2"}, "1 2 3\n4 5\n");
  INFO(translated.err);
  CHECK(translated.exit_code == 0);
  CHECK(std::count(translated.out.begin(), translated.out.end(), '\n') == 2);

  // --weight: copies of a model weighted decode as the model; weights must be one per model, > 0.
  auto with_weights = [&](std::vector<std::string> args, const std::vector<std::string>& w) {
    for (const std::string& x : w) args.push_back("--weight=" + x);
    return run_cli(args);
  };
  const std::vector<std::string> aa = {"evaluate", "--src", dev, "--beam", "3", "--model",
                                       task.run("a"), "--model", task.run("a"), "--output",
                                       task.dir.file("aa_weighted.txt")};
  REQUIRE(with_weights(aa, {"1", "3"}).exit_code == 0);
  CHECK(read_whole_file(task.dir.file("aa_weighted.txt")) ==
        read_whole_file(task.dir.file("a.txt")));
  for (const auto& [w, message] : std::vector<std::pair<std::vector<std::string>, std::string>>{
           {{"1"}, "--weight given 1 times for 2 --model directories"},
           {{"1", "0"}, "an ensemble weight must be > 0"},
           {{"1", "-1"}, "an ensemble weight must be > 0"}}) {
    const CliResult bad = with_weights(aa, w);
    INFO(bad.err);
    CHECK(bad.exit_code != 0);
    CHECK(bad.err_is_one_line());
    CHECK(bad.err.find(message) != std::string::npos);
  }

  // A model of another task (other vocabularies) cannot join.
  TempDir other;
  const std::string config = write_reverse_task(other, 100, 4, kRecipe);
  std::ofstream(other.file("train.tsv"), std::ios::app) << "11 12\t12 11\n";
  REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.max_steps", "5",
                   "--train.output_dir", other.file("m")}).exit_code == 0);
  const CliResult refused = run_cli({"evaluate", "--model", task.run("a"), "--model",
                                     other.file("m"), "--src", dev});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err_is_one_line());
  CHECK(refused.err.find("an ensemble's models must share their vocabularies") !=
        std::string::npos);
}
