// Portable reproducibility (README, Reproducibility): a run in portable mode gives the same bytes
// whatever vector instructions the CPU offers beyond AVX2, on an emulated Intel CPU as on this
// one; fast mode may differ between machines; every model directory records where it ran, and a
// resume on another setup says so.
#include <catch2/catch.hpp>

#include <boost/property_tree/json_parser.hpp>
#include <boost/property_tree/ptree.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>

#include "checkpoint_helpers.hpp"
#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "task_helpers.hpp"
#include "s2s/core/blas_setup.hpp"
#include "s2s/core/checkpoint.hpp"
#include "s2s/core/cpu.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

// Dropout, attention, Adam and a Noam schedule: every kind of arithmetic a run does.
const char* const kRnnRecipe =
    "[model]\ncell = lstm\nattention = luong-general\nembed_size = 8\nhidden_size = 16\n"
    "dropout = 0.2\n"
    "[train]\nseed = 5\nepochs = 0\nmax_steps = 60\nbatch_size = 16\nvalid_every = 20\n"
    "log_every = 10\nlr = 0.01\nschedule = noam\nwarmup_steps = 20\nlabel_smoothing = 0.1\n";
const char* const kTransformerRecipe =
    "[model]\ntype = transformer\nd_model = 16\nheads = 2\nff_size = 32\ntransformer_layers = 1\n"
    "dropout = 0.1\n"
    "[train]\nseed = 5\nepochs = 0\nmax_steps = 60\nbatch_size = 16\nvalid_every = 20\n"
    "log_every = 10\nlr = 0.005\nschedule = noam\nwarmup_steps = 20\n";

// train_log.jsonl without its first line (the provenance) and without timings.
std::string log_without_setup(const std::string& path) {
  static const std::regex timing(R"(,"tokens_per_s":[^,}]*|,"elapsed_s":[^,}]*)");
  const std::string log = read_whole_file(path);
  const auto first_newline = log.find('\n');
  REQUIRE(log.compare(0, 15, "{\"provenance\": ") == 0);
  return std::regex_replace(log.substr(first_newline + 1), timing, "");
}

// Everything two runs produced that does not measure time: best.ckpt byte for byte; last.ckpt's
// tensors, texts and scalars bit for bit except "elapsed" (wall-clock seconds); the logs without
// their timings and setup line; the test outputs.
bool same_results(const std::string& a, const std::string& b) {
  if (read_whole_file(a + "/best.ckpt") != read_whole_file(b + "/best.ckpt")) return false;
  const Checkpoint x = load_checkpoint(a + "/last.ckpt"), y = load_checkpoint(b + "/last.ckpt");
  if (x.tensors.size() != y.tensors.size() || x.texts != y.texts) return false;
  for (const auto& [name, tensor] : x.tensors)
    if (y.tensors.count(name) == 0 || tensor.data != y.tensors.at(name).data) return false;
  for (const auto& [name, value] : x.scalars)
    if (name != "elapsed" && (y.scalars.count(name) == 0 || y.scalars.at(name) != value))
      return false;
  return log_without_setup(a + "/train_log.jsonl") == log_without_setup(b + "/train_log.jsonl") &&
         read_whole_file(a + "/test_hyps.txt") == read_whole_file(b + "/test_hyps.txt");
}

boost::property_tree::ptree read_json_file(const std::string& path) {
  std::istringstream in(read_whole_file(path));
  boost::property_tree::ptree tree;
  boost::property_tree::read_json(in, tree);
  return tree;
}

struct Task {
  TempDir dir;
  std::string config;
  explicit Task(const char* recipe) : config(write_reverse_task(dir, 300, 6, recipe)) {}

