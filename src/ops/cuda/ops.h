// The CUDA implementations behind src/ops/*.h. Arguments arrive checked by the op front ends
// (shapes, dtypes, one common CUDA device); these queue kernels on the device's stream.
#pragma once

#include <cstdint>

#include "ops/activation.h"
#include "ops/rms_norm.h"
#include "ops/sample_tokens.h"
#include "pagoda/tensor.h"

namespace pagoda::cuda {

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out,
              ops::RmsNormWeight form);
void fused_add_rms_norm(Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                        ops::RmsNormWeight form);
void activation(ops::Activation act, const Tensor& x, Tensor& out);
void act_and_mul(ops::Activation act, const Tensor& x, Tensor& out);
// out = x @ weight^T + bias through cuBLASLt (matmul.cu); bias may be undefined.
void matmul(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out);
// Throws Error(InvalidArgument) for an id outside the table before writing anything.
void embedding(const Tensor& ids, const Tensor& table, Tensor& out);
// key may be undefined; throws for a position outside the cache before rotating anything.
void apply_rotary(const Tensor& positions, Tensor& query, Tensor& key, const Tensor& cos_sin_cache,
                  int64_t head_size, bool is_neox);

// Float dtype conversion (cast.cu); the same dtype copies.
void cast(const Tensor& src, Tensor& out);
// out = a + b and out = x * factor, in f32 rounded once (elementwise.cu); in place allowed.
void add(const Tensor& a, const Tensor& b, Tensor& out);
void scale(const Tensor& x, float factor, Tensor& out);
// f32 softmax over the last dimension (softmax.cu); out may be x when x is f32.
void softmax(const Tensor& x, Tensor& out);
// i64 index of the largest value per row, torch.argmax's ties and NaN rule (argmax.cu).
void argmax(const Tensor& x, Tensor& out);
// weight and bias may be undefined; out may be x (layer_norm.cu).
void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out);
// One token per row of f32 logits, modified in place (sample_tokens.cu).
void sample_tokens(Tensor& logits, std::span<const ops::SampleRowParams> rows,
                   std::span<const ops::LogitEdit> edits, Tensor& out);

}  // namespace pagoda::cuda
