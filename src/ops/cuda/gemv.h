// The small-batch matmul kernel behind cuda::matmul (gemv.cu).
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::cuda {

// Rows of x the small-batch kernel takes; larger batches go to cuBLASLt.
inline constexpr int kMaxGemvRows = 8;

// out = x @ weight^T + bias for 1 to kMaxGemvRows rows of x, when x and weight are both bf16 or
// both f16 with 16-byte-aligned rows (K a multiple of 8); bias and out of any float dtype. Returns
// false, queueing nothing, for any other call. Arguments arrive checked by ops::matmul.
bool gemv(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);

}  // namespace pagoda::cuda
