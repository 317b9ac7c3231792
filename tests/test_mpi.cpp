// Multi-process training under `mpirun -np 2` (ctest label "mpi"; hidden from the default Catch2
// run, registered by tests/CMakeLists.txt only when MPI and mpiexec were found):
//   * 2 ranks with global batch B end with the parameters of 1 process with batch B, up to
//     floating-point summation order: |θ_2 − θ_1| ≤ 1e-5 · (1 + max|θ_1|) per tensor;
//   * a 2-rank run resumed from its last.ckpt (dropout on, per-rank RNG states) ends bit for bit
//     where the uninterrupted 2-rank run ends;
//   * a rank killed with SIGKILL ends the whole job with mpirun's message, no hang, and the last
//     checkpoint still loads.
#include <catch2/catch.hpp>

#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <regex>
#include <thread>

#include "cli_helpers.hpp"
#include "file_helpers.hpp"
#include "task_helpers.hpp"
#include "s2s/core/checkpoint.hpp"

#ifdef S2S_MPIEXEC

using namespace s2s;
using namespace s2s::testing;

namespace {

// Open MPI refuses to run as root (CI, containers) without these.
void allow_mpirun_as_root() {
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT", "1", 1);
  ::setenv("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1", 1);
}

std::vector<std::string> mpirun_args(int ranks, const std::vector<std::string>& s2s_args) {
  std::vector<std::string> args = {"--oversubscribe", "-np", std::to_string(ranks), cli_binary()};
  args.insert(args.end(), s2s_args.begin(), s2s_args.end());
  return args;
}

CliResult run_mpi(int ranks, const std::vector<std::string>& s2s_args,
                  const std::vector<std::string>& env_changes = {}) {
  allow_mpirun_as_root();
  return run_program(S2S_MPIEXEC, mpirun_args(ranks, s2s_args), "", env_changes);
}

// A tiny reverse task; batches of 16 sentences split 8 + 8 over two ranks (uneven token counts).
std::string write_task(const TempDir& dir, double dropout) {
  return write_reverse_task(dir, 300, 7,
                            "[model]\ncell = gru\nattention = bahdanau\nbidirectional = true\n"
                            "embed_size = 8\nhidden_size = 16\ndropout = " + std::to_string(dropout) +
                                "\n[train]\nseed = 5\nepochs = 0\nmax_steps = 40\nbatch_size = 16\n"
                                "valid_every = 10\nlog_every = 5\nlr = 0.01\nclip_norm = 1\n"
                                "label_smoothing = 0.1\nthreads = 1\n");
}

struct ParameterDifference {
  double worst_ratio = 0.0;  // max over tensors of max|a − b| / (1 + max|a|)
  std::string worst_tensor;
  std::size_t tensors = 0;
};

ParameterDifference compare_parameters(const std::string& a, const std::string& b) {
  const Checkpoint x = load_checkpoint(a), y = load_checkpoint(b);
  REQUIRE(x.tensors.size() == y.tensors.size());
  ParameterDifference d;
  for (const auto& [name, tensor] : x.tensors) {
    if (name.rfind("optim", 0) == 0) continue;  // parameters only, not optimizer moments
    INFO(name);
    REQUIRE(y.tensors.count(name) == 1);
    const auto& other = y.tensors.at(name).data;
    REQUIRE(other.size() == tensor.data.size());
    double max_diff = 0.0, max_abs = 0.0;
    for (std::size_t i = 0; i < other.size(); ++i) {
      max_diff = std::max(max_diff, std::fabs(double(tensor.data[i]) - double(other[i])));
      max_abs = std::max(max_abs, std::fabs(double(tensor.data[i])));
    }
    const double ratio = max_diff / (1.0 + max_abs);
    if (ratio >= d.worst_ratio) {
      d.worst_ratio = ratio;
      d.worst_tensor = name;
    }
    ++d.tensors;
  }
  return d;
}

std::string without_timing(const std::string& log) {
  static const std::regex timing(R"(,"tokens_per_s":[^,}]*|,"elapsed_s":[^,}]*)");
  return std::regex_replace(log, timing, "");
}

bool log_reached_step(const std::string& path, int step) {
  static const std::regex re(R"("step":(\d+))");
  const std::string log = read_whole_file(path);
  int last = -1;
  for (auto it = std::sregex_iterator(log.begin(), log.end(), re); it != std::sregex_iterator();
       ++it)
    last = std::stoi((*it)[1]);
  return last >= step;
}

// The pid of the process whose command line mentions `marker` and whose MPI rank is `rank`.
pid_t find_rank_process(const std::string& marker, int rank) {
  namespace fs = std::filesystem;
  const std::string rank_entry = "OMPI_COMM_WORLD_RANK=" + std::to_string(rank);
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    const std::string cmdline = read_whole_file(entry.path() / "cmdline");
    if (cmdline.find(marker) == std::string::npos) continue;
    if (cmdline.find(std::string(S2S_MPIEXEC) + '\0') == 0) continue;  // mpirun itself
    std::string environ_text = read_whole_file(entry.path() / "environ");
    std::replace(environ_text.begin(), environ_text.end(), '\0', '\n');
    if (("\n" + environ_text).find("\n" + rank_entry + "\n") != std::string::npos)
      return static_cast<pid_t>(std::stol(name));
  }
  return 0;
}

}  // namespace

