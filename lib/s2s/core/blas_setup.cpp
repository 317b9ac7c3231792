#include "s2s/core/blas_setup.hpp"

#include <strings.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <stdexcept>
#include <vector>

#include "s2s/core/cpu.hpp"

extern "C" {
char* openblas_get_corename(void);
char* openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}

namespace s2s {

namespace {

// Holds the pid of a process that re-executed itself to change its kernels. The pid survives
// execv, so the new image knows it is the second try; child processes, which inherit the
// variable, have other pids and may re-execute themselves once too.
constexpr const char* kReexecGuard = "S2S_BLAS_REEXEC";

std::vector<std::string> g_arguments;  // what ensure_blas_core saw, for enter_avx2_dispatch

bool reexecuted_already() {
  const char* guard = std::getenv(kReexecGuard);
  return guard != nullptr && std::to_string(::getpid()) == guard;
}

// Re-executes the program with its original arguments and the environment as it is now
// (with the guard set). Returns only if execv failed, with errno set.
void reexecute() {
  setenv(kReexecGuard, std::to_string(::getpid()).c_str(), 1);
  std::vector<char*> args;
  for (std::string& a : g_arguments) args.push_back(a.data());
  args.push_back(nullptr);
  execv("/proc/self/exe", args.data());
}

[[noreturn]] void exit_with_error(const std::string& message) {
  std::fprintf(stderr, "s2s: error: %s\n", message.c_str());
  std::exit(2);
}

}  // namespace

std::string blas_core_name() { return openblas_get_corename(); }

int blas_num_threads() { return openblas_get_num_threads(); }

void set_blas_num_threads(int n) { openblas_set_num_threads(n); }

bool is_generic_blas_core(const std::string& core_name) {
  static const char* const generic[] = {"Prescott", "Core2", "Penryn", "Dunnington",
                                        "Nehalem", "Katmai", "Coppermine", "Northwood",
                                        "Banias", "Atom", "Unknown", "generic"};
  for (const char* name : generic)
    if (strcasecmp(core_name.c_str(), name) == 0) return true;
  return false;
}

std::string blas_library() {
  const std::string config = openblas_get_config();
  std::string version = "OpenBLAS";
  // openblas_get_config() starts with "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
  const auto sp = config.find(' ');
  if (sp != std::string::npos) version += " " + config.substr(sp + 1, config.find(' ', sp + 1) - sp - 1);
  return version;
}

std::string blas_description() {
  return blas_library() + " core=" + blas_core_name() + " threads=" + std::to_string(blas_num_threads());
}

void ensure_blas_core(int argc, char** argv) {
  g_arguments.assign(argv, argv + argc);
  try {
    read_dispatch_setting();
    if (dispatch_forced_to_avx2()) {  // S2S_CPU_ISA=avx2: the AVX2 kernels, whatever the CPU
      enter_avx2_dispatch(std::string(kCpuIsaVariable) + "=avx2");
      return;
    }
  } catch (const std::exception& e) {
    exit_with_error(e.what());
  }
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice wins
  if (reexecuted_already()) return;                         // we already tried once
  if (!is_generic_blas_core(blas_core_name())) return;      // OpenBLAS knows this CPU

  const VectorIsa isa = cpu_isa();
  const char* core = isa >= VectorIsa::kAvx512 ? "SkylakeX"
                     : isa == VectorIsa::kAvx2 ? kAvx2BlasCore
                                               : nullptr;
  if (core == nullptr) return;
  setenv("OPENBLAS_CORETYPE", core, 1);
  reexecute();
  // Only reached if exec failed: carry on, slowly, and say so.
  std::fprintf(stderr, "s2s: warning: could not re-exec with OPENBLAS_CORETYPE=%s (%s); "
               "BLAS runs on generic kernels\n", core, std::strerror(errno));
  unsetenv("OPENBLAS_CORETYPE");
}

bool runs_avx2_dispatch() { return dispatch_forced_to_avx2() && blas_core_name() == kAvx2BlasCore; }

bool avx2_dispatch_needs_restart() {
  // An AVX2-only CPU on which OpenBLAS chose its Haswell kernels already runs the AVX2 dispatch.
  return blas_core_name() != kAvx2BlasCore ||
         (cpu_isa() > VectorIsa::kAvx2 && !dispatch_forced_to_avx2());
}

void enter_avx2_dispatch(const std::string& why) {
  if (cpu_isa() < VectorIsa::kAvx2)
    throw std::runtime_error(why + " needs a CPU with AVX2 and FMA; this one (" +
                             cpu_model_name() + ") has not");
  if (runs_avx2_dispatch()) return;
  if (!avx2_dispatch_needs_restart()) {
    force_avx2_dispatch();  // nothing here runs above AVX2
    return;
  }
  if (reexecuted_already() && dispatch_forced_to_avx2())  // this restart was for the AVX2 kernels
    throw std::runtime_error(why + ": OpenBLAS runs its " + blas_core_name() + " kernels, not " +
                             kAvx2BlasCore + ", even after a restart with OPENBLAS_CORETYPE=" +
                             kAvx2BlasCore);
  if (g_arguments.empty())
    throw std::runtime_error(why + ": the program did not call ensure_blas_core at start-up");
  const char* other_core = std::getenv("OPENBLAS_CORETYPE");
  if (other_core != nullptr && strcasecmp(other_core, kAvx2BlasCore) != 0 && !reexecuted_already())
    std::fprintf(stderr, "s2s: note: %s replaces OPENBLAS_CORETYPE=%s with %s\n", why.c_str(),
                 other_core, kAvx2BlasCore);
  setenv(kCpuIsaVariable, "avx2", 1);
  setenv("OPENBLAS_CORETYPE", kAvx2BlasCore, 1);
  reexecute();
  throw std::runtime_error(why + ": could not restart the program with OpenBLAS's " +
                           kAvx2BlasCore + " kernels (" + std::strerror(errno) + ")");
}

}  // namespace s2s
