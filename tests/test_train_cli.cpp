// End-to-end tests of `s2s train`, `translate` and `evaluate` on a tiny generated task:
// exact resume after SIGKILL, same seed => same run, and the bad inputs of the train command.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cmath>
#include <functional>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

#include "cli_helpers.hpp"
#include "train_cli_helpers.hpp"
#include "file_helpers.hpp"
#include "task_helpers.hpp"
#include "s2s/core/checkpoint.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

// The log without its timing fields, which differ from run to run.
std::string deterministic_log(const std::string& path) {
  static const std::regex timing(R"(,"tokens_per_s":[^,}]*|,"elapsed_s":[^,}]*)");
  return std::regex_replace(read_whole_file(path), timing, "");
}

bool log_reached_step(const std::string& path, int step) {
  const std::string log = read_whole_file(path);
  std::smatch m;
  std::string::const_iterator from = log.cbegin();
  int last = -1;
  static const std::regex re(R"("step":(\d+))");
  while (std::regex_search(from, log.cend(), m, re)) {
    last = std::stoi(m[1]);
    from = m.suffix().first;
  }
  return last >= step;
}

// Starts `s2s args...`, kills it with SIGKILL once its log shows step `step`, and requires that
// it was killed before it reached `last` (else the test proves nothing).
void train_and_kill(const std::vector<std::string>& s2s_args, const std::string& log, int step,
                    int last) {
  std::vector<std::string> args = {cli_binary()};
  args.insert(args.end(), s2s_args.begin(), s2s_args.end());
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  pid_t pid;
  REQUIRE(posix_spawn(&pid, argv[0], nullptr, nullptr, argv.data(), environ) == 0);
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(120);
  while (!log_reached_step(log, step) && std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  ::kill(pid, SIGKILL);
  int status = 0;
  ::waitpid(pid, &status, 0);
  REQUIRE(WIFSIGNALED(status));
  REQUIRE_FALSE(log_reached_step(log, last));
}

}  // namespace

