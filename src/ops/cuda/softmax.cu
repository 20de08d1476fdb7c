// Softmax over the last dimension on CUDA (ops/softmax.h), f32 out: one block per row. One read
// of the row keeps a running (max, sum of exp(x - max)) per thread, merged across the block; a
// second read writes exp(x - max) * (1 / sum), the CPU kernel's formula. A row holding NaN or
// +inf, or only -inf, comes out all NaN, as on the CPU. Loads and stores are 16 bytes wide when
// the row and the output row both start on a 16-byte boundary.
#include <cfloat>
#include <cmath>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"
#include "ops/cuda/vector_io.cuh"

namespace pagoda::cuda {
namespace {

// The running state of one thread: m the largest value seen (NaN once a NaN is seen), s the sum of
// exp(v - m) over the values seen. -inf values are skipped: they add exp(-inf - max) = 0 unless the
// whole row is -inf, which leaves s = 0 and comes out NaN at the end, as on the CPU.
struct MaxSum {
  float m = -INFINITY;
  float s = 0.0f;

  __device__ __forceinline__ void add(float v) {
    if (v == -INFINITY) return;
    if (v > m) {
      // A new maximum: rescale the sum. +inf makes the sum NaN (inf - inf), as the CPU's sum is.
      s = v == INFINITY ? NAN : s * expf(m - v) + 1.0f;
      m = v;
    } else if (v != v) {
      m = v;
      s = v;
    } else {
      s += expf(v - m);  // NaN stays NaN when m is NaN
    }
  }

  __device__ __forceinline__ void merge(float m2, float s2) {
    if (s2 == 0.0f) return;  // the other side saw nothing but -inf
    if (s == 0.0f) {
      m = m2;
      s = s2;
      return;
    }
    const float big = (m2 > m || m2 != m2) ? m2 : m;
    s = s * expf(m - big) + s2 * expf(m2 - big);
    m = big;
  }
};

__device__ __forceinline__ MaxSum block_max_sum(MaxSum st) {
  __shared__ float ms[32], ss[32];
  for (int offset = 16; offset > 0; offset >>= 1) {
    const float m2 = __shfl_xor_sync(0xffffffffu, st.m, offset);
    const float s2 = __shfl_xor_sync(0xffffffffu, st.s, offset);
    st.merge(m2, s2);
  }
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) {
    ms[warp] = st.m;
    ss[warp] = st.s;
  }
  __syncthreads();
  MaxSum total;
  const int warps = blockDim.x >> 5;
  for (int w = 0; w < warps; ++w) total.merge(ms[w], ss[w]);  // same order in every thread
  return total;
}

template <class T>
__global__ void softmax_kernel(const T* x, RowLayout xl, float* out, RowLayout ol, int64_t n) {
  constexpr int N = 16 / sizeof(T);
  const T* xr = x + xl.offset(blockIdx.x);
  float* yr = out + ol.offset(blockIdx.x);
  const bool vec =
      reinterpret_cast<uintptr_t>(xr) % 16 == 0 && reinterpret_cast<uintptr_t>(yr) % 16 == 0;
  const int64_t packs = vec ? n / N : 0;
  const auto* xp = reinterpret_cast<const Pack<T, N>*>(xr);
  MaxSum st;
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    const Pack<T, N> p = xp[i];
#pragma unroll
    for (int k = 0; k < N; ++k) st.add(to_float(p.v[k]));
  }
  for (int64_t i = packs * N + threadIdx.x; i < n; i += blockDim.x) st.add(to_float(xr[i]));
  const MaxSum total = block_max_sum(st);
  const float m = total.m, inv = 1.0f / total.s;
  // In place (f32): every element is read and written by one thread, after the reduction.
  for (int64_t i = threadIdx.x; i < packs; i += blockDim.x) {
    const Pack<T, N> p = xp[i];
#pragma unroll
    for (int k = 0; k < N; k += 4) {
      Pack<float, 4> o;
#pragma unroll
      for (int j = 0; j < 4; ++j) o.v[j] = expf(to_float(p.v[k + j]) - m) * inv;
      reinterpret_cast<Pack<float, 4>*>(yr)[i * (N / 4) + k / 4] = o;
    }
  }
  for (int64_t i = packs * N + threadIdx.x; i < n; i += blockDim.x)
    yr[i] = expf(to_float(xr[i]) - m) * inv;
}

int threads_for(int64_t n, int per_thread) {
  int t = 32;
  while (t < 1024 && static_cast<int64_t>(t) * per_thread < n) t *= 2;
  return t;
}

}  // namespace

void softmax(const Tensor& x, Tensor& out) {
  const int64_t n = x.size(x.dim() - 1);
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  if (rows == 0) return;
  cudaStream_t stream = use_device(x.device());
  const auto launch = [&](auto t) {
    using T = decltype(t);
    softmax_kernel<T><<<static_cast<unsigned>(rows), threads_for(n, 16 / sizeof(T)), 0, stream>>>(
        static_cast<const T*>(x.data()), row_layout(x), out.mutable_data_as<float>(),
        row_layout(out), n);
  };
  if (x.dtype() == DType::F32)
    launch(float{});
  else if (x.dtype() == DType::BF16)
    launch(__nv_bfloat16{});
  else
    launch(__half{});
  check_launch("softmax");
}

}  // namespace pagoda::cuda
