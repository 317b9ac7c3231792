#include "s2s/core/cpu.hpp"

#include <cpuid.h>

#include <cstdlib>
#include <cstring>
#include <stdexcept>

namespace s2s {

namespace {
bool g_forced_avx2 = false;
}

const char* isa_name(VectorIsa isa) {
  switch (isa) {
    case VectorIsa::kBaseline: return "x86-64";
    case VectorIsa::kAvx2: return "avx2";
    case VectorIsa::kAvx512: return "avx512";
    case VectorIsa::kAvx512Bf16: return "avx512-bf16";
  }
  return "unknown";
}

VectorIsa cpu_isa() {
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f"))
    return __builtin_cpu_supports("avx512bf16") ? VectorIsa::kAvx512Bf16 : VectorIsa::kAvx512;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) return VectorIsa::kAvx2;
  return VectorIsa::kBaseline;
}

VectorIsa dispatch_isa() {
  const VectorIsa own = cpu_isa();
  return g_forced_avx2 && own > VectorIsa::kAvx2 ? VectorIsa::kAvx2 : own;
}

bool dispatch_forced_to_avx2() { return g_forced_avx2; }

void force_avx2_dispatch() {
  g_forced_avx2 = true;
  setenv(kCpuIsaVariable, "avx2", 1);
}

std::string cpu_model_name() {
  unsigned regs[12] = {};
  unsigned max_leaf = __get_cpuid_max(0x80000000, nullptr);
  if (max_leaf < 0x80000004) return "unknown";
  for (unsigned i = 0; i < 3; ++i)
    __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
  char brand[sizeof regs + 1] = {};
  std::memcpy(brand, regs, sizeof regs);
  std::string name(brand);
  // Trim the padding some vendors put around the brand.
  const auto first = name.find_first_not_of(' ');
  if (first == std::string::npos) return "unknown";
  name = name.substr(first, name.find_last_not_of(' ') - first + 1);
  return name;
}

void read_dispatch_setting() {
  const char* value = std::getenv(kCpuIsaVariable);
  if (value == nullptr || std::strcmp(value, "native") == 0 || *value == '\0') {
    g_forced_avx2 = false;
    return;
  }
  if (std::strcmp(value, "avx2") != 0)
    throw std::invalid_argument(std::string(kCpuIsaVariable) + "=" + value +
                                ": unknown; valid values: native, avx2");
  if (cpu_isa() < VectorIsa::kAvx2)
    throw std::invalid_argument(std::string(kCpuIsaVariable) +
                                "=avx2: this CPU has no AVX2 and FMA (" + cpu_model_name() + ")");
  g_forced_avx2 = true;
}

}  // namespace s2s