TEST_CASE("Training killed with SIGKILL and resumed ends with bit-identical parameters",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 300);
  const std::string straight = dir.file("straight"), killed = dir.file("killed");
  CliResult a = run_cli({"train", "--config", config, "--quiet", "--train.output_dir", straight});
  INFO(a.err);
  REQUIRE(a.exit_code == 0);

  // Start the same run, and kill it once it has gone some way past a checkpoint.
  train_and_kill({"train", "--config", config, "--quiet", "--train.output_dir", killed},
                 killed + "/train_log.jsonl", 125, 300);

  CliResult resumed = run_cli({"train", "--resume", killed, "--quiet"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  require_same_parameters(straight + "/last.ckpt", killed + "/last.ckpt");
  CHECK(deterministic_log(straight + "/train_log.jsonl") ==
        deterministic_log(killed + "/train_log.jsonl"));
}

TEST_CASE("The same config and seed give the same log and parameters", "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 40);
  for (const char* run : {"one", "two"}) {
    CliResult r = run_cli({"train", "--config", config, "--quiet", "--train.output_dir",
                           dir.file(run)});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  require_same_parameters(dir.file("one") + "/last.ckpt", dir.file("two") + "/last.ckpt");
  const std::string log = deterministic_log(dir.file("one") + "/train_log.jsonl");
  CHECK(log.find("\"dev_loss\"") != std::string::npos);
  CHECK(log == deterministic_log(dir.file("two") + "/train_log.jsonl"));

  // A different seed gives a different run (so the comparison above can fail).
  CliResult other = run_cli({"train", "--config", config, "--quiet", "--train.output_dir",
                             dir.file("three"), "--train.seed", "8"});
  REQUIRE(other.exit_code == 0);
  CHECK(deterministic_log(dir.file("three") + "/train_log.jsonl") != log);
}

TEST_CASE("Training on worker threads is reproducible and resumes bit for bit",
          "[train][cli][workers]") {
  TempDir dir;
  const std::string config = write_task(dir, 60);
  const std::vector<std::string> two_workers = {"--train.workers", "2"};
  auto train = [&](const std::string& out, std::vector<std::string> extra) {
    std::vector<std::string> args = {"train", "--config", config, "--quiet",
                                     "--train.output_dir", dir.file(out)};
    args.insert(args.end(), extra.begin(), extra.end());
    CliResult r = run_cli(args);
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  };
  train("one", two_workers);
  train("two", two_workers);
  require_same_parameters(dir.file("one") + "/last.ckpt", dir.file("two") + "/last.ckpt");
  const std::string log = deterministic_log(dir.file("one") + "/train_log.jsonl");
  CHECK(log == deterministic_log(dir.file("two") + "/train_log.jsonl"));

  // 30 steps, then resumed to 60: worker 1's dropout RNG must come back from last.ckpt.
  std::vector<std::string> short_run = two_workers;
  short_run.insert(short_run.end(), {"--train.max_steps", "30"});
  train("resumed", short_run);
  CHECK(load_checkpoint(dir.file("resumed") + "/last.ckpt").texts.count("rng.worker1") == 1);
  CliResult resumed =
      run_cli({"train", "--resume", dir.file("resumed"), "--quiet", "--train.max_steps", "60"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  require_same_parameters(dir.file("one") + "/last.ckpt", dir.file("resumed") + "/last.ckpt");
  CHECK(log == deterministic_log(dir.file("resumed") + "/train_log.jsonl"));

  // One worker draws other dropout masks: a different run (so the comparisons above can fail).
  train("single", {});
  CHECK(deterministic_log(dir.file("single") + "/train_log.jsonl") != log);
}

TEST_CASE("A trained model translates stdin and evaluates a reference file", "[train][cli]") {
  TempDir dir;
  // Enough steps that "1 2 3" gets a non-empty output (its attention weights are checked).
  const std::string config = write_task(dir, 150);
  const std::string model = train_model(dir, config);
  CliResult t = run_cli({"translate", "--model", model}, "1 2 3\n\n4 5\n");
  INFO(t.err);
  REQUIRE(t.exit_code == 0);
  CHECK(std::count(t.out.begin(), t.out.end(), '\n') == 3);  // one output line per input line

  CliResult beam = run_cli({"translate", "--model", model, "--beam", "3", "--nbest", "2"},
                           "1 2 3\n");
  REQUIRE(beam.exit_code == 0);
  CHECK(beam.out.find("0 ||| ") == 0);

  CliResult e = run_cli({"evaluate", "--model", model, "--src", dir.file("dev.tsv"), "--json"});
  INFO(e.err);
  REQUIRE(e.exit_code == 0);
  CHECK(e.out.find("\"wer\"") != std::string::npos);
  CHECK(e.out.find("\"segments\": 40") != std::string::npos);

  const std::string attention = dir.file("attn.jsonl");
  REQUIRE(run_cli({"translate", "--model", model, "--attention-out", attention}, "1 2 3\n")
              .exit_code == 0);
  const std::string json = read_whole_file(attention);
  INFO(json);
  CHECK(json.find("\"source\": [\"1\", \"2\", \"3\"]") != std::string::npos);
  CHECK(json.find("\"weights\": [[") != std::string::npos);
}

TEST_CASE("train --check trains nothing. model.json holds the parameter count. a Transformer's "
          "attention file has each head", "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  CliResult check = run_cli({"train", "--config", config, "--check", "--train.output_dir",
                             dir.file("checked")});
  INFO(check.err);
  CHECK(check.exit_code == 0);
  CHECK(check.out.find("config ok: rnn lstm") == 0);
  CHECK_FALSE(std::filesystem::exists(dir.file("checked") + "/last.ckpt"));
  CliResult bad = run_cli({"train", "--config", config, "--check", "--model.cell", "transistor"});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("Valid options: gru, lstm") != std::string::npos);
  bad = run_cli({"train", "--config", config, "--check", "--data.dev", dir.file("absent.tsv")});
  CHECK(bad.exit_code != 0);
  CHECK(bad.err.find("absent.tsv: no such file") != std::string::npos);

  const std::string rnn = dir.file("rnn"), transformer = dir.file("transformer");
  REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.output_dir", rnn})
              .exit_code == 0);
  REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.output_dir", transformer,
                   "--model.type", "transformer", "--model.d_model", "8", "--model.heads", "2",
                   "--model.ff_size", "16", "--model.transformer_layers", "1",
                   "--train.max_steps", "100"})  // enough to emit tokens
              .exit_code == 0);
  for (const std::string& model : {rnn, transformer}) {
    INFO(model);
    // The count in model.json is the one the model describes itself with.
    const std::string json = read_whole_file(model + "/model.json");
    std::smatch count;
    REQUIRE(std::regex_search(json, count, std::regex(R"("parameters": ([0-9]+))")));
    CHECK(std::stol(count[1]) > 0);
    CliResult e = run_cli({"evaluate", "--model", model, "--src", dir.file("dev.tsv")});
    REQUIRE(e.exit_code == 0);
    CHECK(e.out.find(" parameters " + count[1].str() + "\n") != std::string::npos);

    const std::string attention = dir.file("attn.jsonl");
    REQUIRE(run_cli({"translate", "--model", model, "--attention-out", attention}, "1 2 3\n")
                .exit_code == 0);
    const std::string lines = read_whole_file(attention);
    CHECK(lines.find("\"weights\": [[") != std::string::npos);
    // Heads: [head][output step][source token] for the two heads of the Transformer.
    const std::regex two_heads(R"("heads": \[\[\[[^\]]*\](, \[[^\]]*\])*\], \[\[[^\]]*\](, \[[^\]]*\])*\]\]\})");
    CHECK(std::regex_search(lines, two_heads) == (model == transformer));
    CHECK((lines.find("\"heads\"") != std::string::npos) == (model == transformer));
  }
}

