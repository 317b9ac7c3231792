#pragma once
// The weight products of the models, in one place, with the precision chosen once per program.
//
//   weight_product      y  = W x    (or y  += W x)     W (out × in),  x (in × N),  y (out × N)
//   weight_t_product    y  = Wᵀ x   (or y  += Wᵀ x)    W (out × in),  x (out × N), y (in × N)
//   gradient_product    dW += a bᵀ                     a (out × N),   b (in × N),  dW (out × in)
//
// The first two are the forward and the backward-data products of a layer (W a parameter or a
// contiguous column block of one, core/tensor.hpp columns()); the third is the weight gradient.
// Every Linear, OutputLayer and RNN layer product goes through them (issue 18).
//
// Precision (process-wide, set once before any product; set_precision):
//   fp32   the Armadillo expression on OpenBLAS, exactly as written at each site before this
//          layer existed: bit-identical results. The default, and the only path for double
//          (gradient checks), which ignores the setting.
//   bf16   float only, oneDNN's matmul: both operands rounded to bfloat16 (8 bits of mantissa,
//          round to nearest even), products accumulated and written in fp32. Weights, gradients,
//          the optimizer and everything outside these three products stay fp32. Needs a build
//          with oneDNN (libdnnl-dev) and a CPU with AVX512_BF16 in its own dispatch (not capped
//          at AVX2, so not in portable mode); set_precision refuses otherwise.
//
// In bf16 a weight is converted (and reordered into oneDNN's blocked layout) on each call,
// unless a PackCache is in use on the calling thread (UsePacks): then each weight is packed once
// per cache and reused, e.g. across the time steps of a batch or the steps of a decoding. The
// caller promises that the weights it multiplies do not change while the cache holds packs of
// them: the models keep one cache per forward_backward call and one per decode state.
#include <atomic>
#include <memory>
#include <string>
#include <type_traits>

#include "s2s/core/tensor.hpp"

namespace s2s::gemm {

enum class Precision { kFp32, kBf16 };

// "fp32" | "bf16".
const char* precision_name(Precision precision);
// Throws std::invalid_argument ("precision must be fp32 or bf16, got X").
Precision parse_precision(const std::string& name);

// Empty when bf16 products can run in this program; otherwise why not, in one line.
std::string bf16_unavailable_reason();

// Every float product below uses `precision` from now on. Call it once, before any worker thread
// starts. Throws std::invalid_argument with bf16_unavailable_reason() when bf16 cannot run.
void set_precision(Precision precision);
Precision precision();

// bf16 copies of weights in the backend's layout. Not copyable; clear() drops every pack.
class PackCache {
 public:
  PackCache();
  ~PackCache();
  PackCache(const PackCache&) = delete;
  PackCache& operator=(const PackCache&) = delete;
  void clear();
  std::size_t size() const;  // packs held
  struct Impl;

 private:
  friend class UsePacks;
  std::unique_ptr<Impl> impl_;
};

// While it lives, this thread's bf16 weight products take their packed weights from `cache`
// (restoring the previous cache after). Free in fp32.
class UsePacks {
 public:
  explicit UsePacks(PackCache& cache);
  ~UsePacks();
  UsePacks(const UsePacks&) = delete;
  UsePacks& operator=(const UsePacks&) = delete;

 private:
  PackCache::Impl* previous_;
};

namespace detail {
extern std::atomic<Precision> current_precision;
// The oneDNN products (gemm_bf16.cpp). y is resized unless accumulate.
void bf16_weight_product(const Mat<float>& W, const Mat<float>& x, Mat<float>& y, bool transposed,
                         bool accumulate);
void bf16_gradient_product(const Mat<float>& a, const Mat<float>& b, Mat<float>& dW);
inline bool bf16_on() {
  return current_precision.load(std::memory_order_relaxed) == Precision::kBf16;
}
}  // namespace detail

template <typename Real>
inline void weight_product(const Mat<Real>& W, const Mat<Real>& x, Mat<Real>& y,
                           bool accumulate = false) {
  if constexpr (std::is_same_v<Real, float>) {
    if (detail::bf16_on()) return detail::bf16_weight_product(W, x, y, false, accumulate);
  }
  if (accumulate)
    y += W * x;
  else
    y = W * x;
}

template <typename Real>
inline void weight_t_product(const Mat<Real>& W, const Mat<Real>& x, Mat<Real>& y,
                             bool accumulate = false) {
  if constexpr (std::is_same_v<Real, float>) {
    if (detail::bf16_on()) return detail::bf16_weight_product(W, x, y, true, accumulate);
  }
  if (accumulate)
    y += W.t() * x;
  else
    y = W.t() * x;
}

template <typename Real>
inline void gradient_product(const Mat<Real>& a, const Mat<Real>& b, Mat<Real>& dW) {
  if constexpr (std::is_same_v<Real, float>) {
    if (detail::bf16_on()) return detail::bf16_gradient_product(a, b, dW);
  }
  dW += a * b.t();
}

}  // namespace s2s::gemm
