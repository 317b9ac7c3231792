// The s2s program end to end (score, generate, dispatch): runs the built binary and checks its
// output against the library called directly, and every bad input for one line of stderr naming
// the culprit with a non-zero exit code.
#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>
#include <catch2/catch.hpp>
#include <sstream>

#include "cli_helpers.hpp"
#include "s2s/core/blas_setup.hpp"
#include "s2s/data/synthetic.hpp"
#include "s2s/metrics/bleu.hpp"
#include "s2s/metrics/chrf.hpp"
#include "s2s/metrics/edit_metrics.hpp"

using namespace s2s;
using s2s::testing::CliResult;
using s2s::testing::read_whole_file;
using s2s::testing::run_cli;
using s2s::testing::TempDir;

namespace {

std::string lines(const std::vector<std::string>& items) {
  std::string text;
  for (const std::string& item : items) text += item + "\n";
  return text;
}

boost::property_tree::ptree parse_json(const std::string& text) {
  std::istringstream in(text);
  boost::property_tree::ptree tree;
  boost::property_tree::read_json(in, tree);
  return tree;
}

// A metric of `s2s score --json`; the program prints shortest round-trip numbers.
double json_value(const boost::property_tree::ptree& tree, const std::string& key) {
  return std::stod(tree.get<std::string>(key));
}

// A failed run: non-zero exit, stderr exactly one line "s2s CMD: ..." containing every `needle`.
void check_one_line_error(const CliResult& result, const std::string& command,
                          const std::vector<std::string>& needles) {
  INFO("stdout: " << result.out << "stderr: " << result.err);
  CHECK(result.exit_code != 0);
  CHECK(result.err_is_one_line());
  CHECK(result.err.rfind(command, 0) == 0);
  for (const std::string& needle : needles) CHECK(result.err.find(needle) != std::string::npos);
}

// sacreBLEU's README example: two reference sets, BLEU 48.53 and chrF2 59.73 against both.
const std::vector<std::string> kHyps = {"The dog bit the man.", "It wasn't surprising.",
                                        "The man had just bitten him."};
const std::vector<std::string> kRefs1 = {"The dog bit the man.", "It was not unexpected.",
                                         "The man bit him first."};
const std::vector<std::string> kRefs2 = {"The dog had bit the man.", "No one was surprised.",
                                         "The man had bitten the dog."};

}  // namespace

