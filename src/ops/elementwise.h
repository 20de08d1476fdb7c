// Small elementwise helpers the models need between the bigger ops: residual adds (parallel
// attention/MLP blocks, post-norm models) and scaling (embedding multipliers, logit scales).
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// out = a + b, computed in f32 and rounded once (a bf16 add in PyTorch).
//   a, b, out: one shape and dtype (f32, bf16 or f16); rows may be strided (each row contiguous).
//   out may be a or b (in place).
void add(const Tensor& a, const Tensor& b, Tensor& out);

// out = x * scale, in f32, rounded once. x and out as for add; out may be x.
void scale(const Tensor& x, double scale, Tensor& out);

}  // namespace pagoda::ops
