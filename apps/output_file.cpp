#include "output_file.hpp"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <algorithm>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>

namespace fs = std::filesystem;

namespace s2s::app {

namespace {

std::string reason() { return errno != 0 ? std::strerror(errno) : "I/O error"; }

}  // namespace

void remove_dead_temporaries(const std::string& dir, const std::vector<std::string>& names) {
  std::error_code error;
  for (const auto& entry : fs::directory_iterator(dir.empty() ? "." : dir, error)) {
    const std::string name = entry.path().filename().string();
    const auto at = name.rfind(".tmp.");
    if (at == std::string::npos ||
        std::find(names.begin(), names.end(), name.substr(0, at)) == names.end())
      continue;
    const std::string pid = name.substr(at + 5);
    if (pid.empty() || pid.size() > 9 || pid.find_first_not_of("0123456789") != std::string::npos)
      continue;
    if (::kill(static_cast<pid_t>(std::stol(pid)), 0) != 0 && errno == ESRCH)
      fs::remove(entry.path(), error);
  }
}

OutputFile::OutputFile(const std::string& path) : path_(path) {
  // Not following links: /dev/stdout is a link, and so is a user's link, written through.
  std::error_code error;
  const fs::file_status status = fs::symlink_status(path, error);
  const bool special = fs::exists(status) && !fs::is_regular_file(status);
  written_ = special ? path : path + ".tmp." + std::to_string(::getpid());
  if (!special) {
    const fs::path p(path);
    remove_dead_temporaries(p.parent_path().string(), {p.filename().string()});
  }
  errno = 0;
  out_.open(written_, std::ios::binary | std::ios::trunc);
  if (!out_) throw std::runtime_error(path + ": cannot write: " + reason());
}

OutputFile::~OutputFile() {
  if (!committed_ && written_ != path_) {
    out_.close();
    ::unlink(written_.c_str());
  }
}

void OutputFile::check() {
  errno = 0;
  out_.flush();
  if (!out_) throw std::runtime_error(path_ + ": write failed: " + reason());
}

void OutputFile::commit() {
  check();
  errno = 0;
  out_.close();
  if (out_.fail()) throw std::runtime_error(path_ + ": write failed: " + reason());
  if (written_ != path_) {
    const int fd = ::open(written_.c_str(), O_RDONLY);
    if (fd < 0 || ::fsync(fd) != 0) {
      if (fd >= 0) ::close(fd);
      throw std::runtime_error(path_ + ": write failed: " + reason());
    }
    ::close(fd);
    if (::rename(written_.c_str(), path_.c_str()) != 0)
      throw std::runtime_error(path_ + ": cannot write: " + reason());
  }
  committed_ = true;
}

void refuse_same_file(const std::string& input, const std::string& output,
                      const std::string& input_flag, const std::string& output_flag) {
  std::error_code error;
  if (!input.empty() && !output.empty() && fs::exists(input, error) &&
      fs::exists(output, error) && fs::equivalent(input, output, error))
    throw std::runtime_error(output_flag + " " + output + " is the same file as " + input_flag +
                             " " + input + ": writing it would destroy the input");
}

void check_stdout() {
  errno = 0;
  std::cout.flush();
  if (!std::cout) throw std::runtime_error("standard output: write failed: " + reason());
}

}  // namespace s2s::app
