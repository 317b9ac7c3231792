#pragma once
// The project's one random number generator: explicit, seeded, serialisable.
// Armadillo's own randu/randn use hidden global state and are never used by s2s, so that the same
// seed gives the same run on every machine.
#include <armadillo>
#include <cstdint>
#include <random>
#include <sstream>
#include <stdexcept>
#include <string>

namespace s2s {

// The SplitMix64 finaliser: decorrelates seeds derived from neighbouring numbers (epochs, lines).
inline std::uint64_t splitmix64(std::uint64_t x) {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

class Rng {
 public:
  explicit Rng(std::uint64_t seed = 1) : engine_(seed) {}

  // Uniform in [0, 1).
  double uniform() { return std::uniform_real_distribution<double>(0.0, 1.0)(engine_); }
  double normal() { return std::normal_distribution<double>(0.0, 1.0)(engine_); }
  // Uniform integer in [0, n).
  std::uint64_t below(std::uint64_t n) {
    return std::uniform_int_distribution<std::uint64_t>(0, n - 1)(engine_);
  }

  template <typename Real>
  void fill_uniform(arma::Mat<Real>& m, double lo, double hi) {
    std::uniform_real_distribution<double> dist(lo, hi);
    for (auto& x : m) x = static_cast<Real>(dist(engine_));
  }
  template <typename Real>
  void fill_normal(arma::Mat<Real>& m, double mean, double stddev) {
    std::normal_distribution<double> dist(mean, stddev);
    for (auto& x : m) x = static_cast<Real>(dist(engine_));
  }

  std::mt19937_64& engine() { return engine_; }

  // The full engine state as text, for checkpoints (exact resume).
  std::string state() const {
    std::ostringstream out;
    out << engine_;
    return out.str();
  }
  // Throws std::invalid_argument, leaving the generator as it was, when `state` is not what
  // state() writes.
  void set_state(const std::string& state) {
    std::istringstream in(state);
    std::mt19937_64 engine;
    in >> engine;
    if (in.fail() || !(in >> std::ws).eof())
      throw std::invalid_argument("not a random-number generator state");
    engine_ = engine;
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace s2s