TEST_CASE("Bad input to train, translate and evaluate gets one line and a non-zero exit",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  const std::string model = dir.file("model");
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"train"}, "--config FILE or --resume DIR is required"},
      {{"train", "--config", dir.file("absent.ini")}, "absent.ini: cannot open config file"},
      {{"train", "--config", config, "--model.colour", "red"}, "model.colour"},
      {{"train", "--config", config, "--model.cell", "transistor"},
       "Valid options: gru, lstm"},
      {{"train", "--config", config, "--model.attention", "psychic"},
       "Valid options: none, dot, bahdanau"},
      {{"train", "--config", config, "--model.attention", "luong-general", "--model.coverage",
        "true"},
       "model.coverage=true applies to"},
      {{"train", "--config", config, "--train.coverage_loss", "1"},
       "train.coverage_loss > 0 needs model.coverage=true"},
      {{"train", "--config", config, "--model.monotonic_noise", "-1"},
       "model.monotonic_noise must be"},
      {{"train", "--config", config, "--model.type", "transformer", "--model.share_embeddings",
        "true"},
       "model.share_embeddings=true needs data.joint_vocab=true"},
      {{"train", "--config", config, "--train.lr", "fast"}, "train.lr"},
      {{"train", "--config", config, "--data.dev", "", "--train.patience", "3"},
       "train.patience needs a dev set"},
      {{"train", "--config", config, "--data.train", dir.file("nope.tsv")}, "nope.tsv"},
      {{"train", "--resume", dir.file("nothing")}, "nothing to resume"},
      {{"train", "--config", config, "--train.workers", "0"}, "train.workers must be between 1"},
      {{"translate"}, "--model DIR is required"},
      {{"translate", "--model", dir.file("nothing")}, "no such model directory"},
      {{"evaluate", "--model", dir.file("nothing"), "--src", config}, "no such model directory"},
  };
  for (const Case& c : cases) {
    CliResult r = run_cli(c.args);
    INFO("s2s " << c.args.front() << " ... -> " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err_is_one_line());
    CHECK(r.err.find(c.expected) != std::string::npos);
  }

  // A model directory must not be overwritten by accident, nor be read when damaged.
  REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.output_dir", model})
              .exit_code == 0);
  CliResult again = run_cli({"train", "--config", config, "--train.output_dir", model});
  CHECK(again.exit_code != 0);
  CHECK(again.err.find("already holds a trained model") != std::string::npos);
  for (const char* name : {"/best.ckpt", "/last.ckpt"}) {
    const std::string bytes = read_whole_file(model + name);
    std::ofstream(model + name, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
  }
  CliResult damaged = run_cli({"translate", "--model", model}, "1 2\n");
  CHECK(damaged.exit_code != 0);
  CHECK(damaged.err_is_one_line());
  CHECK(damaged.err.find("truncated checkpoint") != std::string::npos);
  CliResult bad_utf8 = run_cli({"translate", "--model", dir.file("nothing")}, "\xff\n");
  CHECK(bad_utf8.exit_code != 0);
}

