// Index of the largest value over the last dimension (greedy sampling).
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// out[...] = the index of the largest x[..., i], as torch.argmax(x, dim=-1): ties go to the lowest
// index, and a NaN counts as the largest value (the first NaN wins).
//   x:   [..., n] f32, bf16 or f16, n >= 1; rows may be strided (each row contiguous).
//   out: i64, x's shape without the last dimension, contiguous.
void argmax(const Tensor& x, Tensor& out);

}  // namespace pagoda::ops
