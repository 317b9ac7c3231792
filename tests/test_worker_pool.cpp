// WorkerPool (worker_pool.hpp) and the decoding of whole batches on it (decode_batches): every
// worker runs once per task, errors come back to the caller, and concurrent decoding gives the
// same hypotheses, bit for bit, as decoding the batches one after the other.
#include <catch2/catch.hpp>

#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <thread>

#include "file_helpers.hpp"
#include "s2s/core/worker_pool.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/models/model_factory.hpp"

using namespace s2s;

TEST_CASE("A worker pool runs every worker once per task, many times over", "[workers]") {
  const int W = GENERATE(1, 2, 4);
  WorkerPool pool(W);
  REQUIRE(pool.size() == W);
  std::vector<int> runs(static_cast<std::size_t>(W), 0);
  std::atomic<int> total{0};
  for (int task = 0; task < 200; ++task)
    pool.run([&](int w) {
      ++runs[static_cast<std::size_t>(w)];  // each worker writes only its own slot
      ++total;
    });
  CHECK(total == 200 * W);
  for (int count : runs) CHECK(count == 200);
  CHECK_THROWS_AS(WorkerPool(0), std::invalid_argument);
}

// Runs body in a child process with `seconds` to finish; returns its exit code, or -1 when it had
// to be killed (a hang).
template <class Body>
int run_in_child(Body body, int seconds) {
  const pid_t pid = fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    alarm(static_cast<unsigned>(seconds));  // a hang ends in SIGALRM
    _exit(body());
  }
  int status = 0;
  REQUIRE(waitpid(pid, &status, 0) == pid);
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

TEST_CASE("A worker pool whose threads cannot all start throws, without hanging", "[workers]") {
  if (s2s::testing::kAddressSanitizer) return;  // ASan's shadow memory needs more than the limit
  // Under an address-space limit only a few 8 MB thread stacks fit: the constructor must stop
  // the threads it started and throw a message (it used to deadlock while unwinding).
  const int code = run_in_child(
      [] {
        rlimit limit{};
        getrlimit(RLIMIT_AS, &limit);
        limit.rlim_cur = 512ull << 20;  // 512 MB: far from 1,000 stacks
        if (setrlimit(RLIMIT_AS, &limit) != 0) return 3;
        try {
          WorkerPool pool(1000);
          return 2;  // all threads started: the limit did not bite
        } catch (const std::runtime_error& e) {
          return std::string(e.what()).find("worker thread") != std::string::npos ? 0 : 4;
        } catch (...) {
          return 5;
        }
      },
      20);
  CHECK(code == 0);
}

TEST_CASE("A worker's exception reaches the caller after all workers finished", "[workers]") {
  WorkerPool pool(3);
  std::atomic<int> finished{0};
  CHECK_THROWS_WITH(pool.run([&](int w) {
                      if (w == 2) throw std::runtime_error("worker 2 failed");
                      ++finished;
                    }),
                    "worker 2 failed");
  CHECK(finished == 2);
  // The pool still works afterwards.
  pool.run([&](int) { ++finished; });
  CHECK(finished == 5);
}

TEST_CASE("Batches decoded on worker threads equal batches decoded one by one", "[workers]") {
  const auto type = GENERATE(as<std::string>{}, "rnn", "transformer");
  const uword beam = GENERATE(1, 3);
  INFO(type << ", beam " << beam);
  ModelConfig config;
  config.type = type;
  config.embed_size = 8;
  config.hidden_size = 12;
  config.d_model = 8;
  config.heads = 2;
  config.ff_size = 16;
  config.transformer_layers = 1;
  auto model = make_model<float>(config, 12, 12);
  Rng rng(5);
  model->init(rng);
  // 9 batches of 1..7 random sources of 1..9 tokens (ids 4..11).
  std::vector<Batch> batches;
  for (int k = 0; k < 9; ++k) {
    std::vector<SequencePair> pairs(1 + k % 7);
    std::vector<std::size_t> indices;
    for (auto& p : pairs) {
      p.source.resize(1 + rng.below(9));
      for (Index& id : p.source) id = static_cast<Index>(4 + rng.below(8));
      p.target = {4};
      indices.push_back(indices.size());
    }
    batches.push_back(make_batch(pairs, indices));
  }
  DecodeOptions options;
  options.beam_size = beam;
  const auto serial = decode_batches(*model, batches, options);
  WorkerPool pool(3);
  const auto threaded = decode_batches(*model, batches, options, &pool);
  REQUIRE(threaded.size() == serial.size());
  for (std::size_t i = 0; i < serial.size(); ++i) {
    REQUIRE(threaded[i].size() == serial[i].size());
    for (std::size_t b = 0; b < serial[i].size(); ++b) {
      CHECK(threaded[i][b].front().tokens == serial[i][b].front().tokens);
      CHECK(threaded[i][b].front().score == serial[i][b].front().score);
      CHECK(serial[i][b].front().score < 0);
    }
  }
}