TEST_CASE("docs/config.md is what `s2s config-doc` prints", "[cli][docs]") {
  CliResult r = run_cli({"config-doc"});
  REQUIRE(r.exit_code == 0);
  INFO("regenerate with: build/bin/s2s config-doc > docs/config.md");
  CHECK(r.out == read_whole_file(S2S_SOURCE_DIR "/docs/config.md"));
}

TEST_CASE("Bad training data and foreign model directories are refused with one line",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  const std::string src = dir.write("src.txt", "a b\nc d\ne\n");
  const std::string tgt = dir.write("tgt.txt", "b a\nd c\n");
  const std::string bad = dir.write("bad.tsv", "a b\tb a\nc \xC3\x28\td c\n");
  const std::string empty = dir.write("empty.tsv", "");
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--data.train", src, "--data.train_tgt", tgt}, "tgt.txt has 2"},
      {{"--data.train", bad}, "bad.tsv:2: invalid UTF-8"},
      {{"--data.train", empty}, "empty.tsv"},
      {{"--data.train", src}, "src.txt:1: no tab"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"train", "--config", config, "--quiet", "--data.dev", "",
                                     "--train.output_dir", dir.file("m")};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CliResult r = run_cli(args);
    INFO(c.expected << " <- " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err_is_one_line());
    CHECK(r.err.find(c.expected) != std::string::npos);
  }

  // A model directory whose checkpoint comes from another s2s version.
  const std::string model = train_model(dir, config);
  for (const char* name : {"/best.ckpt", "/last.ckpt"}) {
    Checkpoint c = load_checkpoint(model + name);
    c.library_version = "9.3.0";
    save_checkpoint(model + name, c);
  }
  CliResult r = run_cli({"translate", "--model", model}, "1 2\n");
  CHECK(r.exit_code != 0);
  CHECK(r.err_is_one_line());
  CHECK(r.err.find("written by s2s 9.3.0") != std::string::npos);
  CliResult resume = run_cli({"train", "--resume", model});
  CHECK(resume.exit_code != 0);
  CHECK(resume.err.find("written by s2s 9.3.0") != std::string::npos);
}

TEST_CASE("Scheduled sampling is deterministic and changes training. early stopping stops",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 40);
  for (const char* run : {"s1", "s2"})
    REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.output_dir", dir.file(run),
                     "--train.sampling_ratio", "0.5"})
                .exit_code == 0);
  require_same_parameters(dir.file("s1") + "/last.ckpt", dir.file("s2") + "/last.ckpt");
  REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.output_dir", dir.file("tf")})
              .exit_code == 0);
  CHECK(deterministic_log(dir.file("s1") + "/train_log.jsonl") !=
        deterministic_log(dir.file("tf") + "/train_log.jsonl"));

  // A learning rate too small to improve the dev loss: patience 2 stops after 3 validations.
  CliResult r = run_cli({"train", "--config", config, "--train.output_dir", dir.file("es"),
                         "--train.max_steps", "1000", "--train.lr", "1e-12",
                         "--train.schedule", "constant", "--train.patience", "2",
                         "--train.early_stopping_metric", "loss"});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(r.out.find("(early stop)") != std::string::npos);
  CHECK(log_reached_step(dir.file("es") + "/train_log.jsonl", 30));
  CHECK_FALSE(log_reached_step(dir.file("es") + "/train_log.jsonl", 31));
}

TEST_CASE("Training that stops before its first validation still validates and keeps a best "
          "checkpoint", "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 7);  // validation is every 10 steps
  CliResult r = run_cli({"train", "--config", config, "--quiet", "--train.output_dir",
                         dir.file("m"), "--data.test", dir.file("dev.tsv")});
  INFO(r.err);
  REQUIRE(r.exit_code == 0);
  CHECK(read_whole_file(dir.file("m") + "/train_log.jsonl").find("\"dev_loss\"") !=
        std::string::npos);
  CHECK(read_whole_file(dir.file("m") + "/test_metrics.json").find("\"wer\"") !=
        std::string::npos);
  // The best checkpoint's test outputs: one line per test pair, as `s2s evaluate` writes them.
  const std::string hyps = read_whole_file(dir.file("m") + "/test_hyps.txt");
  CHECK(std::count(hyps.begin(), hyps.end(), '\n') == 40);
  REQUIRE(run_cli({"evaluate", "--model", dir.file("m"), "--src", dir.file("dev.tsv"),
                   "--output", dir.file("evaluated.txt")})
              .exit_code == 0);
  CHECK(read_whole_file(dir.file("evaluated.txt")) == hyps);
}

