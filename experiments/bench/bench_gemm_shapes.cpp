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
// and prints, per shape, microseconds per call on each, and the traced run's total product time
// per backend (Σ calls × time per call). Numbers only; no test depends on them.
//
//   OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1 bench_gemm_shapes TRACE [--min-ms 20] [--top 25]
#include <dnnl.h>
#include <dnnl.hpp>
#include <libxsmm.h>

#include <algorithm>
#include <chrono>
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

enum Backend { kOpenBlas, kXsmm, kOneDnn, kPacked, kBackends };
const char* kNames[kBackends] = {"openblas", "libxsmm", "onednn", "packed"};

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
// weights op(A)ᵀ (K × M), with the weights reordered once into the primitive's own layout.
struct PackedMatmul {
  dnnl::engine engine{dnnl::engine::kind::cpu, 0};
  dnnl::stream stream{engine};
  dnnl::matmul primitive;
  dnnl::memory src, weights, dst;

  PackedMatmul(Operands& o) {
    using dnnl::memory;
    const memory::dim M = o.rows_c, N = o.cols_c, K = o.inner;
    const memory::dims a_strides =
        o.ta == 'N' ? memory::dims{o.lda, 1} : memory::dims{1, o.lda};
    const memory::dims b_strides =
        o.tb == 'N' ? memory::dims{o.ldb, 1} : memory::dims{1, o.ldb};
    const memory::desc src_md({N, K}, memory::data_type::f32, b_strides);
    const memory::desc user_weights_md({K, M}, memory::data_type::f32, a_strides);
    const memory::desc any_weights_md({K, M}, memory::data_type::f32, memory::format_tag::any);
    const memory::desc dst_md({N, M}, memory::data_type::f32, memory::dims{o.ldc, 1});
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(src_md, any_weights_md, dst_md), engine);
    primitive = dnnl::matmul(pd);
    src = memory(src_md, engine, o.b.data());
    dst = memory(dst_md, engine, o.c.data());
    memory user_weights(user_weights_md, engine, o.a.data());
    weights = memory(pd.weights_desc(), engine);
    dnnl::reorder(user_weights, weights).execute(stream, user_weights, weights);
    stream.wait();
  }
  void run() {
    primitive.execute(stream, {{DNNL_ARG_SRC, src}, {DNNL_ARG_WEIGHTS, weights},
                               {DNNL_ARG_DST, dst}});
    stream.wait();
  }
};

void call(Backend backend, const Shape& s, Operands& o, PackedMatmul* packed) {
  const float alpha = 1.0f, beta = 1.0f;
  const int one = 1;
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
    case kPacked:
      if (packed != nullptr) {
        packed->run();
        return;
      }
      [[fallthrough]];
    case kOneDnn:  // column-major C = op(A) op(B) is row-major Cᵀ = op(B)ᵀ op(A)ᵀ
      if (dnnl_sgemm(o.tb, o.ta, o.cols_c, o.rows_c, o.inner, alpha, o.b.data(), o.ldb,
                     o.a.data(), o.lda, beta, o.c.data(), o.ldc) != dnnl_success)
        throw std::runtime_error("dnnl_sgemm failed");
      return;
    default:
      return;
  }
}

// Best of three timings of repeated calls, each at least min_ms long: microseconds per call.
double time_call(Backend backend, const Shape& s, Operands& o, PackedMatmul* packed,
                 double min_ms) {
  using Clock = std::chrono::steady_clock;
  call(backend, s, o, packed);  // warm-up (JIT, packing buffers)
  double best = 1e30;
  for (int round = 0; round < 3; ++round) {
    long reps = 0;
    const auto start = Clock::now();
    double elapsed_ms = 0;
    do {
      for (int i = 0; i < 8; ++i) call(backend, s, o, packed);
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
    double total_us[kBackends] = {0, 0, 0, 0}, total_flops = 0;
    long total_calls = 0;
    std::printf("%-5s %-3s %6s %6s %6s %9s %10s %10s %10s %10s %7s\n", "kind", "op", "M", "N",
                "K", "calls", "openblas", "libxsmm", "onednn", "packed", "GF/s*");
    for (std::size_t i = 0; i < shapes.size(); ++i) {
      const Shape& s = shapes[i];
      Operands o = operands(s, rng);
      std::unique_ptr<PackedMatmul> packed;
      if (!s.gemv) packed = std::make_unique<PackedMatmul>(o);
      double us[kBackends];
      for (int b = 0; b < kBackends; ++b) {
        us[b] = time_call(static_cast<Backend>(b), s, o, packed.get(), min_ms);
        total_us[b] += us[b] * s.calls;
      }
      total_flops += flops(s) * s.calls;
      total_calls += s.calls;
      if (i < top) {
        const double best = *std::min_element(us, us + kBackends);
        char op[4] = {s.ta, s.gemv ? '-' : s.tb, 0};
        std::printf("%-5s %-3s %6d %6d %6d %9ld %10.2f %10.2f %10.2f %10.2f %7.1f\n",
                    s.gemv ? "gemv" : "gemm", op, s.m, s.n, s.k, s.calls, us[0], us[1], us[2],
                    us[3], flops(s) / best / 1000.0);
      }
    }
    if (shapes.size() > top)
      std::printf("... %zu more shapes (in the totals)\n", shapes.size() - top);
    std::printf("\n%zu shapes, %ld calls, %.2f GFLOP in the traced run; time in products (us per"
                " call x calls), one thread:\n",
                shapes.size(), total_calls, total_flops / 1e9);
    for (int b = 0; b < kBackends; ++b)
      std::printf("  %-9s %9.1f ms  (%.1f GFLOP/s)  %.2fx openblas\n", kNames[b],
                  total_us[b] / 1000.0, total_flops / total_us[b] / 1000.0,
                  total_us[0] / total_us[b]);
    std::printf("(GF/s*: the best backend's rate on that shape)\n");
    libxsmm_finalize();
  } catch (const std::exception& e) {
    std::cerr << "bench_gemm_shapes: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
