// Softmax row kernel, one copy per ISA (see ops/cpu/isa.h).
#pragma once

#include <stdint.h>

#include "ops/cpu/isa.h"

PAGODA_DECLARE_CPU_KERNELS(
    // out = exp(x - max(x)) / sum(exp(x - max(x))) over n >= 1 elements. out may be x. A NaN or
    // +inf anywhere in x makes the whole row NaN, as in PyTorch.
    void softmax(const float* x, float* out, int64_t n);)