TEST_CASE("A non-finite training loss stops training with one line before the update",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 30);
  // Plain SGD at a rate of 1e30 overflows the model within a few steps.
  CliResult r = run_cli({"train", "--config", config, "--quiet", "--train.output_dir",
                         dir.file("m"), "--train.optimizer", "sgd", "--train.lr", "1e30",
                         "--train.schedule", "constant", "--train.label_smoothing", "0"});
  INFO(r.err);
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("the training loss is") != std::string::npos);
  CHECK(r.err.find("the parameters were not updated") != std::string::npos);
  CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  // No logged step has a NaN in it.
  const std::string log = read_whole_file(dir.file("m") + "/train_log.jsonl");
  CHECK(log.find(":nan") == std::string::npos);
  CHECK(log.find(":-nan") == std::string::npos);
}

TEST_CASE("Training with --overwrite clears the old run first. a refused train leaves nothing",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  const std::string bad = dir.write("bad.tsv", "a b\tb a\nc \xC3\x28\td c\n");
  const std::string model = train_model(dir, config);
  REQUIRE(std::filesystem::exists(model + "/last.ckpt"));

  // The new run is refused (or killed) before its first checkpoint: the old parameters must not
  // be resumable under the new config (they were, with exit 0).
  CliResult replaced = run_cli({"train", "--config", config, "--quiet", "--overwrite",
                                "--train.output_dir", model, "--data.train", bad});
  CHECK(replaced.exit_code != 0);
  CHECK(replaced.err.find("bad.tsv:2") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(model + "/last.ckpt"));
  CHECK_FALSE(std::filesystem::exists(model + "/config.ini"));
  CliResult resume = run_cli({"train", "--resume", model});
  CHECK(resume.exit_code != 0);
  CHECK(resume.err.find("nothing to resume") != std::string::npos);

  // A refused run in a new directory leaves no directory (it left config.ini behind).
  const std::string fresh = dir.file("fresh");
  CliResult refused = run_cli({"train", "--config", config, "--quiet", "--train.output_dir",
                               fresh, "--data.train", bad});
  CHECK(refused.exit_code != 0);
  CHECK_FALSE(std::filesystem::exists(fresh));

  // A directory given as the config file is named as such.
  CliResult directory = run_cli({"train", "--config", dir.file("")});
  CHECK(directory.exit_code != 0);
  CHECK(directory.err_is_one_line());
  CHECK(directory.err.find("is a directory, not a config file") != std::string::npos);
}

TEST_CASE("Temporaries of killed writes are removed by the next run in the directory",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  const std::string model = train_model(dir, config);
  const std::string stale = model + "/last.ckpt.tmp.999999";
  const std::string other = model + "/notes.txt.tmp.5";  // not ours: stays
  std::ofstream(stale) << "half a checkpoint";
  std::ofstream(other) << "a user's file";
  REQUIRE(run_cli({"train", "--resume", model, "--train.max_steps", "20", "--quiet"})
              .exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(stale));
  CHECK(std::filesystem::exists(other));
}

