// bench_gemm_shapes: times the matrix products a model actually makes on each GEMM backend
// (issue 18). Reads a shape trace written by the gemm_trace shim (gemm_trace.c), times every
// shape on one thread with
//   openblas   sgemm_ / sgemv_ (what Armadillo calls today)
//   libxsmm    libxsmm_sgemm (JIT kernels for small shapes, its BLAS fallback otherwise)
//   onednn     dnnl_sgemm (row-major API, called on the transposed problem)
//   packed     oneDNN's matmul primitive with op(A) reordered once into the layout the kernel
//              wants, outside the timing: what a product whose A is a weight matrix, reused by
//              every step of a batch, would cost if its packing were paid once per batch (an
//              upper bound for the shapes whose A is an activation; gemv shapes are not packed)
//   bf16       oneDNN's matmul on bf16 operands with f32 accumulation and an f32 result, both
//              operands converted from f32 (and op(A) reordered) on every call: the cost when
//              neither operand is reused, as in a weight gradient
//   bf16pk     the same with op(A) converted and reordered once, outside the timing, and op(B)
//              converted on every call: the cost when A is a weight reused by a batch's steps
// The bf16 columns need AVX512_BF16 (or AMX); on a CPU without it they print "-". Before timing,
// each bf16 product is checked against OpenBLAS's (relative error below 1e-2, as bf16's 8-bit
// mantissa allows), so that a wrong layout cannot pass for a fast one.
// and prints, per shape, microseconds per call on each, and the traced run's total product time
// per backend (Σ calls × time per call). Numbers only; no test depends on them.
//
//   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench_gemm_shapes TRACE [--min-ms 20] [--top 25]
#include <dnnl.h>
#include <dnnl.hpp>
#include <libxsmm.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" {
void sgemm_(const char*, const char*, const int*, const int*, const int*, const float*,
            const float*, const int*, const float*, const int*, const float*, float*, const int*);
void sgemv_(const char*, const int*, const int*, const float*, const float*, const int*,
            const float*, const int*, const float*, float*, const int*);
}

namespace {

struct Shape {
  bool gemv = false;
  char ta = 'N', tb = 'N';
  int m = 0, n = 0, k = 0;  // gemv: A is m × n as stored, the product has k = 1 column
  long calls = 0;
};

enum Backend { kOpenBlas, kXsmm, kOneDnn, kPacked, kBf16, kBf16Packed, kBackends };
const char* kNames[kBackends] = {"openblas", "libxsmm", "onednn", "packed", "bf16", "bf16pk"};

std::vector<Shape> read_trace(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": cannot open trace");
  std::vector<Shape> shapes;
  std::string line;
  for (int number = 1; std::getline(in, line); ++number) {
    std::istringstream fields(line);
    std::string kind;
    Shape s;
    fields >> kind;
    if (kind == "gemm") {
      fields >> s.ta >> s.tb >> s.m >> s.n >> s.k >> s.calls;
    } else if (kind == "gemv") {
      s.gemv = true;
      int one = 0;
      fields >> s.ta >> s.m >> s.n >> one >> s.calls;
      s.k = 1;
    }
    if (!fields || (kind != "gemm" && kind != "gemv"))
      throw std::runtime_error(path + ":" + std::to_string(number) + ": not a trace line");
    shapes.push_back(s);
  }
  if (shapes.empty()) throw std::runtime_error(path + ": no shapes");
  return shapes;
}

// Multiply-adds of one call.
double flops(const Shape& s) { return 2.0 * s.m * s.n * (s.gemv ? 1 : s.k); }

struct Operands {
  std::vector<float> a, b, c;
  int lda = 0, ldb = 0, ldc = 0;
  int rows_c = 0, cols_c = 0, inner = 0;  // as a gemm: C (rows_c × cols_c), inner dimension
  char ta = 'N', tb = 'N';
};