TEST_CASE("mpirun -np 2 with global batch B gives the parameters of one process with batch B",
          "[.mpi]") {
  TempDir dir;
  const std::string config = write_task(dir, 0.0);  // dropout masks differ per rank: off here
  // copy: the pointer-generator over a vocabulary of 6 of the 10 tokens, so that the shards carry
  // extended source ids.
  const bool copy = GENERATE(false, true);
  INFO((copy ? "model.copy" : "bahdanau"));
  std::vector<std::string> extra;
  if (copy)
    extra = {"--model.copy", "true", "--data.joint_vocab", "true", "--data.max_vocab", "6",
             "--train.label_smoothing", "0"};
  const std::string one = dir.file("one"), two = dir.file("two");
  auto args = [&](const std::string& out) {
    std::vector<std::string> a = {"train", "--config", config, "--quiet", "--train.output_dir", out};
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  CliResult single = run_cli(args(one));
  INFO(single.err);
  REQUIRE(single.exit_code == 0);
  CliResult mpi = run_mpi(2, args(two));
  INFO(mpi.out + mpi.err);
  REQUIRE(mpi.exit_code == 0);
  CHECK(mpi.out.empty());  // --quiet on every rank; and the others never print

  const ParameterDifference d = compare_parameters(one + "/last.ckpt", two + "/last.ckpt");
  INFO("worst tensor " << d.worst_tensor << ": max|diff| / (1 + max|θ|) = " << d.worst_ratio);
  CHECK(d.tensors > 10);
  CHECK(d.worst_ratio <= 1e-5);
  // The tolerance is far below what one optimizer step moves (so the check can fail): the run
  // that stops one step earlier is well outside it.
  const std::string short_run = dir.file("short");
  std::vector<std::string> short_args = args(short_run);
  short_args.insert(short_args.end(), {"--train.max_steps", "39"});
  REQUIRE(run_cli(short_args).exit_code == 0);
  CHECK(compare_parameters(one + "/last.ckpt", short_run + "/last.ckpt").worst_ratio > 1e-3);

  // Rank 0 alone wrote the model directory: one log with the same steps and validations.
  const std::string log_one = read_whole_file(one + "/train_log.jsonl");
  const std::string log_two = read_whole_file(two + "/train_log.jsonl");
  CHECK(std::count(log_one.begin(), log_one.end(), '\n') ==
        std::count(log_two.begin(), log_two.end(), '\n'));
  CHECK(log_two.find("\"dev_loss\"") != std::string::npos);
}

TEST_CASE("A 2-rank run resumed from last.ckpt ends bit for bit like the uninterrupted run",
          "[.mpi]") {
  TempDir dir;
  const std::string config = write_task(dir, 0.3);  // dropout on: per-rank RNG states matter
  const std::string straight = dir.file("straight"), resumed = dir.file("resumed");
  CliResult a = run_mpi(2, {"train", "--config", config, "--quiet", "--train.output_dir", straight});
  INFO(a.err);
  REQUIRE(a.exit_code == 0);
  CliResult first = run_mpi(2, {"train", "--config", config, "--quiet", "--train.output_dir",
                                resumed, "--train.max_steps", "20"});
  INFO(first.err);
  REQUIRE(first.exit_code == 0);
  REQUIRE(load_checkpoint(resumed + "/last.ckpt").texts.count("rng.rank1") == 1);
  CliResult second =
      run_mpi(2, {"train", "--resume", resumed, "--quiet", "--train.max_steps", "40"});
  INFO(second.err);
  REQUIRE(second.exit_code == 0);
  const ParameterDifference d = compare_parameters(straight + "/last.ckpt", resumed + "/last.ckpt");
  CHECK(d.tensors > 10);
  CHECK(d.worst_ratio == 0.0);
  CHECK(without_timing(read_whole_file(straight + "/train_log.jsonl")) ==
        without_timing(read_whole_file(resumed + "/train_log.jsonl")));
}

TEST_CASE("A rank killed with SIGKILL ends the whole job with a message, not a hang", "[.mpi]") {
  TempDir dir;
  const std::string config = write_task(dir, 0.0);
  const std::string model_dir = dir.file("killed");
  allow_mpirun_as_root();
  std::vector<std::string> args = {S2S_MPIEXEC};
  for (const std::string& a : mpirun_args(2, {"train", "--config", config, "--quiet",
                                              "--train.output_dir", model_dir,
                                              "--train.max_steps", "1000000"}))
    args.push_back(a);
  std::vector<char*> argv;
  for (auto& s : args) argv.push_back(s.data());
  argv.push_back(nullptr);
  const std::string err_path = dir.file("mpirun.err");
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC,
                                   0644);
  pid_t mpirun = 0;
  const int spawned = posix_spawn(&mpirun, argv[0], &actions, nullptr, argv.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  REQUIRE(spawned == 0);

  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (!log_reached_step(model_dir + "/train_log.jsonl", 25) &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const pid_t rank1 = find_rank_process(model_dir, 1);
  if (rank1 > 0) ::kill(rank1, SIGKILL);

  // mpirun must end the job by itself; give it 30 s before calling it a hang.
  int status = 0;
  pid_t waited = 0;
  deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  while ((waited = ::waitpid(mpirun, &status, WNOHANG)) == 0 &&
         std::chrono::steady_clock::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  if (waited == 0) {  // hung: clean up what this test started, then fail
    ::kill(mpirun, SIGKILL);
    ::waitpid(mpirun, &status, 0);
  }
  const std::string err = read_whole_file(err_path);
  INFO(err);
  REQUIRE(rank1 > 0);
  REQUIRE(waited == mpirun);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) != 0);
  CHECK(err.find("rank 1") != std::string::npos);
  CHECK(err.find("signal 9") != std::string::npos);
  // The last checkpoint (written atomically by rank 0) is whole.
  const Checkpoint last = load_checkpoint(model_dir + "/last.ckpt");
  CHECK(last.scalar("step") >= 10);
}

#endif  // S2S_MPIEXEC

TEST_CASE("Portable mode under mpirun: 3 ranks sum in rank order and rerun to the same bytes",
          "[.mpi]") {
  TempDir dir;
  const std::string config = write_task(dir, 0.2);
  const std::vector<std::string> portable = {"--train.reproducible", "portable"};
  std::vector<std::string> runs;
  for (const char* name : {"a", "b"}) {
    std::vector<std::string> args = {"train", "--config", config, "--quiet",
                                     "--train.output_dir", dir.file(name)};
    args.insert(args.end(), portable.begin(), portable.end());
    // The ranks cannot restart themselves after MPI_Init: they start in the AVX2 dispatch.
    const CliResult r = run_mpi(3, args, {"S2S_CPU_ISA=avx2"});
    INFO(r.out + r.err);
    REQUIRE(r.exit_code == 0);
    runs.push_back(dir.file(name));
  }
  CHECK(read_whole_file(runs[0] + "/best.ckpt") == read_whole_file(runs[1] + "/best.ckpt"));
  CHECK(compare_parameters(runs[0] + "/last.ckpt", runs[1] + "/last.ckpt").worst_ratio == 0.0);
  const std::string record = read_whole_file(runs[0] + "/model.json");
  CHECK(record.find("\"ranks\": 3") != std::string::npos);
  CHECK(record.find("\"reproducible\": \"portable\"") != std::string::npos);
  CHECK(record.find("\"blas_core\": \"Haswell\"") != std::string::npos);
}
