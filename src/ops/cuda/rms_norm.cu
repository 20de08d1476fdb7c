// RMS norm and vLLM's fused residual-add + RMS norm on CUDA: one block per row, the mean of
// squares reduced in f32 across the block, the rounding points of the CPU op (ops/rms_norm.h).
// Bytes: one read of x (and residual) and one write per element; far below compute, so the
// time is the memory traffic.
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"
#include "pagoda/error.h"

namespace pagoda::cuda {
namespace {

int threads_for(int64_t hidden) {
  int t = 32;
  while (t < 1024 && t < hidden) t *= 2;
  return t;
}

template <class T, class W>
__device__ __forceinline__ float scale(float v, float r, const W* w, int64_t i, bool one_plus) {
  if (one_plus) return v * r * (1.0f + (w ? to_float(w[i]) : 0.0f));
  const float n = round_to<T>(v * r);
  return w ? n * to_float(w[i]) : n;
}

template <class T, class W>
__global__ void rms_norm_kernel(const T* x, RowLayout xl, const W* w, T* out, RowLayout ol,
                                int64_t hidden, float eps, bool one_plus) {
  const T* xr = x + xl.offset(blockIdx.x);
  T* yr = out + ol.offset(blockIdx.x);
  float ss = 0;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    const float v = to_float(xr[i]);
    ss += v * v;
  }
  ss = block_sum(ss);
  const float r = 1.0f / sqrtf(ss / static_cast<float>(hidden) + eps);
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
    yr[i] = from_float<T>(scale<T>(to_float(xr[i]), r, w, i, one_plus));
}

// residual = round(x + residual); x = rms_norm(residual). Each thread rereads only the elements
// it wrote itself, so no barrier is needed between the two passes beyond the reduction's.
template <class T, class W>
__global__ void fused_add_rms_norm_kernel(T* x, RowLayout xl, T* residual, RowLayout rl,
                                          const W* w, int64_t hidden, float eps, bool one_plus) {
  T* xr = x + xl.offset(blockIdx.x);
  T* rr = residual + rl.offset(blockIdx.x);
  float ss = 0;
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x) {
    const T sum = from_float<T>(to_float(xr[i]) + to_float(rr[i]));
    rr[i] = sum;
    const float v = to_float(sum);
    ss += v * v;
  }
  ss = block_sum(ss);
  const float r = 1.0f / sqrtf(ss / static_cast<float>(hidden) + eps);
  for (int64_t i = threadIdx.x; i < hidden; i += blockDim.x)
    xr[i] = from_float<T>(scale<T>(to_float(rr[i]), r, w, i, one_plus));
}

// Calls fn(T{}, W{}) with the element types of x and weight (W = float when there is none).
template <class Fn>
void dispatch(DType x, const Tensor& weight, Fn&& fn) {
  const auto with_weight = [&](auto t) {
    if (!weight.defined() || weight.dtype() == DType::F32) return fn(t, float{});
    if (weight.dtype() == DType::BF16) return fn(t, __nv_bfloat16{});
    return fn(t, __half{});
  };
  if (x == DType::F32) return with_weight(float{});
  if (x == DType::BF16) return with_weight(__nv_bfloat16{});
  return with_weight(__half{});
}

}  // namespace

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out,
              ops::RmsNormWeight form) {
  const int64_t hidden = x.size(x.dim() - 1);
  const int64_t rows = hidden == 0 ? 0 : x.numel() / hidden;
  if (rows == 0) return;
  cudaStream_t stream = use_device(x.device());
  dispatch(x.dtype(), weight, [&](auto t, auto wt) {
    using T = decltype(t);
    using W = decltype(wt);
    rms_norm_kernel<T, W><<<static_cast<unsigned>(rows), threads_for(hidden), 0, stream>>>(
        static_cast<const T*>(x.data()), row_layout(x),
        weight.defined() ? static_cast<const W*>(weight.data()) : nullptr,
        static_cast<T*>(out.mutable_data()), row_layout(out), hidden, eps,
        form == ops::RmsNormWeight::OnePlus);
  });
  check_launch("rms_norm");
}

void fused_add_rms_norm(Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                        ops::RmsNormWeight form) {
  const int64_t hidden = x.size(x.dim() - 1);
  const int64_t rows = hidden == 0 ? 0 : x.numel() / hidden;
  if (rows == 0) return;
  cudaStream_t stream = use_device(x.device());
  dispatch(x.dtype(), weight, [&](auto t, auto wt) {
    using T = decltype(t);
    using W = decltype(wt);
    fused_add_rms_norm_kernel<T, W><<<static_cast<unsigned>(rows), threads_for(hidden), 0,
                                      stream>>>(
        static_cast<T*>(x.mutable_data()), row_layout(x), static_cast<T*>(residual.mutable_data()),
        row_layout(residual), weight.defined() ? static_cast<const W*>(weight.data()) : nullptr,
        hidden, eps, form == ops::RmsNormWeight::OnePlus);
  });
  check_launch("fused_add_rms_norm");
}

}  // namespace pagoda::cuda
