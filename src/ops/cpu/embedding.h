// CPU implementation of ops/embedding.h. Shapes and dtypes are validated by the device-agnostic
// entry; the ids' range is checked here, where their values can be read.
#pragma once

#include "ops/embedding.h"

namespace pagoda::ops::cpu {

void embedding(const Tensor& ids, const Tensor& table, Tensor& out);

}  // namespace pagoda::ops::cpu
