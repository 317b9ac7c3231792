// The model variants end to end through the CLI: every cell x attention x encoder direction
// trains from a config; monotonic attention and coverage with worker threads, beam search and
// attention maps; the joint vocabulary; copying (model.copy) tokens that training never saw.
#include <catch2/catch.hpp>

#include <algorithm>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "train_cli_helpers.hpp"
#include "s2s/data/synthetic.hpp"

using namespace s2s;
using namespace s2s::testing;

TEST_CASE("Every cell x attention x encoder direction trains from a config", "[train][cli]") {
  TempDir dir;
  const std::string config = write_task(dir, 40);
  auto first_and_last_loss = [](const std::string& log) {
    static const std::regex re(R"("train_loss":([0-9.eE+-]+))");
    std::vector<double> losses;
    for (std::sregex_iterator it(log.begin(), log.end(), re), end; it != end; ++it)
      losses.push_back(std::stod((*it)[1]));
    return std::make_pair(losses.front(), losses.back());
  };
  for (const char* cell : {"gru", "lstm"})
    for (const char* attention : {"none", "dot", "bahdanau", "luong-dot", "luong-general",
                                  "luong-concat", "luong-local-m", "luong-local-p", "monotonic",
                                  "monotonic-chunk", "bahdanau+coverage"})
      for (const char* bi : {"false", "true"}) {
        const std::string out = dir.file(std::string(cell) + attention + bi);
        const bool coverage = std::string(attention) == "bahdanau+coverage";
        std::vector<std::string> args = {
            "train", "--config", config, "--quiet", "--train.output_dir", out, "--model.cell",
            cell, "--model.attention", coverage ? "bahdanau" : attention, "--model.bidirectional",
            bi, "--model.bridge", "tanh", "--data.dev", "", "--train.schedule", "constant",
            "--train.lr", "0.01"};
        if (coverage)
          args.insert(args.end(), {"--model.coverage", "true", "--train.coverage_loss", "1"});
        CliResult r = run_cli(args);
        INFO(cell << " " << attention << " bi=" << bi << ": " << r.err);
        REQUIRE(r.exit_code == 0);
        const auto [first, last] = first_and_last_loss(read_whole_file(out + "/train_log.jsonl"));
        CHECK(last < first);
      }
}


TEST_CASE("Monotonic and coverage models train with worker threads, decode with beam search and "
          "write their attention. monotonic attention is hard and monotonic at decoding",
          "[train][cli][monotonic][coverage]") {
  TempDir dir;
  const std::string config = write_task(dir, 150);
  for (const char* variant : {"monotonic", "coverage"}) {
    const std::string model = dir.file(variant);
    std::vector<std::string> args = {"train", "--config", config, "--quiet",
                                     "--train.output_dir", model, "--train.workers", "2"};
    if (std::string(variant) == "monotonic")
      args.insert(args.end(), {"--model.attention", "monotonic"});
    else
      args.insert(args.end(), {"--model.attention", "luong-concat", "--model.coverage", "true",
                               "--train.coverage_loss", "0.5"});
    CliResult r = run_cli(args);
    INFO(variant << ": " << r.err);
    REQUIRE(r.exit_code == 0);
    CliResult beam = run_cli({"translate", "--model", model, "--beam", "3", "--coverage-penalty",
                              "0.2"}, "1 2 3\n4 5\n");
    REQUIRE(beam.exit_code == 0);
    CHECK(std::count(beam.out.begin(), beam.out.end(), '\n') == 2);
    const std::string attention = dir.file(std::string(variant) + ".jsonl");
    REQUIRE(run_cli({"translate", "--model", model, "--attention-out", attention}, "1 2 3 4\n")
                .exit_code == 0);
    const std::string json = read_whole_file(attention);
    INFO(json);
    const std::size_t begin = json.find("\"weights\": [[");
    REQUIRE(begin != std::string::npos);
    // Each output step's row of weights over the 4 source tokens (and </s>).
    static const std::regex row_re(R"(\[([-0-9.eE, ]+)\])");
    std::vector<std::vector<double>> rows;
    const std::string weights = json.substr(begin);
    for (std::sregex_iterator it(weights.begin(), weights.end(), row_re), end; it != end; ++it) {
      std::vector<double> row;
      std::stringstream items((*it)[1].str());
      for (std::string item; std::getline(items, item, ',');) row.push_back(std::stod(item));
      rows.push_back(row);
    }
    REQUIRE(!rows.empty());
    if (std::string(variant) != "monotonic") continue;
    std::size_t previous = 0;
    bool ended = false;
    for (const auto& row : rows) {
      double total = 0;
      std::size_t position = 0;
      for (std::size_t j = 0; j < row.size(); ++j) {
        CHECK((row[j] == 0.0 || row[j] == 1.0));
        total += row[j];
        if (row[j] == 1.0) position = j;
      }
      CHECK(total <= 1.0);
      if (total == 0.0) {
        ended = true;
        continue;
      }
      CHECK_FALSE(ended);
      CHECK(position >= previous);
      previous = position;
    }
  }
}


