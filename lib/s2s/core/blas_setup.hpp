#pragma once
// OpenBLAS kernel selection for this project's programs.
//
// Debian 12's OpenBLAS 0.3.21 (DYNAMIC_ARCH) does not recognise CPUs newer than itself and falls
// back to generic "Prescott" (SSE3) kernels, about 5x slower for sgemm than its SkylakeX kernels.
// OpenBLAS reads OPENBLAS_CORETYPE once, when the shared library is loaded, so a program cannot fix
// this for itself after start-up: it has to re-execute itself with the variable set.
//
// Every main() of the project (CLI, benchmarks, test runners) calls ensure_blas_core() first.
#include <string>

namespace s2s {

// OpenBLAS's kernels for AVX2 + FMA: the set that every AVX2 machine runs the same way.
inline constexpr const char* kAvx2BlasCore = "Haswell";

// Reads S2S_CPU_ISA (cpu.hpp) and remembers the arguments for enter_avx2_dispatch. Then:
// - S2S_CPU_ISA=avx2: makes sure OpenBLAS runs its Haswell kernels (enter_avx2_dispatch);
// - otherwise, if OPENBLAS_CORETYPE is unset, OpenBLAS reports a generic core and the CPU
//   supports AVX-512F (or AVX2), re-executes the running program once with
//   OPENBLAS_CORETYPE=SkylakeX (or Haswell). A user's own OPENBLAS_CORETYPE wins. Returns
//   normally when no re-exec is needed or when it failed (then a warning goes to stderr and the
//   program continues on the generic kernels).
// A bad S2S_CPU_ISA, or S2S_CPU_ISA=avx2 that cannot be honoured, ends the program with a
// one-line error and exit code 2.
void ensure_blas_core(int argc, char** argv);

// The AVX2 dispatch (S2S_CPU_ISA=avx2, OpenBLAS's Haswell kernels) from here on: returns at once
// if the program runs so already (or can without a restart: an AVX2-only CPU on which OpenBLAS
// chose its Haswell kernels), otherwise re-executes it with the arguments ensure_blas_core
// saw and both variables set; nothing the program did before survives, so call it before any
// output. Another OPENBLAS_CORETYPE is replaced (with a note on stderr). Throws
// std::runtime_error, starting with `why`, when the CPU has no AVX2 and FMA or the restart fails.
void enter_avx2_dispatch(const std::string& why);

// True when the program runs the AVX2 dispatch: S2S_CPU_ISA=avx2 and OpenBLAS's Haswell kernels.
bool runs_avx2_dispatch();
// True when enter_avx2_dispatch would have to restart the program.
bool avx2_dispatch_needs_restart();

// What OpenBLAS runs on, e.g. "SkylakeX".
std::string blas_core_name();
int blas_num_threads();
void set_blas_num_threads(int n);

// True for the OpenBLAS core names that mean "CPU not recognised": generic SSE-era kernels.
bool is_generic_blas_core(const std::string& core_name);

// The library and its version: "OpenBLAS 0.3.21".
std::string blas_library();

// One-line description for --version and result files: "OpenBLAS 0.3.21 core=SkylakeX threads=2".
std::string blas_description();

}  // namespace s2s
