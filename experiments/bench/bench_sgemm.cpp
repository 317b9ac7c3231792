// The machine's practical peak for run.sh: single-precision GEMM C = A·B with n × n matrices
// (default n = 1024) through Armadillo → OpenBLAS, at each thread count asked for. Prints one
// JSON line per thread count with the best and the median GFLOP/s (2·n³ FLOPs per product) over
// the timed runs, after two untimed warm-up products.
// Usage: bench_sgemm [--n 1024] [--threads 1,2] [--runs 10]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <armadillo>

#include "s2s/core/blas_setup.hpp"
#include "s2s/core/rng.hpp"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int> parse_list(const std::string& text) {
  std::vector<int> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoi(item));
  return values;
}

}  // namespace

int main(int argc, char** argv) {
  s2s::ensure_blas_core(argc, argv);
  int n = 1024, runs = 10;
  std::vector<int> threads{1, 2};
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--n") n = std::stoi(value);
    else if (flag == "--runs") runs = std::stoi(value);
    else if (flag == "--threads") threads = parse_list(value);
    else {
      std::fprintf(stderr, "usage: bench_sgemm [--n 1024] [--threads 1,2] [--runs 10]\n");
      return 1;
    }
  }
  s2s::Rng rng(1);
  arma::fmat a(n, n), b(n, n), c(n, n);
  rng.fill_uniform(a, -1.0, 1.0);
  rng.fill_uniform(b, -1.0, 1.0);
  const double flops = 2.0 * n * n * static_cast<double>(n);
  for (int t : threads) {
    s2s::set_blas_num_threads(t);
    for (int w = 0; w < 2; ++w) c = a * b;
    std::vector<double> gflops;
    for (int r = 0; r < runs; ++r) {
      const auto start = Clock::now();
      c = a * b;
      const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
      gflops.push_back(flops / seconds / 1e9);
    }
    std::sort(gflops.begin(), gflops.end());
    std::printf("{\"side\":\"s2s\",\"metric\":\"sgemm_gflops\",\"n\":%d,\"threads\":%d,"
                "\"value\":%.3f,\"median\":%.3f,\"core\":\"%s\"}\n",
                n, t, gflops.back(), gflops[gflops.size() / 2], s2s::blas_core_name().c_str());
  }
  return 0;
}
