// Matrix products for few rows of activations (decode): out = x @ w^T + bias, one copy per ISA.
//
// Decode multiplies 1 to ~16 activation rows by a large weight matrix, so the time is the time to
// stream the weights from memory. These kernels read every weight row once per tile of a few
// activation rows, widen 16-bit weights to f32 in registers (reading half the bytes of an f32
// copy) and accumulate in f32. They run on the calling thread; callers split N across threads.
#pragma once

#include <stdint.h>

#include "ops/cpu/isa.h"

// Every kernel computes, for m < M and n < N:
//   out[m * ldo + n] = (bias ? bias[n] : 0) + sum_{k < K} x[m * ldx + k] * w[n * ldw + k]
// x and out are f32; w holds f32 values or bf16 / IEEE f16 bit patterns; bias is f32 or null.
PAGODA_DECLARE_CPU_KERNELS(void matmul_gemv_f32(const float* x, int64_t ldx, const float* w,
                                                int64_t ldw, const float* bias, float* out,
                                                int64_t ldo, int64_t M, int64_t N, int64_t K);
                           void matmul_gemv_bf16(const float* x, int64_t ldx, const uint16_t* w,
                                                 int64_t ldw, const float* bias, float* out,
                                                 int64_t ldo, int64_t M, int64_t N, int64_t K);
                           void matmul_gemv_f16(const float* x, int64_t ldx, const uint16_t* w,
                                                int64_t ldw, const float* bias, float* out,
                                                int64_t ldo, int64_t M, int64_t N, int64_t K);)