  // `s2s train` (through `launcher`, e.g. qemu, when given) into dir/name, the dev set as test.
  CliResult train(const std::string& name, const std::vector<std::string>& extra,
                  const std::vector<std::string>& env = {},
                  const std::vector<std::string>& launcher = {}) const {
    std::vector<std::string> args = launcher;
    if (!launcher.empty()) args.push_back(cli_binary());
    for (const std::string& a : {std::string("train"), std::string("--config"), config,
                                 std::string("--quiet"), std::string("--train.output_dir"),
                                 dir.file(name), std::string("--data.test"), dir.file("dev.tsv")})
      args.push_back(a);
    args.insert(args.end(), extra.begin(), extra.end());
    if (launcher.empty()) return run_program(cli_binary(), args, "", env);
    const std::string program = args.front();
    return run_program(program, {args.begin() + 1, args.end()}, "", env);
  }
  std::string run(const std::string& name) const { return dir.file(name); }
};

std::string provenance_field(const std::string& run, const std::string& field) {
  return read_json_file(run + "/model.json").get<std::string>("provenance." + field);
}

const std::vector<std::string> kPortable = {"--train.reproducible", "portable"};
const std::string kForceAvx2 = std::string(kCpuIsaVariable) + "=avx2";
const std::string kCpuDispatch = kCpuIsaVariable;  // removed from the environment

}  // namespace

TEST_CASE("Portable mode gives the same bytes with the CPU's dispatch and with forced AVX2",
          "[reproducibility]") {
  for (const char* recipe : {kRnnRecipe, kTransformerRecipe}) {
    Task task(recipe);
    INFO(recipe);
    const CliResult own = task.train("own", kPortable, {kCpuDispatch, "OPENBLAS_CORETYPE"});
    INFO(own.err);
    REQUIRE(own.exit_code == 0);
    const CliResult forced = task.train("forced", kPortable, {kForceAvx2, "OPENBLAS_CORETYPE"});
    INFO(forced.err);
    REQUIRE(forced.exit_code == 0);
    for (const std::string& run : {task.run("own"), task.run("forced")}) {
      CHECK(provenance_field(run, "blas_core") == kAvx2BlasCore);
      CHECK(provenance_field(run, "isa") == "avx2");
      CHECK(provenance_field(run, "blas_threads") == "1");
    }
    CHECK(same_results(task.run("own"), task.run("forced")));

    // The check can fail: a run one step shorter differs.
    std::vector<std::string> shorter = kPortable;
    shorter.insert(shorter.end(), {"--train.max_steps", "59"});
    REQUIRE(task.train("shorter", shorter, {kForceAvx2}).exit_code == 0);
    CHECK_FALSE(same_results(task.run("own"), task.run("shorter")));

    // Fast mode runs the CPU's own kernels: on a CPU with AVX-512 they differ from the AVX2 ones
    // and so may the results. On an AVX2-only CPU whose OpenBLAS core shares the Haswell
    // kernels (Zen, Haswell) they agree. Either way it is recorded, not promised.
    REQUIRE(task.train("fast-own", {}, {kCpuDispatch, "OPENBLAS_CORETYPE"}).exit_code == 0);
    REQUIRE(task.train("fast-forced", {}, {kForceAvx2, "OPENBLAS_CORETYPE"}).exit_code == 0);
    CHECK(provenance_field(task.run("fast-own"), "reproducible") == "fast");
    CHECK(provenance_field(task.run("fast-own"), "isa") == isa_name(cpu_isa()));
    const bool fast_same = same_results(task.run("fast-own"), task.run("fast-forced"));
    std::printf("reproducibility: fast mode, OpenBLAS core %s against %s: %s\n",
                provenance_field(task.run("fast-own"), "blas_core").c_str(), kAvx2BlasCore,
                fast_same ? "the same bytes" : "different results");
  }
}