TEST_CASE("Values that would train or decode silently wrong are refused at load", "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {{"--train.lr", "inf"}, "train.lr must be a finite number > 0"},
      {{"--train.lr", "nan"}, "train.lr must be a finite number > 0"},
      {{"--train.seed", "-1"}, "train.seed must be a whole number from 0"},
      {{"--train.seed", "12x"}, "train.seed must be a whole number from 0"},
      {{"--train.adam_eps", "0"}, "train.adam_eps must be a finite number > 0"},
      {{"--train.beta2", "nan"}, "train.beta1 and train.beta2 must be in [0, 1)"},
      {{"--decode.max_length_ratio", "inf"}, "decode.max_length_ratio must be in (0, 100]"},
      {{"--decode.max_length_ratio", "1e20"}, "decode.max_length_ratio must be in (0, 100]"},
      {{"--decode.max_length_extra", "1000000000"}, "decode.max_length_extra must be in [0,"},
      {{"--model.share_embeddings", "true"}, "model.share_embeddings applies to model.type=transformer"},
      {{"--train.schedule", "cosine", "--train.max_steps", "0", "--train.epochs", "3"},
       "train.schedule=cosine decays over train.decay_steps, or train.max_steps when that is 0"},
      {{"--train.schedule", "linear", "--train.decay_steps", "100", "--train.warmup_steps", "100"},
       "it needs one of them greater than train.warmup_steps (100)"},
      {{"--train.schedule", "cosine", "--train.decay_steps", "100", "--train.min_lr", "1"},
       "train.min_lr must be a finite number in [0, train.lr]"},
      {{"--train.schedule", "noam", "--train.warmup_steps", "0"},
       "train.warmup_steps must be >= 1 with train.schedule=noam"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"train", "--config", config, "--quiet", "--check"};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CliResult r = run_cli(args);
    INFO(c.args.front() << " " << c.args.back() << " -> " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err_is_one_line());
    CHECK(r.err.find(c.expected) != std::string::npos);
  }
  // A model too large for the machine: a message, not "std::bad_alloc" (not under ASan, whose
  // out-of-memory report ends the program).
  if (!kAddressSanitizer) {
    CliResult huge = run_cli({"train", "--config", config, "--quiet", "--train.output_dir",
                              dir.file("huge"), "--model.hidden_size", "100000"});
    CHECK(huge.exit_code != 0);
    CHECK(huge.err_is_one_line());
    CHECK(huge.err.find("out of memory") != std::string::npos);
    CHECK(huge.err.find("std::") == std::string::npos);
  }
  // The seed's full range still parses.
  CHECK(run_cli({"train", "--config", config, "--check", "--train.seed", "18446744073709551615"})
            .exit_code == 0);
}

TEST_CASE("Outputs are whole or absent: write errors, same-file outputs and failed runs",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  const std::string model = train_model(dir, config);
  const std::string input = dir.write("input.txt", "1 2 3\n4 5\n");

  // Write errors (they all exited 0 with the output lost).
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"translate", "--model", model, "--input", input, "--output",
                                 "/dev/full"},
        {"translate", "--model", model, "--input", input, "--attention-out", "/dev/full"},
        {"evaluate", "--model", model, "--src", dir.file("dev.tsv"), "--output", "/dev/full"}}) {
    CliResult r = run_cli(args);
    INFO(args.front() << ": " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err_is_one_line());
    CHECK(r.err.find("/dev/full: write failed") != std::string::npos);
  }
  // Standard output into a full device: through a shell, the test's stdout being a file.
  CliResult piped = run_program("/bin/sh", {"-c", cli_binary() + " translate --model '" + model +
                                                      "' --input '" + input + "' > /dev/full"});
  CHECK(piped.exit_code != 0);
  CHECK(piped.err.find("standard output: write failed") != std::string::npos);
  CliResult scored = run_program(
      "/bin/sh", {"-c", cli_binary() + " evaluate --model '" + model + "' --src '" +
                            dir.file("dev.tsv") + "' > /dev/full"});
  CHECK(scored.exit_code != 0);
  CHECK(scored.err.find("standard output: write failed") != std::string::npos);

  // An output that is an input (translate emptied it, exit 0).
  CliResult same = run_cli({"translate", "--model", model, "--input", input, "--output", input});
  CHECK(same.exit_code != 0);
  CHECK(same.err.find("is the same file as --input") != std::string::npos);
  CHECK(read_whole_file(input) == "1 2 3\n4 5\n");
  const std::string src_copy = dir.write("src.tsv", read_whole_file(dir.file("dev.tsv")));
  CliResult same_eval =
      run_cli({"evaluate", "--model", model, "--src", src_copy, "--output", src_copy});
  CHECK(same_eval.exit_code != 0);
  CHECK(same_eval.err.find("is the same file as --src") != std::string::npos);

  // A run that fails at line 3 leaves no shorter output that looks complete, and no temporary.
  const std::string broken = dir.write("broken.txt", "1 2\n3 4\n5 \xC3\x28\n6 7\n");
  const std::string out = dir.file("out.txt");
  CliResult failed = run_cli({"translate", "--model", model, "--input", broken, "--output", out,
                              "--batch-size", "1"});
  CHECK(failed.exit_code != 0);
  CHECK(failed.err.find("broken.txt:3") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(out));
  std::size_t entries = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.file("")))
    entries += entry.path().filename().string().find(".tmp.") != std::string::npos;
  CHECK(entries == 0);

  // And a run that succeeds writes the whole output, removing what killed runs left.
  const std::string left = out + ".tmp.999999";  // no such process
  std::ofstream(left) << "1 2 3\n";
  REQUIRE(run_cli({"translate", "--model", model, "--input", input, "--output", out})
              .exit_code == 0);
  CHECK_FALSE(std::filesystem::exists(left));
  const std::string text = read_whole_file(out);
  CHECK(std::count(text.begin(), text.end(), '\n') == 2);
}

