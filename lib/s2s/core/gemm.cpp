#include "s2s/core/gemm.hpp"

#include <stdexcept>

#include "s2s/core/cpu.hpp"

namespace s2s::gemm {

namespace detail {
std::atomic<Precision> current_precision{Precision::kFp32};
bool onednn_built();           // gemm_bf16.cpp
bool onednn_runs_bf16_natively();
}  // namespace detail

const char* precision_name(Precision precision) {
  return precision == Precision::kBf16 ? "bf16" : "fp32";
}

Precision parse_precision(const std::string& name) {
  if (name == "fp32") return Precision::kFp32;
  if (name == "bf16") return Precision::kBf16;
  throw std::invalid_argument("precision must be fp32 or bf16, got '" + name + "'");
}

std::string bf16_unavailable_reason() {
  if (!detail::onednn_built())
    return "bf16 products need oneDNN: this build has none (install libdnnl-dev, e.g. "
           "scripts/install-deps.sh, and rebuild)";
  if (cpu_isa() != VectorIsa::kAvx512Bf16)
    return std::string("bf16 products need a CPU with AVX512_BF16; this one offers ") +
           isa_name(cpu_isa()) + " (" + cpu_model_name() + ")";
  if (dispatch_isa() != VectorIsa::kAvx512Bf16)
    return std::string("bf16 products need AVX512_BF16, but the dispatch is capped at ") +
           isa_name(dispatch_isa()) + " (portable mode or " + kCpuIsaVariable + "=avx2)";
  if (!detail::onednn_runs_bf16_natively())
    return "bf16 products need oneDNN's AVX512_BF16 kernels, which it does not run here "
           "(ONEDNN_MAX_CPU_ISA or DNNL_MAX_CPU_ISA set lower?)";
  return "";
}

void set_precision(Precision precision) {
  if (precision == Precision::kBf16) {
    const std::string why = bf16_unavailable_reason();
    if (!why.empty()) throw std::invalid_argument(why);
  }
  detail::current_precision.store(precision, std::memory_order_relaxed);
}

Precision precision() { return detail::current_precision.load(std::memory_order_relaxed); }

}  // namespace s2s::gemm
