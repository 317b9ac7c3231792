#include "s2s/core/blas_setup.hpp"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" {
char* openblas_get_corename(void);
char* openblas_get_config(void);
int openblas_get_num_threads(void);
void openblas_set_num_threads(int);
}

namespace s2s {

namespace {
constexpr const char* kReexecGuard = "S2S_BLAS_REEXEC";
}

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

std::string blas_description() {
  std::string config = openblas_get_config();
  std::string version = "OpenBLAS";
  // openblas_get_config() starts with "OpenBLAS 0.3.21 DYNAMIC_ARCH ..."
  auto sp = config.find(' ');
  if (sp != std::string::npos) version += " " + config.substr(sp + 1, config.find(' ', sp + 1) - sp - 1);
  return version + " core=" + blas_core_name() + " threads=" + std::to_string(blas_num_threads());
}

void ensure_blas_core(int argc, char** argv) {
  if (std::getenv("OPENBLAS_CORETYPE") != nullptr) return;  // the user's choice wins
  if (std::getenv(kReexecGuard) != nullptr) return;         // we already tried once
  if (!is_generic_blas_core(blas_core_name())) return;      // OpenBLAS knows this CPU

  __builtin_cpu_init();
  const char* core = nullptr;
  if (__builtin_cpu_supports("avx512f"))
    core = "SkylakeX";
  else if (__builtin_cpu_supports("avx2"))
    core = "Haswell";
  if (core == nullptr) return;

  setenv("OPENBLAS_CORETYPE", core, 1);
  setenv(kReexecGuard, "1", 1);
  std::vector<char*> args(argv, argv + argc);
  args.push_back(nullptr);
  execv("/proc/self/exe", args.data());
  // Only reached if exec failed: carry on, slowly, and say so.
  std::fprintf(stderr, "s2s: warning: could not re-exec with OPENBLAS_CORETYPE=%s (%s); "
               "BLAS runs on generic kernels\n", core, std::strerror(errno));
  unsetenv("OPENBLAS_CORETYPE");
}

}  // namespace s2s
