#pragma once
// WorkerPool: W workers that run one task together, the calling thread being worker 0.
//
// This is the project's own threading, chosen over BLAS threads for work that splits into
// independent pieces (the shards of a training batch, whole decoding batches): on a few cores
// the matrix products of one batch are too small for OpenBLAS to keep several threads busy
// (seq2seq GEMMs are 64–256 columns wide), while W independent pieces each run single-threaded
// BLAS at full speed. Callers that use a pool of W > 1 set BLAS to one thread
// (blas_setup.hpp); the pool itself knows nothing of BLAS.
//
//   pool.run([&](int w) { ... });   runs task(w) for w = 0 .. W−1 concurrently and returns when
//                                   all have finished; an exception of any worker is rethrown
//                                   (the lowest w's) after all have finished.
//
// The W − 1 threads are started once and sleep between tasks, so run() costs a few
// microseconds, not a thread start. run() must not be called from inside a task.
#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <exception>
#include <functional>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

namespace s2s {

// glibc malloc set for this workload (mallopt), called first thing in main() by the programs
// (apps/main.cpp, the benchmarks) before any thread starts; a process-wide setting is the
// program's decision, not the library's:
//   M_ARENA_MAX = 1      every thread allocates from the one main arena. With a per-thread
//                        arena, memory freed in one is not reused by another: with 2 workers
//                        the Transformer benchmark's peak RSS grew from 431 to 677 MB.
//   M_MMAP_MAX = 0,      large blocks come from the heap and stay there when freed, so the
//   M_TRIM_THRESHOLD     next batch reuses them instead of mapping fresh, zeroed pages: the
//     = 2 GB             page faults had been 28 % of a Transformer training step at length
//                        100 (1,201 -> 1,882 tokens/s, same peak RSS).
// The price: memory freed late in a run is not returned to the system before the process ends
// (peak RSS, which is what the benchmarks report, does not change).
void tune_malloc();

class WorkerPool {
 public:
  // workers ≥ 1; throws std::invalid_argument otherwise, and std::runtime_error when a thread
  // cannot be started (the threads already started are stopped first).
  explicit WorkerPool(int workers);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  int size() const { return static_cast<int>(threads_.size()) + 1; }
  // Worker w's share [first, last) of n elements split over W workers: contiguous, in order,
  // starting at multiples of 16 (whole cache lines and vectors for float).
  static std::pair<std::size_t, std::size_t> chunk(std::size_t n, int w, int W) {
    const std::size_t per = ((n + W - 1) / W + 15) / 16 * 16;
    const std::size_t first = std::min(n, static_cast<std::size_t>(w) * per);
    return {first, std::min(n, first + per)};
  }
  void run(const std::function<void(int worker)>& task);
  // task(first, last) over [0, n) in chunk()s, one per worker (the caller alone, in one piece,
  // when there is one worker).
  void run_chunks(std::size_t n, const std::function<void(std::size_t, std::size_t)>& task);
  // task(i) for every i in [0, n), each whole on one worker, taken in turn (a long task holds
  // one worker while the others go on). With pool == nullptr or one worker: in order on the
  // caller.
  static void run_tasks(WorkerPool* pool, std::size_t n, const std::function<void(std::size_t)>& task);

 private:
  void loop(int worker);
  void stop_and_join();

  std::vector<std::thread> threads_;  // workers 1 .. W−1
  std::mutex mutex_;
  std::condition_variable wake_, finished_;
  const std::function<void(int)>* task_ = nullptr;
  std::uint64_t generation_ = 0;  // incremented by every run()
  int running_ = 0;               // threads still working on the current generation
  bool stop_ = false;
  std::vector<std::exception_ptr> errors_;  // per worker, of the current run()
};

}  // namespace s2s
