// Moving rows of activations between their storage dtype (f32, bf16, f16) and the f32 the CPU
// kernels compute in, with the vectorised conversions of kernels/convert.h.
#pragma once

#include <cstdint>

#include "pagoda/dtype.h"

namespace pagoda::ops::cpu {

// A per-thread f32 buffer of at least n floats. `slot` (0..3) tells apart buffers one op uses at
// the same time. It grows to the largest row seen and is then reused, so steady-state calls do not
// allocate. The pointer stays valid until the same thread asks for the same slot again.
float* scratch(int slot, int64_t n);

// n elements of src (f32, bf16 or f16) as f32: src itself for f32, else converted into buf.
const float* load_f32(const void* src, DType dtype, int64_t n, float* buf);

// Writes n f32 values into dst as dtype (f32, bf16 or f16), rounding to nearest even.
void store_f32(const float* src, void* dst, DType dtype, int64_t n);

// Rounds x in place to the precision of dtype (a no-op for f32): the value a store to dtype and a
// load back would give. Used where Hugging Face rounds an intermediate to the activation dtype.
void round_to_dtype(float* x, DType dtype, int64_t n);

// A weight or bias vector (f32, bf16 or f16) as f32 in `slot`'s scratch, or the tensor memory
// itself when already f32. Call it on the calling thread, before parallel_for.
const float* weights_f32(const void* src, DType dtype, int64_t n, int slot);

// Rows per parallel_for chunk so that one chunk does at least ~`min_elements` elements of work:
// small ops stay on one thread, large ones split by rows.
int64_t row_grain(int64_t cols, int64_t min_elements = 16384);

}  // namespace pagoda::ops::cpu
