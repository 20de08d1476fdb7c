// Token embedding lookup.
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// out[t, :] = table[ids[t], :].
//   ids:   [T] i32 or i64 (any stride).
//   table: [V, H] f32, bf16 or f16; rows may be strided (each row contiguous).
//   out:   [T, H] f32, bf16 or f16 (converted when it differs from the table's dtype); rows may be
//          strided.
// An id outside [0, V) throws Error(InvalidArgument) naming the position, the id and V, before
// anything is written. (Masking ids another tensor-parallel rank owns is the vocab-parallel
// embedding layer's job, not this op's.)
void embedding(const Tensor& ids, const Tensor& table, Tensor& out);

}  // namespace pagoda::ops
