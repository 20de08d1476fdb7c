// Range checks of index tensors (token ids, positions) that live on the GPU, for ops whose
// contract is "an index out of range throws before anything is written".
#pragma once

#include <cstdint>

#include "pagoda/tensor.h"

namespace pagoda::cuda {

struct OutOfRange {
  int64_t position = -1;  // the first offending element, -1 when all are in range
  int64_t value = 0;      // its value
};

// Scans a [T] i32 or i64 tensor (any stride) on its device for values outside [0, bound) and
// returns the first one; nothing, without looking, when the caller vouches for its indices
// (ops::detail::ScopedTrustedIndices). Waits for the device: the caller throws on the host before launching
// anything that writes, which is the only way to keep "nothing written" on an error.
OutOfRange first_out_of_range(const Tensor& indices, int64_t bound);

}  // namespace pagoda::cuda
