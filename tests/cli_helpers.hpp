#pragma once
// Running the built `s2s` program from a test: arguments and optional stdin text in, exit code,
// stdout and stderr out. The child inherits the environment (so OPENBLAS_CORETYPE set by the test
// runner's ensure_blas_core carries over) and runs without a shell, so arguments need no quoting.
#include <fcntl.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "file_helpers.hpp"

extern char** environ;

namespace s2s::testing {

struct CliResult {
  int exit_code = -1;  // the program's exit status, or 128 + signal number if it was killed
  std::string out;     // everything written to stdout
  std::string err;     // everything written to stderr

  // True when stderr is exactly one line (one '\n', at the end): main() prints errors so.
  bool err_is_one_line() const {
    return !err.empty() && err.back() == '\n' && err.find('\n') == err.size() - 1;
  }
};

inline std::string cli_binary() { return S2S_BINARY_DIR "/bin/s2s"; }

inline std::string read_whole_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

// This process's environment with `changes` applied: "NAME=VALUE" sets NAME, "NAME" alone
// removes it.
inline std::vector<std::string> changed_environment(const std::vector<std::string>& changes) {
  std::vector<std::string> env;
  for (char** e = environ; *e != nullptr; ++e) env.emplace_back(*e);
  for (const std::string& change : changes) {
    const std::string name = change.substr(0, change.find('='));
    std::vector<std::string> kept;
    for (std::string& e : env)
      if (e.compare(0, name.size() + 1, name + "=") != 0) kept.push_back(std::move(e));
    env = std::move(kept);
    if (change.find('=') != std::string::npos) env.push_back(change);
  }
  return env;
}

// Runs `binary args...` with `stdin_text` on its standard input (empty: an empty input) and
// waits for it; `env_changes` as changed_environment takes them. Throws std::runtime_error if the
// program cannot be started at all.
inline CliResult run_program(const std::string& binary, const std::vector<std::string>& args,
                             const std::string& stdin_text = "",
                             const std::vector<std::string>& env_changes = {}) {
  TempDir io;
  const std::string in_path = io.write("stdin.txt", stdin_text);
  const std::string out_path = io.file("stdout.txt");
  const std::string err_path = io.file("stderr.txt");

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 0, in_path.c_str(), O_RDONLY, 0);
  posix_spawn_file_actions_addopen(&actions, 1, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  std::vector<std::string> argv_storage;
  argv_storage.push_back(binary);
  argv_storage.insert(argv_storage.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (std::string& arg : argv_storage) argv.push_back(arg.data());
  argv.push_back(nullptr);

  std::vector<std::string> env_storage = changed_environment(env_changes);
  std::vector<char*> env;
  for (std::string& e : env_storage) env.push_back(e.data());
  env.push_back(nullptr);

  pid_t pid = 0;
  const int spawn_error =
      posix_spawn(&pid, binary.c_str(), &actions, nullptr, argv.data(), env.data());
  posix_spawn_file_actions_destroy(&actions);
  if (spawn_error != 0)
    throw std::runtime_error(binary + ": cannot start (" + std::strerror(spawn_error) + ")");
  int status = 0;
  while (waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) throw std::runtime_error(binary + ": waitpid failed");
  }
  CliResult result;
  result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  result.out = read_whole_file(out_path);
  result.err = read_whole_file(err_path);
  return result;
}

// Runs the s2s command-line program built next to the tests.
inline CliResult run_cli(const std::vector<std::string>& args, const std::string& stdin_text = "") {
  return run_program(cli_binary(), args, stdin_text);
}

}  // namespace s2s::testing
