#pragma once
// What the CPU offers, and which vector instruction set the program's CPU-dispatched code uses.
//
// Dispatched code is what picks its instructions at run time: today OpenBLAS's kernels (one set
// per "core", blas_setup.hpp); any kernel library the project adds must follow dispatch_isa().
// The project's own code is compiled for baseline x86-64 and is the same on every machine.
//
// S2S_CPU_ISA, read once at start-up (ensure_blas_core), caps the dispatch:
//   unset or "native"   the CPU's own choice (the fastest)
//   "avx2"              AVX2 + FMA paths only, OpenBLAS's Haswell kernels, whatever the CPU
//                       offers beyond: what any AVX2 machine runs (portable mode sets it)
// Another value, or "avx2" on a CPU without AVX2 and FMA, ends the program with a one-line error.
#include <string>

namespace s2s {

enum class VectorIsa { kBaseline, kAvx2, kAvx512, kAvx512Bf16 };

// "x86-64", "avx2", "avx512", "avx512-bf16".
const char* isa_name(VectorIsa isa);

// The richest set this CPU runs: AVX2 counts only with FMA (x86-64-v3), AVX-512 needs AVX-512F.
VectorIsa cpu_isa();

// cpu_isa(), capped by S2S_CPU_ISA.
VectorIsa dispatch_isa();

// True when S2S_CPU_ISA=avx2 caps the dispatch.
bool dispatch_forced_to_avx2();

// Caps the dispatch at AVX2 from now on, as S2S_CPU_ISA=avx2 at start-up would, and sets the
// variable for child processes. Only for a program that has dispatched nothing above AVX2 yet
// (enter_avx2_dispatch in blas_setup.hpp decides).
void force_avx2_dispatch();

// The CPU's brand string from CPUID, e.g. "AMD EPYC 7B13 64-Core Processor"; "unknown" if none.
std::string cpu_model_name();

// The environment variable and its values, for messages.
inline constexpr const char* kCpuIsaVariable = "S2S_CPU_ISA";

// Reads S2S_CPU_ISA; throws std::invalid_argument with a one-line message for an unknown value
// or for "avx2" on a CPU without AVX2 and FMA. ensure_blas_core() calls it first.
void read_dispatch_setting();

}  // namespace s2s
