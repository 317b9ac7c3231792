#pragma once
// Elementwise σ and tanh for fused loops (the RNN gate kernels).
//
//   double: std::exp / std::tanh, so gradient checks and PyTorch references are exact.
//   float:  Cephes approximations (PyTorch's own vectorised CPU kernels approximate too, with
//           SLEEF), all of them through e = e^{−|a|} ∈ (0, 1], which never overflows:
//             σ(x)    = 1 / (1 + e)  for x ≥ 0,  e / (1 + e)  for x < 0        (a = x)
//             tanh(x) = x + x³ P(x²) for |x| ≤ 0.625, else sign(x) (1 − e) / (1 + e)  (a = 2x)
//             e^{−a}  = 2ⁿ e^r, n = round(−a / ln2), |r| ≤ ln2/2, degree-5 polynomial; a ≤ 87.
//           Selections are integer bit masks, not branches or float ?:, because GCC (with the
//           default -ftrapping-math) vectorises a loop that calls these only then; libm's
//           expf/tanhf, which it cannot vectorise, were a quarter of an RNN layer's time.
//           NaN stays NaN. Accuracy is tested in test_activations.cpp (a few ulp).
#include <cmath>
#include <cstdint>
#include <cstring>

// S2S_VECTOR_CLONES on a hot elementwise loop: GCC compiles it three times, for AVX-512F, AVX2
// and the x86-64 baseline, and the loader picks one for the CPU (function multiversioning). ISA
// flags only, no arch=: GCC inlines the activation functions only into callers of the same arch.
// The library itself is built for the baseline (no -march=native: binaries must run on any
// x86-64), where these loops run 4 floats wide; AVX-512 runs them 16 wide.
#if defined(__GNUC__) && !defined(__clang__) && defined(__x86_64__) && defined(__linux__)
#define S2S_VECTOR_CLONES \
  __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define S2S_VECTOR_CLONES
#endif

namespace s2s::activation {

namespace detail {
inline std::int32_t bits_of(float x) {
  std::int32_t b;
  std::memcpy(&b, &x, sizeof b);
  return b;
}
inline float float_of(std::int32_t b) {
  float x;
  std::memcpy(&x, &b, sizeof x);
  return x;
}
// a where mask == 0, b where mask == ~0.
inline float select(std::int32_t mask, float a, float b) {
  return float_of((bits_of(a) & ~mask) | (bits_of(b) & mask));
}
// ~0 where x is NaN, else 0: the clamp in exp_neg_abs would otherwise turn NaN into a number.
inline std::int32_t nan_mask(float x) {
  return (0x7f800000 - (bits_of(x) & 0x7fffffff)) >> 31;
}
}  // namespace detail

// e^{−min(|y|, 87)}.
inline float exp_neg_abs(float y) {
  constexpr std::int32_t k87 = 0x42ae0000;  // 87.0f
  std::int32_t magnitude = detail::bits_of(y) & 0x7fffffff;
  magnitude -= (magnitude - k87) & ((k87 - magnitude) >> 31);  // min(|y|, 87) on the bits
  const float x = -detail::float_of(magnitude);
  // n = round(x / ln2): adding 1.5·2²³ leaves n in the low mantissa bits of t.
  constexpr float kShifter = 12582912.0f;
  const float t = x * 1.44269504088896341f + kShifter;
  const float n = t - kShifter;
  const std::int32_t two_to_n = (detail::bits_of(t) - 0x4b400000 + 127) << 23;
  float r = x - n * 0.693359375f;  // ln2 in two parts, so that r is exact
  r = r + n * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  return (p * (r * r) + r + 1.0f) * detail::float_of(two_to_n);
}

inline float sigmoid(float x) {
  const float e = exp_neg_abs(x);
  const std::int32_t negative = detail::bits_of(x) >> 31;
  return detail::select(detail::nan_mask(x), detail::select(negative, 1.0f, e) / (1.0f + e), x);
}
inline double sigmoid(double x) { return 1.0 / (1.0 + std::exp(-x)); }

inline float tanh(float x) {
  const float x2 = x * x;
  float p = -5.70498872745e-3f;
  p = p * x2 + 2.06390887954e-2f;
  p = p * x2 - 5.37397155531e-2f;
  p = p * x2 + 1.33314422036e-1f;
  p = p * x2 - 3.33332819422e-1f;
  const float small = p * x2 * x + x;
  const float e = exp_neg_abs(2.0f * x);
  const float big = std::copysign((1.0f - e) / (1.0f + e), x);
  constexpr std::int32_t k0625 = 0x3f200000;  // 0.625f
  const std::int32_t is_big = (k0625 - (detail::bits_of(x) & 0x7fffffff)) >> 31;
  return detail::select(detail::nan_mask(x), detail::select(is_big, small, big), x);
}
inline double tanh(double x) { return std::tanh(x); }

}  // namespace s2s::activation
