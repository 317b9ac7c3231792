// The BLAS kernels chosen at start-up (blas_setup.hpp) must be both fast and right: a product
// through them equals a naive triple loop.
#include <catch2/catch.hpp>

#include "s2s/core/blas_setup.hpp"
#include "s2s/core/rng.hpp"

using namespace s2s;

TEST_CASE("BLAS core is not a generic fallback on an AVX2 or AVX-512 CPU", "[blas]") {
  __builtin_cpu_init();
  const std::string core = blas_core_name();
  INFO("OpenBLAS core: " << core << " (" << blas_description() << ")");
  if (__builtin_cpu_supports("avx2")) CHECK_FALSE(is_generic_blas_core(core));
  CHECK(is_generic_blas_core("Prescott"));
  CHECK_FALSE(is_generic_blas_core("SkylakeX"));
}

template <typename Real>
static void check_gemm_against_naive_loop(double tolerance) {
  Rng rng(3);
  arma::Mat<Real> a(67, 45), b(45, 71);  // odd sizes exercise the kernels' edge paths
  rng.fill_uniform(a, -1, 1);
  rng.fill_uniform(b, -1, 1);
  const arma::Mat<Real> blas = a * b;
  arma::mat naive(a.n_rows, b.n_cols, arma::fill::zeros);
  for (arma::uword j = 0; j < b.n_cols; ++j)
    for (arma::uword k = 0; k < a.n_cols; ++k)
      for (arma::uword i = 0; i < a.n_rows; ++i)
        naive(i, j) += double(a(i, k)) * double(b(k, j));
  INFO("core " << blas_core_name());
  CHECK(arma::abs(arma::conv_to<arma::mat>::from(blas) - naive).max() < tolerance);
}

TEST_CASE("BLAS sgemm and dgemm equal a naive loop under the chosen core", "[blas]") {
  check_gemm_against_naive_loop<float>(1e-4);
  check_gemm_against_naive_loop<double>(1e-12);
}
