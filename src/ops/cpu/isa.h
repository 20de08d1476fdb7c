// Runtime choice of the CPU instruction set for hand-vectorised kernels.
//
// Kernels under src/ops/cpu/kernels/ are compiled three times: for baseline x86-64 (generic), for
// AVX2+FMA+F16C and for AVX-512 (F, BW, VL, DQ), each copy in its own namespace
// pagoda::cpu::<isa>. PAGODA_CPU_DISPATCH calls the copy for the best ISA this processor has, so
// one binary runs everywhere and uses AVX-512 where it exists.
//
// Rule for kernel files: include only <immintrin.h>, C headers (<math.h>, <stdint.h>, <string.h>)
// and kernel declaration headers, and call no inline function or template from any other header
// (no std::min, std::vector, pagoda/half.h). The linker keeps one copy of each inline function for
// the whole library; if that copy came from the AVX-512 build, a machine without AVX-512 would
// crash in it. Helpers go in an anonymous namespace, which keeps them per file.
#pragma once

#include <string_view>

namespace pagoda::cpu {

enum class CpuIsa { Generic, Avx2, Avx512 };

// The ISA kernels run with: the best the processor supports, lowered by PAGODA_CPU_ISA
// (generic, avx2, avx512) or set_cpu_isa(). Never higher than the processor supports.
CpuIsa cpu_isa();
// The best the processor supports.
CpuIsa detected_cpu_isa();
// Selects an ISA (for tests and benchmarks); throws pagoda::Error if the processor lacks it.
void set_cpu_isa(CpuIsa isa);
std::string_view cpu_isa_name(CpuIsa isa);

}  // namespace pagoda::cpu

// Declares the same kernel functions in each ISA namespace. Usage, in a kernels header:
//   PAGODA_DECLARE_CPU_KERNELS(void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);)
#define PAGODA_DECLARE_CPU_KERNELS(...)             \
  namespace pagoda::cpu::generic { __VA_ARGS__ }    \
  namespace pagoda::cpu::avx2 { __VA_ARGS__ }       \
  namespace pagoda::cpu::avx512 { __VA_ARGS__ }

// Calls kernel `fn` of the selected ISA: PAGODA_CPU_DISPATCH(bf16_to_f32)(src, dst, n).
#define PAGODA_CPU_DISPATCH(fn)                                                         \
  (::pagoda::cpu::cpu_isa() == ::pagoda::cpu::CpuIsa::Avx512 ? &::pagoda::cpu::avx512::fn \
   : ::pagoda::cpu::cpu_isa() == ::pagoda::cpu::CpuIsa::Avx2 ? &::pagoda::cpu::avx2::fn   \
                                                             : &::pagoda::cpu::generic::fn)
