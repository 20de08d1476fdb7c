// bf16 x bf16 -> f32 matrix products through oneDNN's matmul primitive, for the many-rows
// (prefill) path when both the activations and the weights are bf16.
//
// On CPUs with native bf16 arithmetic (AVX512_BF16, or AMX tiles on Sapphire Rapids and later)
// oneDNN runs these products several times faster than widening everything to f32 for sgemm, and
// reads half the bytes. On other CPUs oneDNN has no fast bf16 kernel, so the path is off there.
#pragma once

#include <cstdint>

namespace pagoda::cpu {

// True when oneDNN reports a CPU ISA with native bf16 math (avx512_core_bf16 or AMX).
bool onednn_bf16_is_fast();

// Row-major c[M,N] = a[M,K] @ b[N,K]^T (+ bias[N]) with a and b bf16 (raw uint16 bits), c and
// bias f32; leading dimensions lda, ldb, ldc. Runs on the calling thread with `threads` OpenMP
// threads. Primitives are cached per thread and shape. Throws pagoda::Error(Unsupported) when
// oneDNN has no implementation for this CPU.
void onednn_bf16_gemm_nt(int threads, int64_t M, int64_t N, int64_t K, const uint16_t* a,
                         int64_t lda, const uint16_t* b, int64_t ldb, const float* bias, float* c,
                         int64_t ldc);

}  // namespace pagoda::cpu
