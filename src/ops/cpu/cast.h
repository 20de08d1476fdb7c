// CPU implementation of ops/cast.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/cast.h"

namespace pagoda::ops::cpu {

void cast(const Tensor& src, Tensor& out);

}  // namespace pagoda::ops::cpu
