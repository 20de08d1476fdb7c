// CPU implementation of ops/activation.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/activation.h"

namespace pagoda::ops::cpu {

void activation(Activation act, const Tensor& x, Tensor& out);
void act_and_mul(Activation act, const Tensor& x, Tensor& out);

}  // namespace pagoda::ops::cpu