TEST_CASE("score: values equal the library's, one reference set", "[cli]") {
  TempDir dir;
  const std::string hyp = dir.write("hyp.txt", lines(kHyps));
  const std::string ref = dir.write("ref.txt", lines(kRefs1));
  const CliResult result = run_cli({"score", "--hyp", hyp, "--ref", ref, "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto json = parse_json(result.out);

  const SegmentRefs refs = gather_references({kRefs1});
  const G2pScore g2p = g2p_score(kHyps, refs);
  CHECK(json_value(json, "bleu") == corpus_bleu(kHyps, refs).score);
  CHECK(json_value(json, "chrf") == corpus_chrf(kHyps, refs).score);
  CHECK(json_value(json, "per") == g2p.per);
  CHECK(json_value(json, "wer") == g2p.wer);
  CHECK(json_value(json, "acc") == g2p.accuracy);
  CHECK(json.get<int>("segments") == 3);
  CHECK(json.get<std::string>("nrefs") == "1");
  CHECK(json.get<std::string>("hyp") == hyp);
  CHECK(json.get<std::string>("bleu_signature").rfind("BLEU|nrefs:1|case:mixed|eff:no|tok:13a|smooth:exp = ", 0) == 0);
  CHECK(json.get<std::string>("chrf_signature").rfind("chrF2|nrefs:1|case:mixed|eff:yes|nc:6|nw:0|space:no = ", 0) == 0);
}

TEST_CASE("score: several reference sets give sacreBLEU's README values", "[cli]") {
  TempDir dir;
  const std::string hyp = dir.write("hyp.txt", lines(kHyps));
  const std::string ref1 = dir.write("ref1.txt", lines(kRefs1));
  const std::string ref2 = dir.write("ref2.txt", lines(kRefs2));
  const CliResult result =
      run_cli({"score", "--hyp", hyp, "--ref", ref1, "--ref", ref2, "--metric", "bleu,chrf"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(result.out.find("\nbleu    48.53\nchrf    59.73\n") != std::string::npos);
  CHECK(result.out.find("BLEU|nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp = 48.53 "
                        "82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17 ref_len = "
                        "18)\n") != std::string::npos);
  CHECK(result.out.find("chrF2|nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no = 59.73\n") !=
        std::string::npos);
  CHECK(result.out.find("\nper ") == std::string::npos);  // only the requested metrics
}

TEST_CASE("score: TAB-separated alternatives equal separate reference sets", "[cli]") {
  TempDir dir;
  std::vector<std::string> tabbed;
  for (std::size_t i = 0; i < kRefs1.size(); ++i) tabbed.push_back(kRefs1[i] + "\t" + kRefs2[i]);
  const std::string hyp = dir.write("hyp.txt", lines(kHyps));
  const CliResult from_tabs = run_cli(
      {"score", "--hyp", hyp, "--ref", dir.write("alts.ref", lines(tabbed)), "--json"});
  const CliResult from_sets =
      run_cli({"score", "--hyp", hyp, "--ref", dir.write("ref1.txt", lines(kRefs1)), "--ref",
               dir.write("ref2.txt", lines(kRefs2)), "--json"});
  REQUIRE(from_tabs.exit_code == 0);
  REQUIRE(from_sets.exit_code == 0);
  const auto tabs = parse_json(from_tabs.out);
  const auto sets = parse_json(from_sets.out);
  for (const char* metric : {"bleu", "chrf", "per", "wer", "acc"})
    CHECK(json_value(tabs, metric) == json_value(sets, metric));
  CHECK(json_value(tabs, "bleu") == corpus_bleu(kHyps, gather_references({kRefs1, kRefs2})).score);
}

TEST_CASE("score: G2P PER, WER and accuracy worked by hand", "[cli]") {
  // word 1: exact (0 edits, 3 phonemes); word 2: 1 deletion against the first alternative (5
  // phonemes; the second is 2 substitutions away); word 3: 1 deletion (5 phonemes).
  // PER = 100 * 2 / 13, WER = 100 * 2 / 3, acc = 100 / 3.
  TempDir dir;
  const std::string hyp = dir.write("hyp.txt", "K AH Z\nEH R N Z\nAE B AH K\n");
  const std::string ref =
      dir.write("g2p.ref", "K AH Z\nEH R AH N Z\tER AH N Z\nAE B AH K AH\n");
  const CliResult result =
      run_cli({"score", "--hyp", hyp, "--ref", ref, "--metric", "per", "--metric", "wer,acc,per",
               "--json"});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const auto json = parse_json(result.out);
  CHECK(json_value(json, "per") == Approx(200.0 / 13).epsilon(1e-12));
  CHECK(json_value(json, "wer") == Approx(200.0 / 3).epsilon(1e-12));
  CHECK(json_value(json, "acc") == Approx(100.0 / 3).epsilon(1e-12));
  CHECK(json.get<std::string>("nrefs") == "var");
  CHECK(json.count("bleu") == 0);

  const CliResult table = run_cli({"score", "--hyp", hyp, "--ref", ref, "--metric", "per,wer,acc"});
  REQUIRE(table.exit_code == 0);
  CHECK(table.out.find("\nper     15.38  2 edits / 13 reference tokens\n"
                       "wer     66.67  2 / 3 segments wrong\n"
                       "acc     33.33  1 / 3 segments exact\n") != std::string::npos);
}

TEST_CASE("score: hypotheses from stdin", "[cli]") {
  TempDir dir;
  const std::string ref = dir.write("ref.txt", lines(kRefs1));
  const CliResult result =
      run_cli({"score", "--hyp", "/dev/stdin", "--ref", ref, "--metric", "acc", "--json"},
              lines(kRefs1));
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  CHECK(json_value(parse_json(result.out), "acc") == 100.0);
}

TEST_CASE("score: --help lists every option with its default", "[cli]") {
  const CliResult result = run_cli({"score", "--help"});
  CHECK(result.exit_code == 0);
  for (const char* text : {"--hyp", "--ref", "--metric", "(=bleu,chrf,per,wer,acc)", "--json"})
    CHECK(result.out.find(text) != std::string::npos);
}

TEST_CASE("score: bad input gives one line naming the problem", "[cli]") {
  TempDir dir;
  const std::string hyp = dir.write("hyp.txt", "a b\nc d\ne f\n");
  const std::string ref = dir.write("ref.txt", "a b\nc d\ne f\n");
  const std::string short_ref = dir.write("short.txt", "a b\nc d\n");

  check_one_line_error(run_cli({"score", "--ref", ref}), "s2s score: ", {"--hyp"});
  check_one_line_error(run_cli({"score", "--hyp", hyp}), "s2s score: ", {"--ref"});
  check_one_line_error(run_cli({"score", "--hyp", hyp, "--ref", ref, "--metric", "bleu,ter"}),
                       "s2s score: ", {"'ter'", "Valid options: bleu, chrf, per, wer, acc"});
  check_one_line_error(run_cli({"score", "--hyp", hyp, "--ref", ref, "--frobnicate"}),
                       "s2s score: ", {"frobnicate"});
  check_one_line_error(run_cli({"score", "--hyp", hyp, "--ref", ref, "stray"}), "s2s score: ",
                       {"stray"});
  const std::string missing = dir.file("missing.txt");
  check_one_line_error(run_cli({"score", "--hyp", missing, "--ref", ref}), "s2s score: ",
                       {missing});
  check_one_line_error(run_cli({"score", "--hyp", hyp, "--ref", dir.file(".")}), "s2s score: ",
                       {"directory"});
  const std::string empty = dir.write("empty.txt", "");
  check_one_line_error(run_cli({"score", "--hyp", hyp, "--ref", empty}), "s2s score: ",
                       {empty, "empty"});
  const CliResult lengths = run_cli({"score", "--hyp", hyp, "--ref", ref, "--ref", short_ref});
  check_one_line_error(lengths, "s2s score: ", {});
  CHECK(lengths.err == "s2s score: error: " + hyp + " has 3 lines but " + short_ref + " has 2\n");
  const std::string bad_utf8 = dir.write("bad.txt", "a b\nc \xC3\x28 d\ne f\n");
  check_one_line_error(run_cli({"score", "--hyp", bad_utf8, "--ref", ref}), "s2s score: ",
                       {bad_utf8 + ":2:", "UTF-8"});
  const std::string blank_ref = dir.write("blank.txt", "a b\n\t\ne f\n");
  check_one_line_error(run_cli({"score", "--hyp", hyp, "--ref", blank_ref}), "s2s score: ",
                       {blank_ref + ":2", "empty reference"});
}

TEST_CASE("generate: deterministic files equal to the library's", "[cli]") {
  TempDir dir;
  const std::string first = dir.file("a/sort.tsv");  // the directory is created
  const std::string second = dir.file("b.tsv");
  const std::string other_seed = dir.file("c.tsv");
  auto with_out = [&](const std::string& path, const std::string& seed = "7") {
    return run_cli({"generate", "--out", path, "--task", "sort", "--count", "200", "--seed", seed,
                    "--min-len", "2", "--max-len", "9", "--max-token", "20"});
  };
  REQUIRE(with_out(first).exit_code == 0);
  REQUIRE(with_out(second).exit_code == 0);
  REQUIRE(with_out(other_seed, "8").exit_code == 0);
  const std::string text = read_whole_file(first);
  CHECK(text == read_whole_file(second));
  CHECK(text != read_whole_file(other_seed));

  SyntheticConfig config;
  config.task = SyntheticTask::kSort;
  config.count = 200;
  config.seed = 7;
  config.min_length = 2;
  config.max_length = 9;
  config.max_token = 20;
  const std::string expected = dir.file("expected.tsv");
  write_parallel_tsv(expected, generate_synthetic(config));
  CHECK(text == read_whole_file(expected));
  CHECK(read_parallel_tsv(first).size() == 200);

  // Regenerating over an existing file is allowed and gives the same bytes.
  REQUIRE(with_out(first).exit_code == 0);
  CHECK(read_whole_file(first) == text);
}

TEST_CASE("generate: the reverse benchmark splits", "[cli]") {
  TempDir dir;
  const std::string out_dir = dir.file("reverse/data");
  const CliResult result = run_cli({"generate", "--benchmark", "reverse", "--out-dir", out_dir});
  INFO(result.err);
  REQUIRE(result.exit_code == 0);
  const std::pair<const char*, std::size_t> splits[] = {{"train", 50000}, {"dev", 1000}, {"test", 1000}};
  for (const auto& [split, size] : splits) {
    const ParallelText text = read_parallel_tsv(out_dir + "/" + split + ".tsv");
    CHECK(text.size() == size);
    const ParallelText expected = generate_synthetic(reverse_benchmark(split));
    CHECK(text.source == expected.source);
    CHECK(text.target == expected.target);
  }
}

TEST_CASE("generate: bad options give one line naming the problem", "[cli]") {
  TempDir dir;
  const std::string out = dir.file("out.tsv");
  check_one_line_error(run_cli({"generate", "--task", "shuffle", "--out", out}), "s2s generate: ",
                       {"shuffle", "Valid options: reverse, copy, sort, date"});
  check_one_line_error(run_cli({"generate", "--task", "copy"}), "s2s generate: ", {"--out"});
  check_one_line_error(run_cli({"generate", "--out", out, "--count", "0"}), "s2s generate: ",
                       {"--count 0"});
  check_one_line_error(run_cli({"generate", "--out", out, "--count", "many"}), "s2s generate: ",
                       {"many"});
  check_one_line_error(run_cli({"generate", "--out", out, "--min-len", "5", "--max-len", "2"}),
                       "s2s generate: ", {"--min-len 5", "--max-len 2"});
  check_one_line_error(run_cli({"generate", "--out", out, "--min-year", "1990"}),
                       "s2s generate: ", {"--min-year", "reverse"});
  check_one_line_error(
      run_cli({"generate", "--task", "date", "--out", out, "--max-year", "10000"}),
      "s2s generate: ", {"--max-year 10000"});
  check_one_line_error(run_cli({"generate", "--benchmark", "sort", "--out-dir", dir.file("b")}),
                       "s2s generate: ", {"'sort'", "Valid options: reverse"});
  check_one_line_error(
      run_cli({"generate", "--benchmark", "reverse", "--out-dir", dir.file("b"), "--seed", "3"}),
      "s2s generate: ", {"--seed", "--benchmark"});
  check_one_line_error(run_cli({"generate", "--benchmark", "reverse"}), "s2s generate: ",
                       {"--out-dir"});
  CHECK_FALSE(std::filesystem::exists(out));
}

TEST_CASE("generate: --help lists every option with its default", "[cli]") {
  const CliResult result = run_cli({"generate", "--help"});
  CHECK(result.exit_code == 0);
  for (const char* text : {"--task arg (=reverse)", "--count arg (=1000)", "--seed arg (=1)",
                           "--min-len arg (=1)", "--max-len arg (=25)", "--min-token arg (=0)",
                           "--max-token arg (=49)", "--min-year arg (=1900)",
                           "--max-year arg (=2099)", "--benchmark", "--out-dir", "overwritten"})
    CHECK(result.out.find(text) != std::string::npos);
}

TEST_CASE("s2s: unknown commands list the valid ones. --version names the BLAS core", "[cli]") {
  const CliResult unknown = run_cli({"nosuchcommand"});
  check_one_line_error(unknown, "s2s: ", {"nosuchcommand", "score", "generate", "train"});
  CHECK(unknown.exit_code == 2);

  const CliResult version = run_cli({"--version"});
  CHECK(version.exit_code == 0);
  CHECK(version.out.find("core=" + blas_core_name()) != std::string::npos);
}
