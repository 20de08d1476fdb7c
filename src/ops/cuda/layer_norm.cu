// Layer norm on CUDA (ops/layer_norm.h): one block per row, the mean and then the biased variance
// of the row reduced in f32 across the block (two passes, no E[x^2] - E[x]^2 cancellation), then
// (x - mean) * rstd * weight + bias in f32, rounded once. Weight and bias may each be f32, bf16 or
// f16 or absent; their dtype is read per element through a branch every thread takes alike. The
// row is read three times, the later reads from L1/L2. In place is safe: every output element is
// written by the thread that reads it, after both reductions.
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"

namespace pagoda::cuda {
namespace {

// Element i of an optional per-column vector; `none` when absent.
__device__ __forceinline__ float column(const void* p, DType dtype, int64_t i, float none) {
  if (p == nullptr) return none;
  if (dtype == DType::F32) return static_cast<const float*>(p)[i];
  if (dtype == DType::BF16) return to_float(static_cast<const __nv_bfloat16*>(p)[i]);
  return to_float(static_cast<const __half*>(p)[i]);
}

template <class T>
__global__ void layer_norm_kernel(const T* x, RowLayout xl, const void* w, DType wt, int64_t ws,
                                  const void* b, DType bt, int64_t bs, T* out, RowLayout ol,
                                  int64_t h, float eps) {
  const T* xr = x + xl.offset(blockIdx.x);
  T* yr = out + ol.offset(blockIdx.x);
  float sum = 0.0f;
  for (int64_t i = threadIdx.x; i < h; i += blockDim.x) sum += to_float(xr[i]);
  const float mean = block_sum(sum) / static_cast<float>(h);
  float sq = 0.0f;
  for (int64_t i = threadIdx.x; i < h; i += blockDim.x) {
    const float d = to_float(xr[i]) - mean;
    sq += d * d;
  }
  const float rstd = 1.0f / sqrtf(block_sum(sq) / static_cast<float>(h) + eps);
  for (int64_t i = threadIdx.x; i < h; i += blockDim.x) {
    float y = (to_float(xr[i]) - mean) * rstd;
    if (w) y *= column(w, wt, i * ws, 1.0f);
    if (b) y += column(b, bt, i * bs, 0.0f);
    yr[i] = from_float<T>(y);
  }
}

int threads_for(int64_t h) {
  int t = 32;
  while (t < 1024 && t < h) t *= 2;
  return t;
}

}  // namespace

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out) {
  const int64_t h = x.size(x.dim() - 1);
  const int64_t rows = h == 0 ? 0 : x.numel() / h;
  if (rows == 0) return;
  cudaStream_t stream = use_device(x.device());
  const void* w = weight.defined() ? weight.data() : nullptr;
  const void* b = bias.defined() ? bias.data() : nullptr;
  const DType wt = weight.defined() ? weight.dtype() : DType::F32;
  const DType bt = bias.defined() ? bias.dtype() : DType::F32;
  const int64_t ws = weight.defined() ? weight.stride(0) : 0;
  const int64_t bs = bias.defined() ? bias.stride(0) : 0;
  const auto launch = [&](auto t) {
    using T = decltype(t);
    layer_norm_kernel<T><<<static_cast<unsigned>(rows), threads_for(h), 0, stream>>>(
        static_cast<const T*>(x.data()), row_layout(x), w, wt, ws, b, bt, bs,
        static_cast<T*>(out.mutable_data()), row_layout(out), h, eps);
  };
  if (x.dtype() == DType::F32)
    launch(float{});
  else if (x.dtype() == DType::BF16)
    launch(__nv_bfloat16{});
  else
    launch(__half{});
  check_launch("layer_norm");
}

}  // namespace pagoda::cuda
