// Catch2 runner for the s2s tests: picks the right OpenBLAS kernels first (see blas_setup.hpp).
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "s2s/core/blas_setup.hpp"

int main(int argc, char** argv) {
  s2s::ensure_blas_core(argc, argv);
  return Catch::Session().run(argc, argv);
}
