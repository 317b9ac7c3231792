// The bf16 products of gemm.hpp, on oneDNN's matmul (built when S2S_WITH_ONEDNN is defined).
//
// oneDNN is row-major: dst (M × Nd) = src (M × K) · weights (K × Nd). A column-major matrix is the
// row-major view of its transpose, so each product runs transposed:
//   weight_product    y  = W x     ⇔  yᵀ (N × out)  = xᵀ (N × in)  · Wᵀ (in × out)
//   weight_t_product  y  = Wᵀ x    ⇔  yᵀ (N × in)   = xᵀ (N × out) · W (out × in)
//   gradient_product  dW += a bᵀ   ⇔  dWᵀ (in × out) += b (in × N) · aᵀ (N × out)
// N, the number of columns (batch × steps), is a run-time dimension: one primitive per weight
// shape and kind serves every batch. W is the "weights" operand of the first two: a reorder
// converts it to bf16 in the layout the primitive chooses (once per PackCache, or on every call
// without one). Activations are converted to bf16 in their own layout by to_bf16 (AVX512_BF16,
// round to nearest even). The result is fp32; accumulation (+=) is a sum post-op.
// Each thread keeps its own primitives and bf16 buffers.
#include "s2s/core/gemm.hpp"

#include <stdexcept>

#ifdef S2S_WITH_ONEDNN
#include <immintrin.h>
#include <omp.h>

#include <cstdint>
#include <cstring>
#include <dnnl.hpp>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "s2s/core/blas_setup.hpp"
#endif

namespace s2s::gemm {

#ifdef S2S_WITH_ONEDNN

namespace {

using dnnl::memory;
using Dims = memory::dims;

enum class Kind { kWeight, kWeightT, kOuter };

dnnl::engine& thread_engine() {
  thread_local dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}
dnnl::stream& thread_stream() {
  thread_local dnnl::stream stream(thread_engine());
  return stream;
}

// oneDNN runs OpenMP teams of omp_get_max_threads(): keep them at the BLAS thread count, so
// worker threads (one BLAS thread each) do not each start a team of all cores.
void match_blas_threads() {
  thread_local int threads = 0;
  const int wanted = blas_num_threads();
  if (wanted != threads) {
    omp_set_num_threads(wanted);
    threads = wanted;
  }
}

// f32 → bf16, round to nearest even (as oneDNN converts), n values in the same layout.
__attribute__((target("avx512f,avx512bf16"))) void to_bf16(const float* x, std::uint16_t* y,
                                                          std::size_t n) {
  std::size_t i = 0;
  for (; i + 32 <= n; i += 32) {
    const __m512bh v = _mm512_cvtne2ps_pbh(_mm512_loadu_ps(x + i + 16), _mm512_loadu_ps(x + i));
    _mm512_storeu_si512(y + i, reinterpret_cast<__m512i>(v));
  }
  for (; i < n; ++i) {
    std::uint32_t bits;
    std::memcpy(&bits, x + i, sizeof bits);
    if ((bits & 0x7fffffffu) > 0x7f800000u) {
      y[i] = static_cast<std::uint16_t>((bits >> 16) | 0x40u);  // NaN stays NaN
    } else {
      bits += 0x7fffu + ((bits >> 16) & 1u);
      y[i] = static_cast<std::uint16_t>(bits >> 16);
    }
  }
}

// bf16 copies of the activations of one call, per thread, grown as needed (no allocation once
// the largest shape has been seen).
std::uint16_t* bf16_buffer(int which, std::size_t n) {
  thread_local std::vector<std::uint16_t> buffers[2];
  std::vector<std::uint16_t>& b = buffers[which];
  if (b.size() < n) b.resize(n);
  return b.data();
}

// One product class: the matmul primitive with the varying dimension (the number of columns N
// of the column-major operands) left to run time, so that one primitive serves every batch and
// sequence length. Fixed: the weight's shape, the kind and accumulation.
//   kWeight, kWeightT: M = N (runtime), K and Nd from the weight; the weights operand is fixed
//     and packed into the layout the primitive chooses (packed_weights).
//   kOuter: M = in, Nd = out fixed, K = N (runtime); both operands are plain bf16 activations.
// The src, weights and dst descriptions of a product class with n columns (n may be
// DNNL_RUNTIME_DIM_VAL, for the primitive). kWeight/kWeightT's weights are "any": the primitive
// picks the packed layout.
struct Descs {
  memory::desc src, weights, dst;
};
Descs descs(Kind kind, memory::dim fixed_a, memory::dim fixed_b, memory::dim n) {
  using dt = memory::data_type;
  if (kind == Kind::kOuter) {  // dWᵀ (in × out) += b (in × N) · aᵀ (N × out)
    const memory::dim in = fixed_a, out = fixed_b;
    return {memory::desc({in, n}, dt::bf16, Dims{1, in}),
            memory::desc({n, out}, dt::bf16, Dims{out, 1}),
            memory::desc({in, out}, dt::f32, Dims{out, 1})};
  }
  const memory::dim k = fixed_a, m = fixed_b;  // yᵀ (N × m) = xᵀ (N × k) · weights (k × m)
  return {memory::desc({n, k}, dt::bf16, Dims{k, 1}),
          memory::desc({k, m}, dt::bf16, memory::format_tag::any),
          memory::desc({n, m}, dt::f32, Dims{m, 1})};
}

struct Plan {
  Kind kind;
  memory::dim fixed_a, fixed_b;
  dnnl::matmul matmul;
  dnnl::reorder pack;                 // f32 W (its own layout) → packed_weights (kWeight, kWeightT)
  memory::desc packed_weights;
  memory weights_f32, weights_bf16;   // pack's source (pointer set per call) and a scratch pack
  // The memories sized by the column count of the last call: made again only when it changes
  // (it stays the same over the time steps of a batch); their pointers are set per call.
  memory::dim columns = -1;
  memory src, dst, activations;       // activations: kOuter's weights operand
  std::unordered_map<int, memory> args;