// The shape as a column-major gemm (a gemv is one with a single column) with random operands.
Operands operands(const Shape& s, std::mt19937& rng) {
  Operands o;
  std::uniform_real_distribution<float> u(-1.0f, 1.0f);
  if (s.gemv) {  // y = op(A) x: A stored m × n
    o.ta = s.ta;
    o.tb = 'N';
    o.rows_c = s.ta == 'N' ? s.m : s.n;
    o.inner = s.ta == 'N' ? s.n : s.m;
    o.cols_c = 1;
    o.lda = s.m;
  } else {
    o.ta = s.ta;
    o.tb = s.tb;
    o.rows_c = s.m;
    o.cols_c = s.n;
    o.inner = s.k;
    o.lda = s.ta == 'N' ? s.m : s.k;
  }
  o.ldb = o.tb == 'N' ? o.inner : o.cols_c;
  o.ldc = o.rows_c;
  const long a_size = s.gemv ? long(s.m) * s.n : long(o.lda) * (o.ta == 'N' ? o.inner : o.rows_c);
  const long b_size = long(o.ldb) * (o.tb == 'N' ? o.cols_c : o.inner);
  o.a.resize(a_size);
  o.b.resize(b_size);
  o.c.assign(long(o.ldc) * o.cols_c, 0.0f);
  for (float& x : o.a) x = u(rng);
  for (float& x : o.b) x = u(rng);
  return o;
}

// oneDNN's matmul on the transposed problem, row-major: dst Cᵀ (N × M) = src op(B)ᵀ (N × K) ·
// weights op(A)ᵀ (K × M), with the weights in the primitive's own layout. In f32, src is read in
// place and the weights are reordered once. In bf16, src is converted on every call, and the
// weights once (pack_once) or on every call; the result is f32 either way.
class Matmul {
 public:
  Matmul(Operands& o, dnnl::memory::data_type type, bool pack_once)
      : bf16_(type == dnnl::memory::data_type::bf16), pack_once_(pack_once) {
    using dnnl::memory;
    const memory::dim M = o.rows_c, N = o.cols_c, K = o.inner;
    const memory::dims a_strides =
        o.ta == 'N' ? memory::dims{o.lda, 1} : memory::dims{1, o.lda};
    const memory::dims b_strides =
        o.tb == 'N' ? memory::dims{o.ldb, 1} : memory::dims{1, o.ldb};
    const memory::desc user_src_md({N, K}, memory::data_type::f32, b_strides);
    const memory::desc src_md =
        bf16_ ? memory::desc({N, K}, type, memory::format_tag::ab) : user_src_md;
    const memory::desc user_weights_md({K, M}, memory::data_type::f32, a_strides);
    const memory::desc any_weights_md({K, M}, type, memory::format_tag::any);
    const memory::desc dst_md({N, M}, memory::data_type::f32, memory::dims{o.ldc, 1});
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(src_md, any_weights_md, dst_md), engine_);
    primitive_ = dnnl::matmul(pd);
    user_src_ = memory(user_src_md, engine_, o.b.data());
    src_ = bf16_ ? memory(src_md, engine_) : user_src_;
    if (bf16_) src_reorder_ = dnnl::reorder(user_src_, src_);
    dst_ = memory(dst_md, engine_, o.c.data());
    user_weights_ = memory(user_weights_md, engine_, o.a.data());
    weights_ = memory(pd.weights_desc(), engine_);
    weights_reorder_ = dnnl::reorder(user_weights_, weights_);
    pack_weights();
  }
  void run() {
    if (!pack_once_) pack_weights();
    if (bf16_) src_reorder_.execute(stream_, user_src_, src_);
    primitive_.execute(stream_, {{DNNL_ARG_SRC, src_}, {DNNL_ARG_WEIGHTS, weights_},
                                 {DNNL_ARG_DST, dst_}});
    stream_.wait();
  }

 private:
  void pack_weights() {
    weights_reorder_.execute(stream_, user_weights_, weights_);
    stream_.wait();
  }

  bool bf16_, pack_once_;
  dnnl::engine engine_{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream_{engine_};
  dnnl::matmul primitive_;
  dnnl::reorder src_reorder_, weights_reorder_;
  dnnl::memory user_src_, src_, user_weights_, weights_, dst_;
};

