// Softmax over the last dimension.
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// out[..., i] = exp(x[..., i] - max) / sum_j exp(x[..., j] - max), computed in f32.
//   x:   [..., n] f32, bf16 or f16, n >= 1; rows may be strided (each row contiguous).
//   out: f32, x's shape, same row rules; may be x itself when x is f32.
// A row holding NaN or +inf comes out all NaN, as in PyTorch.
void softmax(const Tensor& x, Tensor& out);

}  // namespace pagoda::ops
