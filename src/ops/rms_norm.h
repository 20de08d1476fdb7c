// RMS normalisation over the last dimension (Llama, Mistral, Qwen, Gemma, ...), and vLLM's fused
// residual-add + RMS norm.
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// How the weight enters an RMS norm.
enum class RmsNormWeight {
  // y = round(x * r) * w with r = 1 / sqrt(mean(x^2) + eps): the normalised value is rounded to
  // the activation dtype before the weight multiply, as Hugging Face's LlamaRMSNorm and vLLM's
  // RMSNorm kernel do (for f32 this is just x * r * w).
  Plain,
  // y = x * r * (1 + w), in f32 with one rounding at the end: Gemma's RMSNorm (vLLM GemmaRMSNorm),
  // whose checkpoints store w - 1.
  OnePlus,
};

// out = rms_norm(x) * weight over the last dimension.
//   x:      [..., H] f32, bf16 or f16; rows may be strided (e.g. [T, heads, head_size] views of a
//           fused qkv buffer for q/k norms) as long as each row is contiguous.
//   weight: [H] f32, bf16 or f16, or an undefined Tensor for no weight (y = x * r).
//   out:    the shape and dtype of x, same row rules; may be x itself (in place).
// The mean of squares and the scaling are computed in f32.
void rms_norm(const Tensor& x, const Tensor& weight, double eps, Tensor& out,
              RmsNormWeight form = RmsNormWeight::Plain);

// vLLM's fused_add_rms_norm, in place:
//   residual = x + residual   (rounded to the activation dtype, as Hugging Face's bf16 add is)
//   x        = rms_norm(residual) * weight
// x and residual: the same shape and dtype, rows as for rms_norm; weight as for rms_norm.
void fused_add_rms_norm(Tensor& x, Tensor& residual, const Tensor& weight, double eps,
                        RmsNormWeight form = RmsNormWeight::Plain);

}  // namespace pagoda::ops