// Whether this CPU runs oneDNN's bf16 matmul natively (AVX512_BF16 or AMX), not emulated.
bool native_bf16() {
  const dnnl_cpu_isa_t isa = dnnl_get_effective_cpu_isa();
  return isa == dnnl_cpu_isa_avx512_core_bf16 || isa == dnnl_cpu_isa_avx512_core_amx;
}

// The matmuls a shape is timed with, per backend; empty where a backend calls a library directly.
using Matmuls = std::unique_ptr<Matmul>[kBackends];

void call(Backend backend, const Shape& s, Operands& o, Matmuls& matmuls) {
  const float alpha = 1.0f, beta = 1.0f;
  const int one = 1;
  if (matmuls[backend]) {
    matmuls[backend]->run();
    return;
  }
  switch (backend) {
    case kOpenBlas:
      if (s.gemv)
        sgemv_(&s.ta, &s.m, &s.n, &alpha, o.a.data(), &o.lda, o.b.data(), &one, &beta,
               o.c.data(), &one);
      else
        sgemm_(&o.ta, &o.tb, &o.rows_c, &o.cols_c, &o.inner, &alpha, o.a.data(), &o.lda,
               o.b.data(), &o.ldb, &beta, o.c.data(), &o.ldc);
      return;
    case kXsmm: {
      const libxsmm_blasint m = o.rows_c, n = o.cols_c, k = o.inner, lda = o.lda, ldb = o.ldb,
                            ldc = o.ldc;
      libxsmm_sgemm(&o.ta, &o.tb, &m, &n, &k, &alpha, o.a.data(), &lda, o.b.data(), &ldb, &beta,
                    o.c.data(), &ldc);
      return;
    }
    case kOneDnn:
    case kPacked:  // gemv shapes are not packed; column-major C = op(A) op(B) is row-major
                   // Cᵀ = op(B)ᵀ op(A)ᵀ
      if (dnnl_sgemm(o.tb, o.ta, o.cols_c, o.rows_c, o.inner, alpha, o.b.data(), o.ldb,
                     o.a.data(), o.lda, beta, o.c.data(), o.ldc) != dnnl_success)
        throw std::runtime_error("dnnl_sgemm failed");
      return;
    default:
      throw std::logic_error(std::string(kNames[backend]) + " has no matmul for this shape");
  }
}

// The bf16 product's largest error relative to OpenBLAS's result's largest magnitude; throws past
// 1e-2. Works on copies of C, so the timed operands are untouched.
void check_bf16(const Shape& s, Operands o) {
  Matmuls none;
  std::fill(o.c.begin(), o.c.end(), 0.0f);
  call(kOpenBlas, s, o, none);  // C += op(A) op(B) on a zero C
  const std::vector<float> reference = o.c;
  std::fill(o.c.begin(), o.c.end(), 0.0f);
  Matmul(o, dnnl::memory::data_type::bf16, true).run();
  double scale = 0, error = 0;
  for (std::size_t i = 0; i < reference.size(); ++i) {
    scale = std::max(scale, double(std::abs(reference[i])));
    error = std::max(error, double(std::abs(reference[i] - o.c[i])));
  }
  if (!(error <= 1e-2 * scale))
    throw std::runtime_error("bf16 matmul differs from sgemm by " + std::to_string(error) +
                             " (largest |C| " + std::to_string(scale) + ")");
}