  Plan(Kind kind_, memory::dim a, memory::dim b, bool accumulate)
      : kind(kind_), fixed_a(a), fixed_b(b) {
    const dnnl::engine& engine = thread_engine();
    const Descs d = descs(kind, a, b, DNNL_RUNTIME_DIM_VAL);
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    const dnnl::matmul::primitive_desc pd(dnnl::matmul::desc(d.src, d.weights, d.dst), attr,
                                          engine);
    matmul = dnnl::matmul(pd);
    if (kind != Kind::kOuter) {
      // W (out × in) column-major: as weights (in × out) of y = W x it is row-major "ab" with
      // strides {out, 1}; as weights (out × in) of y = Wᵀ x, strides {1, out}.
      const Dims strides = kind == Kind::kWeight ? Dims{b, 1} : Dims{1, a};
      packed_weights = pd.weights_desc();
      weights_f32 = memory(memory::desc({a, b}, memory::data_type::f32, strides), engine,
                           DNNL_MEMORY_NONE);
      weights_bf16 = memory(packed_weights, engine);
      pack = dnnl::reorder(weights_f32, weights_bf16);
    }
  }

  void set_columns(memory::dim n) {
    if (n == columns) return;
    columns = n;
    const dnnl::engine& engine = thread_engine();
    const Descs d = descs(kind, fixed_a, fixed_b, n);
    src = memory(d.src, engine, DNNL_MEMORY_NONE);
    dst = memory(d.dst, engine, DNNL_MEMORY_NONE);
    if (kind == Kind::kOuter) activations = memory(d.weights, engine, DNNL_MEMORY_NONE);
  }
};

struct PlanKey {
  Kind kind;
  memory::dim a, b;
  bool accumulate;
  bool operator==(const PlanKey& o) const {
    return std::tie(kind, a, b, accumulate) == std::tie(o.kind, o.a, o.b, o.accumulate);
  }
};
struct PlanKeyHash {
  std::size_t operator()(const PlanKey& key) const {
    std::size_t h = static_cast<std::size_t>(key.kind) * 2 + key.accumulate;
    for (const memory::dim d : {key.a, key.b}) h = h * 1000003u ^ static_cast<std::size_t>(d);
    return h;
  }
};

Plan& plan_for(const PlanKey& key) {
  thread_local std::unordered_map<PlanKey, std::unique_ptr<Plan>, PlanKeyHash> plans;
  std::unique_ptr<Plan>& plan = plans[key];
  if (!plan) plan = std::make_unique<Plan>(key.kind, key.a, key.b, key.accumulate);
  return *plan;
}

thread_local PackCache::Impl* current_packs = nullptr;

}  // namespace

struct PackCache::Impl {
  struct Entry {
    const float* data;
    Kind kind;
    memory::desc layout;
    memory packed;
  };
  std::vector<Entry> entries;

