// CPU implementation of ops/argmax.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/argmax.h"

namespace pagoda::ops::cpu {

void argmax(const Tensor& x, Tensor& out);

}  // namespace pagoda::ops::cpu