// Best of three timings of repeated calls, each at least min_ms long: microseconds per call.
double time_call(Backend backend, const Shape& s, Operands& o, Matmuls& matmuls, double min_ms) {
  using Clock = std::chrono::steady_clock;
  call(backend, s, o, matmuls);  // warm-up (JIT, packing buffers)
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    long reps = 0;
    const auto start = Clock::now();
    double elapsed_ms = 0;
    do {
      for (int i = 0; i < 8; ++i) call(backend, s, o, matmuls);
      reps += 8;
      elapsed_ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    } while (elapsed_ms < min_ms);
    best = std::min(best, 1000.0 * elapsed_ms / reps);
  }
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: bench_gemm_shapes TRACE [--min-ms MS] [--top N]\n";
    return 2;
  }
  double min_ms = 20;
  std::size_t top = 25;
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--min-ms") {
      min_ms = std::atof(argv[i + 1]);
    } else if (flag == "--top") {
      top = std::strtoul(argv[i + 1], nullptr, 10);
    } else {
      std::cerr << "bench_gemm_shapes: unknown option " << flag << "\n";
      return 2;
    }
  }
  for (const char* var : {"OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"}) {
    const char* value = std::getenv(var);
    if (value == nullptr || std::string(value) != "1") {
      std::cerr << "bench_gemm_shapes: set OPENBLAS_NUM_THREADS=1 and OMP_NUM_THREADS=1 (every "
                   "backend on one thread)\n";
      return 2;
    }
  }
  try {
    libxsmm_init();
    std::vector<Shape> shapes = read_trace(argv[1]);
    std::sort(shapes.begin(), shapes.end(), [](const Shape& x, const Shape& y) {
      return x.calls * flops(x) > y.calls * flops(y);
    });
    std::mt19937 rng(1);
    const int backends = native_bf16() ? kBackends : kBf16;
    double total_us[kBackends] = {}, total_flops = 0;
    long total_calls = 0;
    std::printf("%-5s %-3s %6s %6s %6s %9s", "kind", "op", "M", "N", "K", "calls");
    for (const char* name : kNames) std::printf(" %10s", name);
    std::printf(" %7s\n", "GF/s*");
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const Shape& s = shapes[i];
      Operands o = operands(s, rng);
      Matmuls matmuls;
      if (!s.gemv) matmuls[kPacked] = std::make_unique<Matmul>(o, dnnl::memory::data_type::f32, true);
      if (backends == kBackends) {
        check_bf16(s, o);
        matmuls[kBf16] = std::make_unique<Matmul>(o, dnnl::memory::data_type::bf16, false);
        matmuls[kBf16Packed] = std::make_unique<Matmul>(o, dnnl::memory::data_type::bf16, true);
      }
      double us[kBackends];
      for (int b = 0; b < backends; ++b) {
        us[b] = time_call(static_cast<Backend>(b), s, o, matmuls, min_ms);
        total_us[b] += us[b] * s.calls;
      }
      total_flops += flops(s) * s.calls;
      total_calls += s.calls;
      if (i < top) {
        const double best = *std::min_element(us, us + backends);
        char op[4] = {s.ta, s.gemv ? '-' : s.tb, 0};
        std::printf("%-5s %-3s %6d %6d %6d %9ld", s.gemv ? "gemv" : "gemm", op, s.m, s.n, s.k,
                    s.calls);
        for (int b = 0; b < kBackends; ++b)
          b < backends ? std::printf(" %10.2f", us[b]) : std::printf(" %10s", "-");
        std::printf(" %7.1f\n", flops(s) / best / 1000.0);
      }
    }
    if (shapes.size() > top)
      std::printf("... %zu more shapes (in the totals)\n", shapes.size() - top);
    std::printf("\n%zu shapes, %ld calls, %.2f GFLOP in the traced run; time in products (us per"
                " call x calls), one thread:\n",
                shapes.size(), total_calls, total_flops / 1e9);
    for (int b = 0; b < backends; ++b)
      std::printf("  %-9s %9.1f ms  (%.1f GFLOP/s)  %.2fx openblas\n", kNames[b],
                  total_us[b] / 1000.0, total_flops / total_us[b] / 1000.0,
                  total_us[0] / total_us[b]);
    if (backends < kBackends)
      std::printf("  (bf16 and bf16pk not run: oneDNN finds no AVX512_BF16 or AMX on this CPU)\n");
    std::printf("(GF/s*: the best backend's rate on that shape)\n");
    libxsmm_finalize();
  } catch (const std::exception& e) {
    std::cerr << "bench_gemm_shapes: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
