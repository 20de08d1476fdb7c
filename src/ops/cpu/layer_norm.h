// CPU implementation of ops/layer_norm.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/layer_norm.h"

namespace pagoda::ops::cpu {

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out);

}  // namespace pagoda::ops::cpu
