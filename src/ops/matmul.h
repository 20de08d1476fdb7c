// matmul: the product of a linear layer, out = x @ weight^T + bias (torch.nn.functional.linear).
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// out[m, n] = sum_k x[m, k] * weight[n, k] + bias[n], accumulated in f32.
//
//   x       [M, K]  f32, bf16 or f16 (16-bit activations are widened to f32 first)
//   weight  [N, K]  f32, bf16 or f16, in the checkpoint's layout (no pre-packing needed)
//   bias    [N]     f32, bf16 or f16, contiguous; an undefined Tensor() means no bias
//   out     [M, N]  f32, bf16 or f16 (rounded to nearest even from the f32 result)
//
// x, weight and out may have any row stride with contiguous rows (stride 1 along the last
// dimension), e.g. a column slice of a wider tensor; rows must not overlap. out must be writable
// and must not overlap x, weight or bias. All tensors on one device (CPU, or CUDA through
// cuBLASLt). Throws pagoda::Error(InvalidArgument / Unsupported) naming the argument, what was
// expected and what was given.
void matmul(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

// The same without bias.
inline void matmul(const Tensor& x, const Tensor& weight, Tensor& out) {
  matmul(x, weight, Tensor(), out);
}

}  // namespace pagoda::ops
