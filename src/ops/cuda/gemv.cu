// Small-batch products (M <= 8 rows, 16-bit x and weight): the decode steps' matmuls, where the
// weight is read once and the time is the weight's bytes over memory bandwidth. cuBLASLt's
// kernels for these shapes reach 50 to 85% of the bandwidth (split-K and its reduction kernel,
// narrow tiles); this kernel streams each weight row once with 16-byte loads, four in flight per
// thread, and keeps the M dot products of a row in one warp.
//
// One warp per output column n: lanes take 8 consecutive k each (one 16-byte load of the weight
// row, and of each x row, which stays in L1), accumulate in f32, and reduce across the warp;
// lane 0 adds the bias and rounds once to out's dtype.
#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/gemv.h"
#include "ops/cuda/kernel_utils.cuh"

namespace pagoda::cuda {
namespace {

constexpr int kWarps = 8;   // output columns per block
constexpr int kUnroll = 4;  // 16-byte weight loads in flight per thread

__device__ __forceinline__ float2 to_float2(uint32_t v, __nv_bfloat16) {
  return __bfloat1622float2(*reinterpret_cast<const __nv_bfloat162*>(&v));
}
__device__ __forceinline__ float2 to_float2(uint32_t v, __half) {
  return __half22float2(*reinterpret_cast<const __half2*>(&v));
}

template <class T>
__device__ __forceinline__ float dot8(const uint4& a, const uint4& b, float acc) {
  const uint32_t av[4] = {a.x, a.y, a.z, a.w}, bv[4] = {b.x, b.y, b.z, b.w};
#pragma unroll
  for (int i = 0; i < 4; ++i) {
    const float2 fa = to_float2(av[i], T{}), fb = to_float2(bv[i], T{});
    acc = fmaf(fa.x, fb.x, acc);
    acc = fmaf(fa.y, fb.y, acc);
  }
  return acc;
}

__device__ __forceinline__ float load_scalar(const void* p, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::F32:
      return static_cast<const float*>(p)[i];
    case DType::BF16:
      return __bfloat162float(static_cast<const __nv_bfloat16*>(p)[i]);
    default:
      return __half2float(static_cast<const __half*>(p)[i]);
  }
}

__device__ __forceinline__ void store_scalar(void* p, DType dtype, int64_t i, float v) {
  switch (dtype) {
    case DType::F32:
      static_cast<float*>(p)[i] = v;
      break;
    case DType::BF16:
      static_cast<__nv_bfloat16*>(p)[i] = __float2bfloat16_rn(v);
      break;
    default:
      static_cast<__half*>(p)[i] = __float2half_rn(v);
  }
}

struct GemvArgs {
  const void* x;
  int64_t ldx;
  const void* w;
  int64_t ldw;
  const void* bias;  // null: none
  DType bias_dtype;
  void* out;
  int64_t ldo;
  DType out_dtype;
  int64_t n, k;
};

template <class T, int M>
__global__ void __launch_bounds__(32 * kWarps) gemv_kernel(GemvArgs a) {
  const int lane = threadIdx.x & 31;
  const int64_t col = int64_t{blockIdx.x} * kWarps + (threadIdx.x >> 5);
  if (col >= a.n) return;
  const T* w = static_cast<const T*>(a.w) + col * a.ldw;
  const T* x = static_cast<const T*>(a.x);
  float acc[M];
#pragma unroll
  for (int m = 0; m < M; ++m) acc[m] = 0.0f;
  constexpr int64_t kStep = 32 * 8 * kUnroll;
  for (int64_t base = int64_t{lane} * 8; base < a.k; base += kStep) {
    uint4 wv[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t kk = base + u * 256;
      // Streamed once: keep it out of L1 so that x's rows stay there.
      wv[u] = kk < a.k ? __ldcs(reinterpret_cast<const uint4*>(w + kk)) : make_uint4(0, 0, 0, 0);
    }
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const int64_t kk = base + u * 256;
      if (kk >= a.k) break;
#pragma unroll
      for (int m = 0; m < M; ++m)
        acc[m] = dot8<T>(wv[u], __ldg(reinterpret_cast<const uint4*>(x + m * a.ldx + kk)), acc[m]);
    }
  }
#pragma unroll
  for (int m = 0; m < M; ++m)
    for (int o = 16; o > 0; o >>= 1) acc[m] += __shfl_xor_sync(0xffffffffu, acc[m], o);
  if (lane != 0) return;
  const float b = a.bias ? load_scalar(a.bias, a.bias_dtype, col) : 0.0f;
#pragma unroll
  for (int m = 0; m < M; ++m) store_scalar(a.out, a.out_dtype, m * a.ldo + col, acc[m] + b);
}

template <class T, int M = 1>
void launch(int64_t m, const GemvArgs& a, cudaStream_t stream) {
  if constexpr (M < kMaxGemvRows) {
    if (m > M) return launch<T, M + 1>(m, a, stream);
  }
  const auto blocks = static_cast<unsigned>((a.n + kWarps - 1) / kWarps);
  gemv_kernel<T, M><<<blocks, 32 * kWarps, 0, stream>>>(a);
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

}  // namespace

bool gemv(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const int64_t m = x.size(0), k = x.size(1), n = weight.size(0);
  const DType dt = x.dtype();
  // 16-byte rows of x and weight: K a multiple of 8 and every row start aligned.
  const auto rows_aligned = [](const Tensor& t) {
    return aligned16(t.data()) && (t.stride(0) * 2) % 16 == 0;
  };
  if (m < 1 || m > kMaxGemvRows || (dt != DType::BF16 && dt != DType::F16) ||
      weight.dtype() != dt || k % 8 != 0 || !rows_aligned(x) || !rows_aligned(weight))
    return false;
  GemvArgs a{x.data(),
             x.stride(0),
             weight.data(),
             weight.stride(0),
             bias.defined() ? bias.data() : nullptr,
             bias.defined() ? bias.dtype() : DType::F32,
             out.mutable_data(),
             out.stride(0),
             out.dtype(),
             n,
             k};
  cudaStream_t stream = use_device(weight.device());
  if (dt == DType::BF16)
    launch<__nv_bfloat16>(m, a, stream);
  else
    launch<__half>(m, a, stream);
  check_launch("matmul (small-batch kernel)");
  return true;
}

}  // namespace pagoda::cuda
