// CPU implementation of ops/softmax.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/softmax.h"

namespace pagoda::ops::cpu {

void softmax(const Tensor& x, Tensor& out);

}  // namespace pagoda::ops::cpu