// qemu-user (Debian's qemu-user, scripts/install-deps.sh) runs the same binary on an emulated
// Intel CPU: another vendor, model, cache description and CPUID, as another machine would be.
TEST_CASE("Portable mode gives the same bytes on an emulated Intel Haswell as on this CPU",
          "[reproducibility]") {
  if (kAddressSanitizer) {
    WARN("skipped under AddressSanitizer: its shadow memory does not map under qemu-user");
    return;
  }
  const std::string qemu = "/usr/bin/qemu-x86_64";
  if (!std::filesystem::exists(qemu))
    FAIL(qemu + " is missing: install Debian's qemu-user (scripts/install-deps.sh does)");
  Task task(kRnnRecipe);
  const CliResult native = task.train("native", kPortable, {kCpuDispatch, "OPENBLAS_CORETYPE"});
  INFO(native.err);
  REQUIRE(native.exit_code == 0);
  const CliResult emulated = task.train("haswell", kPortable, {kCpuDispatch, "OPENBLAS_CORETYPE"},
                                        {qemu, "-cpu", "Haswell"});
  INFO(emulated.err);
  REQUIRE(emulated.exit_code == 0);
  CHECK(provenance_field(task.run("haswell"), "cpu").find("Haswell") != std::string::npos);
  CHECK(provenance_field(task.run("haswell"), "cpu") != provenance_field(task.run("native"), "cpu"));
  CHECK(same_results(task.run("native"), task.run("haswell")));

  // A CPU without AVX2 (Sandy Bridge: AVX, no FMA) cannot run portable mode: one line, exit 1,
  // no model directory left behind.
  const CliResult refused = task.train("sandy", kPortable, {kCpuDispatch, "OPENBLAS_CORETYPE"},
                                       {qemu, "-cpu", "SandyBridge"});
  CHECK(refused.exit_code == 1);
  CHECK(refused.err.find("needs a CPU with AVX2 and FMA") != std::string::npos);
  CHECK_FALSE(std::filesystem::exists(task.run("sandy")));

  // Fast mode there runs OpenBLAS's Sandy Bridge kernels (no FMA): other roundings, another run.
  REQUIRE(task.train("sandy-fast", {}, {kCpuDispatch, "OPENBLAS_CORETYPE"},
                     {qemu, "-cpu", "SandyBridge"}).exit_code == 0);
  CHECK(provenance_field(task.run("sandy-fast"), "blas_core") == "Sandybridge");
  CHECK_FALSE(same_results(task.run("native"), task.run("sandy-fast")));
}

TEST_CASE("model.json and the log's first line record where and how the run ran",
          "[reproducibility]") {
  Task task(kRnnRecipe);
  REQUIRE(task.train("run", {"--train.workers", "2", "--train.max_steps", "20"}).exit_code == 0);
  const auto record = read_json_file(task.run("run") + "/model.json");
  const auto& p = record.get_child("provenance");
  for (const char* field : {"version", "commit", "dirty", "blas", "blas_core", "blas_threads",
                            "cpu", "cpu_isa", "isa", "workers", "ranks", "reproducible"}) {
    INFO(field);
    CHECK_FALSE(p.get<std::string>(field, "").empty());
  }
  CHECK(p.get<std::string>("blas") == blas_library());
  CHECK(p.get<std::string>("cpu") == cpu_model_name());
  CHECK(p.get<std::string>("workers") == "2");
  CHECK(p.get<std::string>("ranks") == "1");
  CHECK(p.get<std::string>("reproducible") == "fast");
  CHECK(std::regex_match(p.get<std::string>("commit"), std::regex("[0-9a-f]{40}|unknown")));
  // The log's first line holds the same record, and no "step".
  const std::string log = read_whole_file(task.run("run") + "/train_log.jsonl");
  const std::string first = log.substr(0, log.find('\n'));
  std::istringstream in(first);
  boost::property_tree::ptree header;
  boost::property_tree::read_json(in, header);
  CHECK((header.get_child("provenance") == p));
  CHECK(first.find("\"step\"") == std::string::npos);
}

