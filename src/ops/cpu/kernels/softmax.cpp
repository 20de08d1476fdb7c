// Compiled once per ISA (see ops/cpu/isa.h for the rules this file follows).
#include "ops/cpu/kernels/softmax.h"

#include "ops/cpu/kernels/vec_math.h"

namespace pagoda::cpu::PAGODA_ISA_NS {

void softmax(const float* x, float* out, int64_t n) {
  // Pass 1: the maximum, subtracted so exp never overflows.
  int64_t i = 0;
  float m = x[0];
  if (n >= kLanes) {
    vf vm = vload(x);
    for (i = kLanes; i + kLanes <= n; i += kLanes) vm = vmax(vm, vload(x + i));
    m = vhmax(vm);
  }
  for (; i < n; ++i) m = smax(m, x[i]);

  // Pass 2: e = exp(x - max) into out, and their sum (two accumulators).
  const vf vmx = vset(m);
  vf s0 = vset(0.0f), s1 = vset(0.0f);
  i = 0;
  for (; i + 2 * kLanes <= n; i += 2 * kLanes) {
    const vf e0 = vexp(vsub(vload(x + i), vmx));
    const vf e1 = vexp(vsub(vload(x + i + kLanes), vmx));
    vstore(out + i, e0);
    vstore(out + i + kLanes, e1);
    s0 = vadd(s0, e0);
    s1 = vadd(s1, e1);
  }
  for (; i + kLanes <= n; i += kLanes) {
    const vf e = vexp(vsub(vload(x + i), vmx));
    vstore(out + i, e);
    s0 = vadd(s0, e);
  }
  float sum = vsum(vadd(s0, s1));
  for (; i < n; ++i) {
    out[i] = sexp(x[i] - m);
    sum += out[i];
  }

  // Pass 3: normalise.
  const float inv = 1.0f / sum;
  const vf vinv = vset(inv);
  i = 0;
  for (; i + kLanes <= n; i += kLanes) vstore(out + i, vmul(vload(out + i), vinv));
  for (; i < n; ++i) out[i] *= inv;
}

}  // namespace pagoda::cpu::PAGODA_ISA_NS
