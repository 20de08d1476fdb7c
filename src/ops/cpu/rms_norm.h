// CPU implementation of ops/rms_norm.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/rms_norm.h"

namespace pagoda::ops::cpu {

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out, RmsNormWeight form);
void fused_add_rms_norm(Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                        RmsNormWeight form);

}  // namespace pagoda::ops::cpu
