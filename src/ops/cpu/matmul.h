// The CPU implementation of ops::matmul (out = x @ weight^T + bias) and the knobs that pick its
// path.
//
// Two paths, chosen per call by the number of activation rows M:
//  - few rows (decode, M <= gemv_max_rows): hand-written GEMV-style kernels
//    (kernels/matmul_gemv.h) that stream the weights once and widen bf16/f16 weights in
//    registers; the time is the memory bandwidth.
//  - many rows (prefill): f32 GEMM from a BLAS library (OpenBLAS or oneDNN); 16-bit weights are
//    widened to f32 one panel of rows at a time into per-thread scratch, so no f32 copy of the
//    whole weight is ever kept and no "prepare weight" step is needed (the widening costs a few
//    percent of the GEMM; bench/RESULTS.md). With bf16 activations and weights on a CPU with native
//    bf16 math, oneDNN's bf16 matmul instead (matmul_onednn.h).
// Pagoda's thread pool splits the output columns and every BLAS call runs single-threaded, so the
// library's own threads never compete with the pool (see bench/RESULTS.md for why).
#pragma once

#include <cstdint>

#include "ops/cpu/matmul_blas.h"
#include "pagoda/tensor.h"

namespace pagoda::cpu {

// How the CPU matmul runs. The defaults are what measured fastest on the development machine
// (bench/RESULTS.md); tests and benchmarks change them to reach and compare every path.
struct CpuMatmulConfig {
  // The BLAS library for the many-rows path. Default: OpenBLAS; PAGODA_MATMUL_BACKEND=onednn
  // (or openblas) in the environment overrides it.
  BlasLibrary blas = BlasLibrary::OpenBlas;
  // The largest M that takes the GEMV kernels; more rows go to BLAS. Measured crossover on AVX2
  // (2 cores): the kernels are ahead up to M = 48 and level with BLAS at 64 for both f32 and
  // bf16 weights; 32 leaves a margin for machines where BLAS is stronger (AVX-512).
  int64_t gemv_max_rows = 32;
  // true: the pool splits the output columns and each BLAS call uses one thread. false: one BLAS
  // call with the pool's thread count (the library threads itself).
  bool split_columns_across_pool = true;
  // Scratch per thread for 16-bit weights widened to f32 on the many-rows path: each BLAS call
  // gets as many weight rows as fit (16 to 512). Every call re-packs all of x, so wide panels
  // amortise that; 8 MiB gives 512 rows at K = 4096 (x packing ~4% of the GEMM).
  int64_t panel_bytes = int64_t{8} << 20;
  // bf16 activations with bf16 weights on the many-rows path go to oneDNN's bf16 matmul
  // (matmul_onednn.h) instead of being widened for sgemm. Default: on where oneDNN has native
  // bf16 math (AVX512_BF16/AMX); PAGODA_MATMUL_BF16=0 turns it off.
  bool onednn_bf16 = false;
};

CpuMatmulConfig cpu_matmul_config();
// For tests and benchmarks; do not call while a matmul runs on another thread.
void set_cpu_matmul_config(const CpuMatmulConfig& config);

// out = x @ weight^T + bias on the CPU. Arguments are as ops::matmul validated them: x [M,K] and
// out [M,N] with unit column stride and any row stride, weight [N,K] likewise, bias [N] contiguous
// or undefined; x, bias, out in f32/bf16/f16, weight in f32/bf16/f16.
void matmul_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

}  // namespace pagoda::cpu
