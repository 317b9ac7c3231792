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

// If OPENBLAS_CORETYPE is unset, OpenBLAS reports a generic core and the CPU supports AVX-512F
// (or AVX2), re-executes the running program once with OPENBLAS_CORETYPE=SkylakeX (or Haswell).
// A user's own OPENBLAS_CORETYPE always wins. Returns normally when no re-exec is needed or when
// it failed (then a warning goes to stderr and the program continues on the generic kernels).
void ensure_blas_core(int argc, char** argv);

// What OpenBLAS runs on, e.g. "SkylakeX".
std::string blas_core_name();
int blas_num_threads();
void set_blas_num_threads(int n);

// True for the OpenBLAS core names that mean "CPU not recognised": generic SSE-era kernels.
bool is_generic_blas_core(const std::string& core_name);

// One-line description for --version and result files: "OpenBLAS 0.3.21 core=SkylakeX threads=2".
std::string blas_description();

}  // namespace s2s
