// Layer normalisation over the last dimension (GPT-NeoX, Phi, StableLM, Falcon, OPT, ...).
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// out = (x - mean) / sqrt(var + eps) * weight + bias over the last dimension, with the biased
// variance, computed in f32 and rounded once (torch.nn.LayerNorm).
//   x:      [..., H] f32, bf16 or f16; rows may be strided (each row contiguous).
//   weight: [H] f32, bf16 or f16, or undefined for none (elementwise_affine=False).
//   bias:   [H] f32, bf16 or f16, or undefined for none.
//   out:    x's shape and dtype, same row rules; may be x itself.
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps, Tensor& out);

}  // namespace pagoda::ops
