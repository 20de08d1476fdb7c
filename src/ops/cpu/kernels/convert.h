// Vectorised conversions between f32 and the 16-bit float formats, one copy per ISA.
#pragma once

#include <stdint.h>

#include "ops/cpu/isa.h"

PAGODA_DECLARE_CPU_KERNELS(
    // dst[i] = float(src[i]) for bf16 bit patterns.
    void bf16_to_f32(const uint16_t* src, float* dst, int64_t n);
    // dst[i] = float(src[i]) for IEEE f16 bit patterns.
    void f16_to_f32(const uint16_t* src, float* dst, int64_t n);
    // Round to nearest even; NaN stays NaN.
    void f32_to_bf16(const float* src, uint16_t* dst, int64_t n);
    void f32_to_f16(const float* src, uint16_t* dst, int64_t n);)
