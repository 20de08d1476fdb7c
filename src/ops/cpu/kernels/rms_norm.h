// Row kernels of rms_norm / fused_add_rms_norm, one copy per ISA (see ops/cpu/isa.h).
#pragma once

#include <stdint.h>

#include "ops/cpu/isa.h"

PAGODA_DECLARE_CPU_KERNELS(
    // Sum of x[i]^2, accumulated in f32 over several vector accumulators.
    float sum_of_squares(const float* x, int64_t n);
    // out[i] = x[i] * scale * w[i], or x[i] * scale when w is null. out may be x.
    void scale_and_weight(const float* x, float scale, const float* w, float* out, int64_t n);)
