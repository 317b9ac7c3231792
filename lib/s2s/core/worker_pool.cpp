#include "s2s/core/worker_pool.hpp"

#include <malloc.h>

#include <atomic>
#include <limits>
#include <stdexcept>
#include <string>

namespace s2s {

void tune_malloc() {
  mallopt(M_ARENA_MAX, 1);
  mallopt(M_MMAP_MAX, 0);
  mallopt(M_TRIM_THRESHOLD, std::numeric_limits<int>::max());
}

WorkerPool::WorkerPool(int workers) {
  if (workers < 1)
    throw std::invalid_argument("workers must be at least 1, got " + std::to_string(workers));
  errors_.resize(static_cast<std::size_t>(workers));
  threads_.reserve(static_cast<std::size_t>(workers - 1));
  for (int w = 1; w < workers; ++w) {
    try {
      threads_.emplace_back(&WorkerPool::loop, this, w);
    } catch (const std::exception& e) {
      // The destructor does not run for a constructor that throws: stop and join the threads
      // already running here, or unwinding destroys the mutex and condition variables under them.
      stop_and_join();
      throw std::runtime_error("cannot start worker thread " + std::to_string(w + 1) + " of " +
                               std::to_string(workers) + " (" + e.what() +
                               "): use fewer workers or raise the memory or process limit");
    }
  }
}

WorkerPool::~WorkerPool() { stop_and_join(); }

void WorkerPool::stop_and_join() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  for (std::thread& t : threads_) t.join();
  threads_.clear();
}

void WorkerPool::loop(int worker) {
  std::uint64_t seen = 0;
  for (;;) {
    const std::function<void(int)>* task = nullptr;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
      if (stop_) return;
      seen = generation_;
      task = task_;
    }
    std::exception_ptr error;
    try {
      (*task)(worker);
    } catch (...) {
      error = std::current_exception();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      errors_[static_cast<std::size_t>(worker)] = error;
      if (--running_ == 0) finished_.notify_one();
    }
  }
}

void WorkerPool::run_chunks(std::size_t n,
                            const std::function<void(std::size_t, std::size_t)>& task) {
  run([&](int w) {
    const auto [first, last] = chunk(n, w, size());
    task(first, last);
  });
}

void WorkerPool::run_tasks(WorkerPool* pool, std::size_t n,
                           const std::function<void(std::size_t)>& task) {
  if (pool == nullptr || pool->size() == 1) {
    for (std::size_t i = 0; i < n; ++i) task(i);
    return;
  }
  std::atomic<std::size_t> next{0};
  pool->run([&](int) {
    for (std::size_t i = next++; i < n; i = next++) task(i);
  });
}

void WorkerPool::run(const std::function<void(int)>& task) {
  if (threads_.empty()) {  // one worker: no synchronisation at all
    task(0);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    task_ = &task;
    running_ = static_cast<int>(threads_.size());
    ++generation_;
  }
  wake_.notify_all();
  std::exception_ptr first_error;
  try {
    task(0);
  } catch (...) {
    first_error = std::current_exception();
  }
  std::unique_lock<std::mutex> lock(mutex_);
  finished_.wait(lock, [&] { return running_ == 0; });
  task_ = nullptr;
  for (std::size_t w = 1; w < errors_.size() && !first_error; ++w) first_error = errors_[w];
  for (auto& e : errors_) e = nullptr;
  lock.unlock();
  if (first_error) std::rethrow_exception(first_error);
}

}  // namespace s2s
