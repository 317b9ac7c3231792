// The bf16 products of gemm.hpp, on oneDNN's matmul (built when S2S_WITH_ONEDNN is defined).
//
// oneDNN is row-major: dst (M × Nd) = src (M × K) · weights (K × Nd). A column-major matrix is the
// row-major view of its transpose, so each product runs transposed:
//   weight_product    y  = W x     ⇔  yᵀ (N × out)  = xᵀ (N × in)  · Wᵀ (in × out)
//   weight_t_product  y  = Wᵀ x    ⇔  yᵀ (N × in)   = xᵀ (N × out) · W (out × in)
//   gradient_product  dW += a bᵀ   ⇔  dWᵀ (in × out) += b (in × N) · aᵀ (N × out)
// W is the "weights" operand in the first two: oneDNN picks its blocked bf16 layout, and a
// reorder converts and packs it (once per PackCache, or on every call without one). src is
// converted to plain bf16 on every call. The result is fp32; accumulation (+=) is a sum post-op.
// Each thread keeps its own primitives per shape, created on first use.
#include "s2s/core/gemm.hpp"

#include <stdexcept>

#ifdef S2S_WITH_ONEDNN
#include <omp.h>

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

// One product shape: its primitives and the memory objects they run on (user memory gets its
// pointer per call).
struct Plan {
  dnnl::matmul matmul;
  dnnl::reorder src_to_bf16, weights_to_bf16;
  memory src_f32, src_bf16, weights_f32, weights_bf16, dst;
  memory::desc packed_weights;  // the layout the matmul wants its weights in
  std::unordered_map<int, memory> args;

  Plan(Kind kind, memory::dim m, memory::dim k, memory::dim n, bool accumulate) {
    const dnnl::engine& engine = thread_engine();
    using dt = memory::data_type;
    // Strides of the row-major views (see the header comment); n is the dst's width.
    const Dims src_strides = kind == Kind::kOuter ? Dims{1, m} : Dims{k, 1};
    const Dims weight_strides = kind == Kind::kWeightT ? Dims{1, k} : Dims{n, 1};
    const memory::desc src_f32_md({m, k}, dt::f32, src_strides);
    const memory::desc src_bf16_md({m, k}, dt::bf16, memory::format_tag::ab);
    const memory::desc weights_f32_md({k, n}, dt::f32, weight_strides);
    const memory::desc weights_any_md({k, n}, dt::bf16, memory::format_tag::any);
    const memory::desc dst_md({m, n}, dt::f32, Dims{n, 1});
    dnnl::primitive_attr attr;
    if (accumulate) {
      dnnl::post_ops sum;
      sum.append_sum(1.0f);
      attr.set_post_ops(sum);
    }
    const dnnl::matmul::primitive_desc pd(
        dnnl::matmul::desc(src_bf16_md, weights_any_md, dst_md), attr, engine);
    matmul = dnnl::matmul(pd);
    packed_weights = pd.weights_desc();
    src_f32 = memory(src_f32_md, engine, DNNL_MEMORY_NONE);
    src_bf16 = memory(src_bf16_md, engine);
    weights_f32 = memory(weights_f32_md, engine, DNNL_MEMORY_NONE);
    weights_bf16 = memory(packed_weights, engine);
    dst = memory(dst_md, engine, DNNL_MEMORY_NONE);
    src_to_bf16 = dnnl::reorder(src_f32, src_bf16);
    weights_to_bf16 = dnnl::reorder(weights_f32, weights_bf16);
    args = {{DNNL_ARG_SRC, src_bf16}, {DNNL_ARG_WEIGHTS, weights_bf16}, {DNNL_ARG_DST, dst}};
  }
};

struct PlanKey {
  Kind kind;
  memory::dim m, k, n;
  bool accumulate;
  bool operator==(const PlanKey& o) const {
    return std::tie(kind, m, k, n, accumulate) == std::tie(o.kind, o.m, o.k, o.n, o.accumulate);
  }
};
struct PlanKeyHash {
  std::size_t operator()(const PlanKey& key) const {
    std::size_t h = static_cast<std::size_t>(key.kind) * 2 + key.accumulate;
    for (const memory::dim d : {key.m, key.k, key.n}) h = h * 1000003u ^ static_cast<std::size_t>(d);
    return h;
  }
};

Plan& plan_for(const PlanKey& key) {
  thread_local std::unordered_map<PlanKey, std::unique_ptr<Plan>, PlanKeyHash> plans;
  std::unique_ptr<Plan>& plan = plans[key];
  if (!plan) plan = std::make_unique<Plan>(key.kind, key.m, key.k, key.n, key.accumulate);
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
    plan.weights_to_bf16.execute(thread_stream(), plan.weights_f32, packed);
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
void run(Plan& plan, const float* src, const float* weights, float* dst, Kind kind) {
  dnnl::stream& stream = thread_stream();
  plan.src_f32.set_data_handle(const_cast<float*>(src));
  plan.weights_f32.set_data_handle(const_cast<float*>(weights));
  plan.dst.set_data_handle(dst);
  plan.src_to_bf16.execute(stream, plan.src_f32, plan.src_bf16);
  if (kind != Kind::kOuter && current_packs != nullptr) {
    plan.args[DNNL_ARG_WEIGHTS] = current_packs->get(weights, kind, plan);
  } else {
    plan.weights_to_bf16.execute(stream, plan.weights_f32, plan.weights_bf16);
    plan.args[DNNL_ARG_WEIGHTS] = plan.weights_bf16;
  }
  plan.matmul.execute(stream, plan.args);
  stream.wait();
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
  Plan& plan = plan_for({kind, memory::dim(x.n_cols), memory::dim(in), memory::dim(out), accumulate});
  run(plan, x.memptr(), W.memptr(), y.memptr(), kind);
}

void bf16_gradient_product(const Mat<float>& a, const Mat<float>& b, Mat<float>& dW) {
  if (a.n_cols != b.n_cols || dW.n_rows != a.n_rows || dW.n_cols != b.n_rows)
    throw std::logic_error("gemm: " + shape_string(dW) + " += " + shape_string(a) + " times " +
                           shape_string(b) + "ᵀ");
  if (dW.n_elem == 0 || a.n_cols == 0) return;
  match_blas_threads();
  Plan& plan = plan_for({Kind::kOuter, memory::dim(b.n_rows), memory::dim(a.n_cols),
                         memory::dim(a.n_rows), true});
  run(plan, b.memptr(), a.memptr(), dW.memptr(), Kind::kOuter);
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