  // The packed bf16 copy of the weight in plan.weights_f32 (its pointer already set), made now
  // if this cache has none.
  const memory& get(const float* data, Kind kind, Plan& plan) {
    for (const Entry& e : entries)
      if (e.data == data && e.kind == kind && e.layout == plan.packed_weights) return e.packed;
    memory packed(plan.packed_weights, thread_engine());
    plan.pack.execute(thread_stream(), plan.weights_f32, packed);
    entries.push_back({data, kind, plan.packed_weights, packed});
    return entries.back().packed;
  }
};

namespace detail {

bool onednn_built() { return true; }

bool onednn_runs_bf16_natively() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

namespace {

// The weights operand of a kWeight/kWeightT product: from the thread's pack cache, or packed now.
const memory& packed_weights(Plan& plan, const float* W, Kind kind) {
  plan.weights_f32.set_data_handle(const_cast<float*>(W));
  if (current_packs != nullptr) return current_packs->get(W, kind, plan);
  plan.pack.execute(thread_stream(), plan.weights_f32, plan.weights_bf16);
  return plan.weights_bf16;
}

void execute(Plan& plan, memory::dim columns, void* src, const memory& weights, float* dst) {
  plan.set_columns(columns);
  plan.src.set_data_handle(src);
  plan.dst.set_data_handle(dst);
  plan.args[DNNL_ARG_SRC] = plan.src;
  plan.args[DNNL_ARG_WEIGHTS] = weights;
  plan.args[DNNL_ARG_DST] = plan.dst;
  plan.matmul.execute(thread_stream(), plan.args);
  thread_stream().wait();
}

}  // namespace

void bf16_weight_product(const Mat<float>& W, const Mat<float>& x, Mat<float>& y, bool transposed,
                         bool accumulate) {
  const uword out = transposed ? W.n_cols : W.n_rows;  // rows of y
  const uword in = transposed ? W.n_rows : W.n_cols;   // rows of x
  if (x.n_rows != in)
    throw std::logic_error("gemm: weight " + shape_string(W) + (transposed ? "ᵀ" : "") +
                           " times " + shape_string(x));
  if (accumulate) {
    if (y.n_rows != out || y.n_cols != x.n_cols)
      throw std::logic_error("gemm: accumulating " + shape_string(out, x.n_cols) + " into " +
                             shape_string(y));
  } else {
    y.set_size(out, x.n_cols);
  }
  if (y.n_elem == 0) return;
  if (in == 0) {
    if (!accumulate) y.zeros();
    return;
  }
  match_blas_threads();
  const Kind kind = transposed ? Kind::kWeightT : Kind::kWeight;
  Plan& plan = plan_for({kind, memory::dim(in), memory::dim(out), accumulate});
  const memory& weights = packed_weights(plan, W.memptr(), kind);
  std::uint16_t* x16 = bf16_buffer(0, x.n_elem);
  to_bf16(x.memptr(), x16, x.n_elem);
  execute(plan, memory::dim(x.n_cols), x16, weights, y.memptr());
}

void bf16_gradient_product(const Mat<float>& a, const Mat<float>& b, Mat<float>& dW) {
  if (a.n_cols != b.n_cols || dW.n_rows != a.n_rows || dW.n_cols != b.n_rows)
    throw std::logic_error("gemm: " + shape_string(dW) + " += " + shape_string(a) + " times " +
                           shape_string(b) + "ᵀ");
  if (dW.n_elem == 0 || a.n_cols == 0) return;
  match_blas_threads();
  const memory::dim in = b.n_rows, out = a.n_rows, n = a.n_cols;
  Plan& plan = plan_for({Kind::kOuter, in, out, true});
  std::uint16_t* a16 = bf16_buffer(0, a.n_elem);
  std::uint16_t* b16 = bf16_buffer(1, b.n_elem);
  to_bf16(a.memptr(), a16, a.n_elem);
  to_bf16(b.memptr(), b16, b.n_elem);
  plan.set_columns(n);
  plan.activations.set_data_handle(a16);
  execute(plan, n, b16, plan.activations, dW.memptr());
}

}  // namespace detail

#else  // no oneDNN: fp32 only

struct PackCache::Impl {};

namespace detail {
bool onednn_built() { return false; }
bool onednn_runs_bf16_natively() { return false; }
void bf16_weight_product(const Mat<float>&, const Mat<float>&, Mat<float>&, bool, bool) {
  throw std::logic_error("gemm: bf16 product in a build without oneDNN");
}
void bf16_gradient_product(const Mat<float>&, const Mat<float>&, Mat<float>&) {
  throw std::logic_error("gemm: bf16 product in a build without oneDNN");
}
}  // namespace detail

namespace {
thread_local PackCache::Impl* current_packs = nullptr;
}

#endif

PackCache::PackCache() : impl_(std::make_unique<Impl>()) {}
PackCache::~PackCache() = default;

void PackCache::clear() {
#ifdef S2S_WITH_ONEDNN
  impl_->entries.clear();
#endif
}

std::size_t PackCache::size() const {
#ifdef S2S_WITH_ONEDNN
  return impl_->entries.size();
#else
  return 0;
#endif
}

UsePacks::UsePacks(PackCache& cache) : previous_(current_packs) { current_packs = cache.impl_.get(); }
UsePacks::~UsePacks() { current_packs = previous_; }

}  // namespace s2s::gemm
