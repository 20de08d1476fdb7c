// argmax over the last dimension on CUDA (ops/argmax.h), one block per row. Each value and its
// index become one 64-bit key that orders exactly as torch.argmax chooses: the value's bits mapped
// to an unsigned order in the high word (every NaN above +inf, -0 equal to +0), the complement of
// the index in the low word (so equal values favour the lower index, and the first NaN wins).
// The answer is then the largest key: a plain max within each thread, a shuffle across the warp,
// shared memory across warps. Rows are read in 16-byte loads, four in flight per thread.
#include <cstdint>
#include <string>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"
#include "ops/cuda/order_key.cuh"
#include "ops/cuda/vector_io.cuh"
#include "pagoda/error.h"

namespace pagoda::cuda {
namespace {

template <class T>
__global__ void argmax_kernel(const T* x, RowLayout xl, int64_t* out, uint32_t n) {
  constexpr int N = 16 / sizeof(T);
  constexpr int kUnroll = 4;
  const T* xr = x + xl.offset(blockIdx.x);
  // Elements before the first 16-byte boundary, then whole packs, then the tail.
  const uint32_t misalign = static_cast<uint32_t>(reinterpret_cast<uintptr_t>(xr) % 16);
  uint32_t head = misalign == 0 ? 0 : (16 - misalign) / sizeof(T);
  // A row start not even aligned to its element size cannot occur; the tail loop covers the rest.
  if (head > n) head = n;
  const uint32_t packs = (n - head) / N;
  const auto* xp = reinterpret_cast<const Pack<T, N>*>(xr + head);
  unsigned long long best = 0;
  for (uint32_t i = threadIdx.x; i < head; i += blockDim.x)
    best = key_max(best, argmax_key(to_float(xr[i]), i));
  uint32_t i = threadIdx.x;
  for (; i + (kUnroll - 1) * blockDim.x < packs; i += kUnroll * blockDim.x) {
    Pack<T, N> p[kUnroll];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) p[u] = xp[i + u * blockDim.x];
#pragma unroll
    for (int u = 0; u < kUnroll; ++u) {
      const uint32_t base = head + (i + u * blockDim.x) * N;
#pragma unroll
      for (int k = 0; k < N; ++k) best = key_max(best, argmax_key(to_float(p[u].v[k]), base + k));
    }
  }
  for (; i < packs; i += blockDim.x) {
    const Pack<T, N> p = xp[i];
    const uint32_t base = head + i * N;
#pragma unroll
    for (int k = 0; k < N; ++k) best = key_max(best, argmax_key(to_float(p.v[k]), base + k));
  }
  for (uint32_t j = head + packs * N + threadIdx.x; j < n; j += blockDim.x)
    best = key_max(best, argmax_key(to_float(xr[j]), j));

  for (int offset = 16; offset > 0; offset >>= 1)
    best = key_max(best, __shfl_xor_sync(0xffffffffu, best, offset));
  __shared__ unsigned long long partial[32];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  if (lane == 0) partial[warp] = best;
  __syncthreads();
  if (warp == 0) {
    best = lane < static_cast<int>(blockDim.x >> 5) ? partial[lane] : 0;
    for (int offset = 16; offset > 0; offset >>= 1)
      best = key_max(best, __shfl_xor_sync(0xffffffffu, best, offset));
    if (lane == 0) out[blockIdx.x] = static_cast<int64_t>(index_of_argmax_key(best));
  }
}

}  // namespace

void argmax(const Tensor& x, Tensor& out) {
  const int64_t n = x.size(x.dim() - 1);
  const int64_t rows = x.numel() / n;
  if (rows == 0) return;
  PAGODA_CHECK(n < (int64_t{1} << 32) - 1, Unsupported,
               "argmax: rows of " + std::to_string(n) +
                   " values; the CUDA kernel takes fewer "
                   "than 2^32 - 1",
               "split the last dimension, or run argmax on the CPU");
  cudaStream_t stream = use_device(x.device());
  const auto launch = [&](auto t) {
    using T = decltype(t);
    constexpr int64_t per_thread = 16 / sizeof(T);
    int threads = 32;
    while (threads < 1024 && threads * per_thread < n) threads *= 2;
    argmax_kernel<T><<<static_cast<unsigned>(rows), threads, 0, stream>>>(
        static_cast<const T*>(x.data()), row_layout(x), out.mutable_data_as<int64_t>(),
        static_cast<uint32_t>(n));
  };
  if (x.dtype() == DType::F32)
    launch(float{});
  else if (x.dtype() == DType::BF16)
    launch(__nv_bfloat16{});
  else
    launch(__half{});
  check_launch("argmax");
}

}  // namespace pagoda::cuda