TEST_CASE("Without a dev set, train.checkpoint_every keeps a run resumable bit for bit",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 300);
  const std::vector<std::string> no_dev = {"--quiet", "--data.dev", "",
                                           "--train.checkpoint_every", "25"};
  const std::string straight = dir.file("straight"), killed = dir.file("killed");
  std::vector<std::string> args = {"train", "--config", config, "--train.output_dir", straight};
  args.insert(args.end(), no_dev.begin(), no_dev.end());
  REQUIRE(run_cli(args).exit_code == 0);

  args = {"train", "--config", config, "--train.output_dir", killed};
  args.insert(args.end(), no_dev.begin(), no_dev.end());
  train_and_kill(args, killed + "/train_log.jsonl", 130, 300);

  // Before train.checkpoint_every, a run without a dev set had nothing to resume here.
  CliResult resumed = run_cli({"train", "--resume", killed, "--quiet"});
  INFO(resumed.err);
  REQUIRE(resumed.exit_code == 0);
  require_same_parameters(straight + "/last.ckpt", killed + "/last.ckpt");
  CHECK(deterministic_log(straight + "/train_log.jsonl") ==
        deterministic_log(killed + "/train_log.jsonl"));
}

TEST_CASE("A checkpoint with a valid checksum but impossible fields is refused, not resumed",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 20);
  const std::string model = train_model(dir, config);
  const Checkpoint good = load_checkpoint(model + "/last.ckpt");
  struct Case {
    std::string what;
    std::function<void(Checkpoint&)> damage;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"step NaN", [](Checkpoint& c) { c.scalars["step"] = NAN; }, "step is nan"},
      {"step -3", [](Checkpoint& c) { c.scalars["step"] = -3; }, "step is -3"},
      {"position 1e30", [](Checkpoint& c) { c.scalars["position"] = 1e30; }, "position is"},
      {"position 1e6", [](Checkpoint& c) { c.scalars["position"] = 1e6; }, "batch position"},
      {"epoch 2.5", [](Checkpoint& c) { c.scalars["epoch"] = 2.5; }, "epoch is 2.5"},
      {"garbage RNG", [](Checkpoint& c) { c.texts["rng"] = "not a state"; }, "rng is not a"},
      {"elapsed inf", [](Checkpoint& c) { c.scalars["elapsed"] = INFINITY; }, "elapsed is not"},
  };
  for (const Case& c : cases) {
    Checkpoint damaged = good;
    c.damage(damaged);
    save_checkpoint(model + "/last.ckpt", damaged);  // a valid checksum over the new payload
    // Under a time limit: a NaN step made the resume run forever.
    CliResult r = run_program("/usr/bin/timeout",
                              {"60", cli_binary(), "train", "--resume", model, "--quiet",
                               "--train.max_steps", "40"});
    INFO(c.what << " -> " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.exit_code != 124);  // not a timeout
    CHECK(r.err_is_one_line());
    CHECK(r.err.find("last.ckpt: ") != std::string::npos);
    CHECK(r.err.find(c.expected) != std::string::npos);
  }
  save_checkpoint(model + "/last.ckpt", good);
  CHECK(run_cli({"train", "--resume", model, "--quiet", "--train.max_steps", "40"}).exit_code ==
        0);
}