TEST_CASE("data.joint_vocab builds one vocabulary from both sides, and a Transformer shares its "
          "embeddings over it",
          "[train][cli]") {
  TempDir dir;
  std::string tsv;
  for (int i = 0; i < 30; ++i) tsv += "a b c\tX Y a\nb c\tY Z\n";
  const std::string data = dir.write("train.tsv", tsv);
  const std::string config = dir.write(
      "joint.ini", "[data]\ntrain = " + data +
                       "\nsrc_tokenizer = space\ntgt_tokenizer = space\njoint_vocab = true\n"
                       "[model]\ntype = transformer\nd_model = 8\nheads = 2\nff_size = 16\n"
                       "transformer_layers = 1\nshare_embeddings = true\n"
                       "[train]\nepochs = 0\nmax_steps = 5\n");
  const std::string model = train_model(dir, config);
  const std::string src = read_whole_file(model + "/src.vocab");
  CHECK(src == read_whole_file(model + "/tgt.vocab"));
  for (const char* token : {"\na\n", "\nb\n", "\nc\n", "\nX\n", "\nY\n", "\nZ\n"})
    CHECK(src.find(token) != std::string::npos);
}

namespace {

// The copy task with a vocabulary of 10 tokens (data.max_vocab) over training tokens 0-29, so
// that most training tokens are outside it, and a test set of tokens 100-120 that training never
// saw: only copying can get them right.
std::string write_copy_task(const TempDir& dir) {
  SyntheticConfig c;
  c.task = SyntheticTask::kCopy;
  c.count = 1000;
  c.max_length = 5;
  c.max_token = 29;
  write_parallel_tsv(dir.file("train.tsv"), generate_synthetic(c));
  c.count = 50;
  c.seed = 3;
  c.min_token = 100;
  c.max_token = 120;
  write_parallel_tsv(dir.file("test.tsv"), generate_synthetic(c));
  return dir.write("copy.ini", "[data]\ntrain = " + dir.file("train.tsv") + "\ntest = " +
                                   dir.file("test.tsv") +
                                   "\nsrc_tokenizer = space\ntgt_tokenizer = space\n"
                                   "joint_vocab = true\nmax_vocab = 10\n"
                                   "[model]\ncell = gru\nattention = bahdanau\nembed_size = 8\n"
                                   "hidden_size = 16\ndropout = 0.0\ncopy = true\n"
                                   "[train]\nepochs = 0\nmax_steps = 300\nbatch_size = 16\n"
                                   "lr = 0.01\nworkers = 2\n");
}

double exact_match(const std::string& metrics_json) {
  static const std::regex acc_re(R"re("acc": ([0-9.]+))re");
  std::smatch m;
  REQUIRE(std::regex_search(metrics_json, m, acc_re));
  return std::stod(m[1].str());
}

}  // namespace

TEST_CASE("model.copy copies source tokens that training never saw: train with workers, "
          "translate, score-model. refused without one vocabulary",
          "[train][cli][copy]") {
  TempDir dir;
  const std::string config = write_copy_task(dir);
  const std::string copy = dir.file("copy"), plain = dir.file("plain");
  for (const std::string& model : {copy, plain}) {
    CliResult r = run_cli({"train", "--config", config, "--quiet", "--train.output_dir", model,
                           "--model.copy", model == copy ? "true" : "false"});
    INFO(r.err);
    REQUIRE(r.exit_code == 0);
  }
  // Every test token is outside the vocabulary: the plain model can only write <unk>.
  CHECK(exact_match(read_whole_file(copy + "/test_metrics.json")) >= 90.0);
  CHECK(exact_match(read_whole_file(plain + "/test_metrics.json")) == 0.0);
  CHECK(read_whole_file(plain + "/test_hyps.txt").find("<unk>") != std::string::npos);

  // n-best lines and attention maps carry the copied tokens; an empty line stays empty.
  const CliResult nbest = run_cli({"translate", "--model", copy, "--beam", "3", "--nbest", "2"},
                                  "101 7 115 3\n\n118\n");
  INFO(nbest.err);
  REQUIRE(nbest.exit_code == 0);
  CHECK(nbest.out.find("0 ||| 101 7 115 3 ||| ") != std::string::npos);
  CHECK(nbest.out.find("2 ||| 118 ||| ") != std::string::npos);
  const std::string attention = dir.file("copy.jsonl");
  REQUIRE(run_cli({"translate", "--model", copy, "--attention-out", attention}, "104 112\n")
              .exit_code == 0);
  CHECK(read_whole_file(attention).find("\"104\"") != std::string::npos);

  // Forced scoring: a copied unseen token has a finite log-probability and keeps its spelling.
  const std::string pairs = dir.write("score.tsv", "104 112\t104 112\n");
  const CliResult scored = run_cli({"score-model", "--model", copy, "--src", pairs});
  INFO(scored.err);
  REQUIRE(scored.exit_code == 0);
  CHECK(scored.out.find("\"tokens\": [\"104\", \"112\", \"</s>\"]") != std::string::npos);
  CHECK(scored.out.find("inf") == std::string::npos);

  // Refused, in one line: without one vocabulary, with label smoothing, in a mixed ensemble.
  for (const std::vector<std::string>& bad :
       {std::vector<std::string>{"--data.joint_vocab", "false"},
        std::vector<std::string>{"--train.label_smoothing", "0.1"},
        std::vector<std::string>{"--model.type", "transformer"}}) {
    std::vector<std::string> args = {"train", "--config", config, "--quiet",
                                     "--train.output_dir", dir.file("refused")};
    args.insert(args.end(), bad.begin(), bad.end());
    const CliResult r = run_cli(args);
    INFO(bad.front() << ": " << r.err);
    CHECK(r.exit_code != 0);
    CHECK(r.err.find("model.copy") != std::string::npos);
    CHECK(std::count(r.err.begin(), r.err.end(), '\n') == 1);
  }
  const CliResult mixed = run_cli({"translate", "--model", copy, "--model", plain}, "101\n");
  CHECK(mixed.exit_code != 0);
  CHECK(mixed.err.find("must all copy or none") != std::string::npos);
}
