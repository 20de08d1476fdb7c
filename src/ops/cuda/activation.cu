// Activations on CUDA, elementwise and gated (vLLM's SiluAndMul / GeluAndMul), with the CPU op's
// rounding (ops/activation.h): computed in f32, act(x) rounded to the activation dtype before the
// gated multiply. Memory-bound: one read and one write per element (1.5 reads for gated).
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"

namespace pagoda::cuda {
namespace {

using ops::Activation;

__device__ __forceinline__ float apply(Activation act, float x) {
  switch (act) {
    case Activation::Silu:
      return x / (1.0f + expf(-x));
    case Activation::Gelu:
      return 0.5f * x * (1.0f + erff(x * 0.70710678118654752f));
    case Activation::GeluTanh: {
      const float inner = 0.79788456080286536f * (x + 0.044715f * x * x * x);
      return 0.5f * x * (1.0f + tanhf(inner));
    }
    case Activation::Relu:
      return x > 0.0f ? x : 0.0f;
    case Activation::QuickGelu:
      return x / (1.0f + expf(-1.702f * x));
  }
  return x;
}

// One block row-group: blockIdx.y is the row, x-threads stride over the columns.
template <class T>
__global__ void activation_kernel(Activation act, const T* x, RowLayout xl, T* out, RowLayout ol,
                                  int64_t n) {
  const T* xr = x + xl.offset(blockIdx.y);
  T* yr = out + ol.offset(blockIdx.y);
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < n; i += gridDim.x * blockDim.x)
    yr[i] = from_float<T>(apply(act, to_float(xr[i])));
}

template <class T>
__global__ void act_and_mul_kernel(Activation act, const T* x, RowLayout xl, T* out, RowLayout ol,
                                   int64_t d) {
  const T* xr = x + xl.offset(blockIdx.y);
  T* yr = out + ol.offset(blockIdx.y);
  for (int64_t i = blockIdx.x * blockDim.x + threadIdx.x; i < d; i += gridDim.x * blockDim.x)
    yr[i] = from_float<T>(round_to<T>(apply(act, to_float(xr[i]))) * to_float(xr[d + i]));
}

template <class Fn>
void dispatch(DType dtype, Fn&& fn) {
  if (dtype == DType::F32) return fn(float{});
  if (dtype == DType::BF16) return fn(__nv_bfloat16{});
  return fn(__half{});
}

dim3 grid_for(int64_t rows, int64_t columns, int threads) {
  const int64_t blocks = (columns + threads - 1) / threads;
  return dim3(static_cast<unsigned>(blocks < 64 ? blocks : 64), static_cast<unsigned>(rows));
}

}  // namespace

void activation(ops::Activation act, const Tensor& x, Tensor& out) {
  const int64_t n = x.size(x.dim() - 1);
  const int64_t rows = n == 0 ? 0 : x.numel() / n;
  if (rows == 0) return;
  cudaStream_t stream = use_device(x.device());
  constexpr int kThreads = 256;
  dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    activation_kernel<T><<<grid_for(rows, n, kThreads), kThreads, 0, stream>>>(
        act, static_cast<const T*>(x.data()), row_layout(x), static_cast<T*>(out.mutable_data()),
        row_layout(out), n);
  });
  check_launch("activation");
}

void act_and_mul(ops::Activation act, const Tensor& x, Tensor& out) {
  const int64_t d = out.size(out.dim() - 1);
  const int64_t rows = d == 0 ? 0 : out.numel() / d;
  if (rows == 0) return;
  cudaStream_t stream = use_device(x.device());
  constexpr int kThreads = 256;
  dispatch(x.dtype(), [&](auto t) {
    using T = decltype(t);
    act_and_mul_kernel<T><<<grid_for(rows, d, kThreads), kThreads, 0, stream>>>(
        act, static_cast<const T*>(x.data()), row_layout(x), static_cast<T*>(out.mutable_data()),
        row_layout(out), d);
  });
  check_launch("act_and_mul");
}

}  // namespace pagoda::cuda
