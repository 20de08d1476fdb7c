// Activation row kernels (plain and gated), one copy per ISA (see ops/cpu/isa.h).
#pragma once

#include <stdint.h>

#include "ops/cpu/isa.h"

namespace pagoda::cpu {
// The function an activation kernel applies.
enum class ActKind : int {
  Silu,       // x * sigmoid(x)
  GeluErf,    // 0.5 x (1 + erf(x / sqrt(2)))
  GeluTanh,   // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
  QuickGelu,  // x * sigmoid(1.702 x)
  Relu,       // max(x, 0)
};
}  // namespace pagoda::cpu

PAGODA_DECLARE_CPU_KERNELS(
    // out[i] = act(x[i]) * mul[i], or act(x[i]) when mul is null. out may be x or mul.
    void activation(pagoda::cpu::ActKind kind, const float* x, const float* mul, float* out,
                    int64_t n);)