TEST_CASE("Data problems are found at load, with file and line, before the first step",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  std::string long_line;
  for (int i = 0; i < 1100; ++i) long_line += (i ? " " : "") + std::to_string(i % 10);
  std::string reversed(long_line.rbegin(), long_line.rend());
  const std::string train = read_whole_file(dir.file("train.tsv"));
  struct Case {
    std::vector<std::string> args;
    std::string expected;
  };
  const std::vector<Case> cases = {
      // A dev line without a reference failed at the first validation, naming nothing.
      {{"--data.dev", dir.write("dev_empty.tsv", "1 2\t2 1\n3 4\t \n")},
       "dev_empty.tsv:2: empty reference"},
      {{"--data.dev", dir.write("dev_src.txt", "1 2\n3 4\n5 6\n"), "--data.dev_tgt",
        dir.write("dev_ref.txt", "2 1\n\n6 5\n")},
       "dev_ref.txt: reference line 2 is empty in every reference set"},
      // The test set was read only after training.
      {{"--data.test", dir.write("test_bad.tsv", "1 2\t2 1\n3 4\n")}, "test_bad.tsv:2: no tab"},
      // Longer than the Transformer's position table: died at that batch, and at every resume.
      {{"--model.type", "transformer", "--model.d_model", "16", "--model.heads", "2",
        "--model.ff_size", "32", "--model.transformer_layers", "1", "--data.train",
        dir.write("long.tsv", train.substr(0, train.find('\n') + 1) + long_line + "\t" +
                                  reversed + "\n" + train)},
       "long.tsv:2: 1100 tokens, more than the model takes (1023)"},
  };
  for (const Case& c : cases) {
    std::vector<std::string> args = {"train", "--config", config, "--quiet",
                                     "--train.output_dir", dir.file("m")};
    args.insert(args.end(), c.args.begin(), c.args.end());
    CliResult r = run_cli(args);
    INFO(c.expected << " <- " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err_is_one_line());
    CHECK(r.err.find(c.expected) != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(dir.file("m")));  // refused before anything was written
  }

  // translate and evaluate name the line that is too long (the whole batch failed, unnamed).
  const std::string model = dir.file("transformer");
  REQUIRE(run_cli({"train", "--config", config, "--quiet", "--train.output_dir", model,
                   "--model.type", "transformer", "--model.d_model", "16", "--model.heads", "2",
                   "--model.ff_size", "32", "--model.transformer_layers", "1"})
              .exit_code == 0);
  const std::string input = dir.write("input.txt", "1 2 3\n" + long_line + "\n4 5\n");
  CliResult t = run_cli({"translate", "--model", model, "--input", input});
  CHECK(t.exit_code != 0);
  CHECK(t.err.find("input.txt:2: 1100 tokens, more than the model takes (1023)") !=
        std::string::npos);
  const std::string tsv = dir.write("eval.tsv", "1 2\t2 1\n" + long_line + "\t" + reversed + "\n");
  CliResult e = run_cli({"evaluate", "--model", model, "--src", tsv});
  CHECK(e.exit_code != 0);
  CHECK(e.err.find("eval.tsv:2: the source has 1100 tokens") != std::string::npos);
}

TEST_CASE("A vocabulary file that is not the one a checkpoint was trained with is refused",
          "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 10);
  const std::string model = train_model(dir, config);
  // Two tokens swapped: still a valid vocabulary, silently the wrong one (it was used as it was).
  std::string vocab = read_whole_file(model + "/tgt.vocab");
  const std::size_t a = vocab.find("\n", vocab.find("</s>")) + 1, b = vocab.find("\n", a) + 1;
  const std::size_t c = vocab.find("\n", b);
  vocab = vocab.substr(0, a) + vocab.substr(b, c + 1 - b) + vocab.substr(a, b - a) +
          vocab.substr(c + 1);
  std::ofstream(model + "/tgt.vocab", std::ios::binary | std::ios::trunc) << vocab;
  CliResult t = run_cli({"translate", "--model", model}, "1 2\n");
  CHECK(t.exit_code != 0);
  CHECK(t.err_is_one_line());
  CHECK(t.err.find("tgt.vocab: does not match the vocabulary") != std::string::npos);
  CliResult r = run_cli({"train", "--resume", model, "--quiet", "--train.max_steps", "20"});
  CHECK(r.exit_code != 0);
  CHECK(r.err.find("tgt.vocab: does not match the vocabulary") != std::string::npos);
}