TEST_CASE("A resume on a changed setup warns in one line. on the same setup it says nothing",
          "[reproducibility]") {
  Task task(kRnnRecipe);
  const std::vector<std::string> first = {"--train.max_steps", "20"};
  REQUIRE(task.train("run", first).exit_code == 0);
  const std::string dir = task.run("run");
  const CliResult same = run_cli({"train", "--resume", dir, "--quiet", "--train.max_steps", "40"});
  REQUIRE(same.exit_code == 0);
  CHECK(same.err.empty());
  CHECK(read_json_file(dir + "/model.json").count("resumes") == 0);

  const CliResult changed = run_cli(
      {"train", "--resume", dir, "--quiet", "--train.max_steps", "60", "--train.workers", "2"});
  INFO(changed.err);
  REQUIRE(changed.exit_code == 0);
  CHECK(changed.err_is_one_line());
  CHECK(changed.err.find("workers 1 -> 2") !=
        std::string::npos);
  CHECK(changed.err.find("no longer bit-identical") != std::string::npos);
  const auto resumes = read_json_file(dir + "/model.json").get_child("resumes");
  REQUIRE(resumes.size() == 1);
  CHECK(resumes.front().second.get<long>("step") == 40);
  CHECK(resumes.front().second.get<std::string>("provenance.workers") == "2");
  // The next resume compares with the last setup (2 workers), not the first.
  const CliResult again = run_cli(
      {"train", "--resume", dir, "--quiet", "--train.max_steps", "70", "--train.workers", "2"});
  REQUIRE(again.exit_code == 0);
  CHECK(again.err.empty());

  // A model directory of an older s2s (model.json without provenance): said, not compared.
  std::ofstream(dir + "/model.json") << "{\"model\": \"m\", \"parameters\": 1}\n";
  const CliResult older = run_cli(
      {"train", "--resume", dir, "--quiet", "--train.max_steps", "80", "--train.workers", "2"});
  REQUIRE(older.exit_code == 0);
  CHECK(older.err_is_one_line());
  CHECK(older.err.find("records no provenance") != std::string::npos);
}

TEST_CASE("Bad reproducibility settings get a one-line error", "[reproducibility]") {
  Task task(kRnnRecipe);
  const CliResult bad_mode = task.train("a", {"--train.reproducible", "exact"});
  CHECK(bad_mode.exit_code != 0);
  CHECK(bad_mode.err_is_one_line());
  CHECK(bad_mode.err.find("train.reproducible") != std::string::npos);

  const CliResult threads = task.train("b", {"--train.reproducible", "portable", "--train.threads", "2"});
  CHECK(threads.exit_code != 0);
  CHECK(threads.err_is_one_line());
  CHECK(threads.err.find("train.threads must be 0 or 1") != std::string::npos);

  const CliResult isa = task.train("c", {}, {std::string(kCpuIsaVariable) + "=avx1024"});
  CHECK(isa.exit_code == 2);
  CHECK(isa.err_is_one_line());
  CHECK(isa.err.find("S2S_CPU_ISA=avx1024: unknown; valid values: native, avx2") !=
        std::string::npos);
  for (const char* name : {"a", "b", "c"}) CHECK_FALSE(std::filesystem::exists(task.run(name)));

  REQUIRE(task.train("model", {"--train.max_steps", "10"}).exit_code == 0);
  const CliResult translate = run_cli(
      {"translate", "--model", task.run("model"), "--reproducible", "sometimes"}, "1 2 3\n");
  CHECK(translate.exit_code == 2);
  CHECK(translate.err_is_one_line());
  CHECK(translate.err.find("--reproducible") != std::string::npos);
}

TEST_CASE("translate and evaluate in portable mode give the same outputs with either dispatch",
          "[reproducibility]") {
  Task task(kRnnRecipe);
  REQUIRE(task.train("model", kPortable).exit_code == 0);
  const std::string input = read_whole_file(task.dir.file("dev.tsv"));
  std::string sources;
  std::istringstream lines(input);
  for (std::string line; std::getline(lines, line);) sources += line.substr(0, line.find('\t')) + "\n";
  const std::vector<std::string> args = {"translate", "--model", task.run("model"), "--beam", "3"};
  const CliResult own = run_program(cli_binary(), args, sources, {kCpuDispatch});
  const CliResult forced = run_program(cli_binary(), args, sources, {kForceAvx2});
  INFO(own.err << forced.err);
  REQUIRE(own.exit_code == 0);
  REQUIRE(forced.exit_code == 0);
  CHECK_FALSE(own.out.empty());
  CHECK(own.out == forced.out);  // the input survived portable mode's restart, too
  CHECK(std::count(own.out.begin(), own.out.end(), '\n') ==
        std::count(sources.begin(), sources.end(), '\n'));
}
