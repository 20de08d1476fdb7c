// CPU implementation of ops/rotary.h. Shapes and dtypes are validated by the device-agnostic
// entry; the positions' range is checked here, where their values can be read.
#pragma once

#include "ops/rotary.h"

namespace pagoda::ops::cpu {

void apply_rotary(const Tensor& positions, Tensor& query, Tensor& key, const Tensor& cos_sin_cache,
                  int64_t head_size, bool is_neox);

}  // namespace pagoda::ops::cpu
