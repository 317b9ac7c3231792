// Time of one gradient all-reduce (Communicator::allreduce_sum on a flat float buffer, what the
// trainer does once per step) against the buffer size.
//
//   mpirun -np 2 build/bin/bench_allreduce [--floats 100000,1000000,4000000,16000000] [--reps N]
//
// Prints one line per size: floats, MB, milliseconds per all-reduce (median of reps, after one
// untimed warm-up), and the algorithm bandwidth MB/s = bytes / time. Rank 0 prints. Built
// without MPI, or run without mpirun, it measures the single-process no-op.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "s2s/core/blas_setup.hpp"
#include "s2s/training/distributed.hpp"

namespace {

std::vector<std::size_t> parse_sizes(const std::string& list) {
  std::vector<std::size_t> sizes;
  std::stringstream in(list);
  std::string item;
  while (std::getline(in, item, ',')) sizes.push_back(std::stoul(item));
  return sizes;
}

}  // namespace

int main(int argc, char** argv) {
  s2s::ensure_blas_core(argc, argv);
  std::optional<s2s::DistributedSession> session;
  if (s2s::mpi_available()) session.emplace(argc, argv);
  const s2s::Communicator comm = s2s::Communicator::world();

  std::vector<std::size_t> sizes = {100000, 1000000, 4000000, 16000000};
  int reps = 20;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--floats" && i + 1 < argc) {
      sizes = parse_sizes(argv[++i]);
    } else if (arg == "--reps" && i + 1 < argc) {
      reps = std::max(1, std::atoi(argv[++i]));
    } else {
      if (comm.is_root())
        std::fprintf(stderr, "usage: [mpirun -np N] bench_allreduce [--floats N,N,...] [--reps N]\n");
      return 2;
    }
  }
  if (comm.is_root())
    std::printf("all-reduce (sum) of a float buffer over %d ranks, median of %d\n"
                "%12s %8s %10s %10s\n",
                comm.size(), reps, "floats", "MB", "ms", "MB/s");
  for (const std::size_t n : sizes) {
    std::vector<float> buffer(n, 1.0f);
    comm.allreduce_sum(buffer.data(), n);  // warm-up: connections, pages
    std::vector<double> ms;
    for (int r = 0; r < reps; ++r) {
      comm.barrier();
      const auto start = std::chrono::steady_clock::now();
      comm.allreduce_sum(buffer.data(), n);
      ms.push_back(
          std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start)
              .count());
    }
    std::sort(ms.begin(), ms.end());
    const double median = ms[ms.size() / 2];
    const double mb = n * sizeof(float) / 1e6;
    if (comm.is_root())
      std::printf("%12zu %8.1f %10.3f %10.0f\n", n, mb, median,
                  median > 0 ? mb / (median / 1000) : 0.0);
  }
  return 0;
}
