// Compiled once per ISA (see ops/cpu/isa.h for the rules this file follows).
#include "ops/cpu/kernels/rms_norm.h"

#include "ops/cpu/kernels/vec_math.h"

namespace pagoda::cpu::PAGODA_ISA_NS {

float sum_of_squares(const float* x, int64_t n) {
  // Four independent accumulators: more parallel FMAs, and each sums a quarter of the terms,
  // which also keeps the rounding error of a long row small.
  vf a0 = vset(0.0f), a1 = vset(0.0f), a2 = vset(0.0f), a3 = vset(0.0f);
  int64_t i = 0;
  for (; i + 4 * kLanes <= n; i += 4 * kLanes) {
    const vf v0 = vload(x + i), v1 = vload(x + i + kLanes);
    const vf v2 = vload(x + i + 2 * kLanes), v3 = vload(x + i + 3 * kLanes);
    a0 = vfmadd(v0, v0, a0);
    a1 = vfmadd(v1, v1, a1);
    a2 = vfmadd(v2, v2, a2);
    a3 = vfmadd(v3, v3, a3);
  }
  for (; i + kLanes <= n; i += kLanes) {
    const vf v = vload(x + i);
    a0 = vfmadd(v, v, a0);
  }
  float s = vsum(vadd(vadd(a0, a1), vadd(a2, a3)));
  for (; i < n; ++i) s += x[i] * x[i];
  return s;
}

void scale_and_weight(const float* x, float scale, const float* w, float* out, int64_t n) {
  const vf s = vset(scale);
  int64_t i = 0;
  if (w) {
    for (; i + kLanes <= n; i += kLanes) vstore(out + i, vmul(vmul(vload(x + i), s), vload(w + i)));
    for (; i < n; ++i) out[i] = x[i] * scale * w[i];
  } else {
    for (; i + kLanes <= n; i += kLanes) vstore(out + i, vmul(vload(x + i), s));
    for (; i < n; ++i) out[i] = x[i] * scale;
  }
}

}  // namespace pagoda::cpu::PAGODA_ISA_NS
