// CPU implementation of ops/elementwise.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/elementwise.h"

namespace pagoda::ops::cpu {

void add(const Tensor& a, const Tensor& b, Tensor& out);
void scale(const Tensor& x, float scale, Tensor& out);

}  // namespace pagoda::ops::cpu
