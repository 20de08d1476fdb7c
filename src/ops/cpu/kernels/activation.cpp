// Compiled once per ISA (see ops/cpu/isa.h for the rules this file follows).
#include "ops/cpu/kernels/activation.h"

#include "ops/cpu/kernels/vec_math.h"

namespace pagoda::cpu::PAGODA_ISA_NS {
namespace {

// 0.5 (1 + tanh(z)) == sigmoid(2 z), so gelu_tanh(x) = x * sigmoid(x (c0 + c1 x^2)) with
// c0 = 2 sqrt(2/pi) and c1 = c0 * 0.044715. One exp instead of a tanh.
constexpr float kGeluTanhC0 = 1.5957691216057308f;
constexpr float kGeluTanhC1 = 0.0713548162726008f;
constexpr float kInvSqrt2 = 0.70710678118654752f;
constexpr float kQuickGelu = 1.702f;

struct Silu {
  static vf vec(vf x) { return vmul(x, vsigmoid(x)); }
  static float one(float x) { return x * ssigmoid(x); }
};
struct GeluErf {
  // 1 + erf through erfc, which stays accurate where the result is tiny (x << 0).
  static vf vec(vf x) { return vmul(vmul(vset(0.5f), x), vone_plus_erf(vmul(x, vset(kInvSqrt2)))); }
  static float one(float x) { return 0.5f * x * sone_plus_erf(x * kInvSqrt2); }
};
struct GeluTanh {
  static vf vec(vf x) {
    const vf z = vmul(x, vfmadd(vset(kGeluTanhC1), vmul(x, x), vset(kGeluTanhC0)));
    return vmul(x, vsigmoid(z));
  }
  static float one(float x) { return x * ssigmoid(x * (kGeluTanhC0 + kGeluTanhC1 * x * x)); }
};
struct QuickGelu {
  static vf vec(vf x) { return vmul(x, vsigmoid(vmul(x, vset(kQuickGelu)))); }
  static float one(float x) { return x * ssigmoid(kQuickGelu * x); }
};
struct Relu {
  static vf vec(vf x) { return vrelu(x); }
  static float one(float x) { return x < 0.0f ? 0.0f : x; }
};

template <typename Act>
void apply(const float* x, const float* mul, float* out, int64_t n) {
  int64_t i = 0;
  if (mul) {
    for (; i + kLanes <= n; i += kLanes)
      vstore(out + i, vmul(Act::vec(vload(x + i)), vload(mul + i)));
    for (; i < n; ++i) out[i] = Act::one(x[i]) * mul[i];
  } else {
    for (; i + kLanes <= n; i += kLanes) vstore(out + i, Act::vec(vload(x + i)));
    for (; i < n; ++i) out[i] = Act::one(x[i]);
  }
}

}  // namespace

void activation(ActKind kind, const float* x, const float* mul, float* out, int64_t n) {
  switch (kind) {
    case ActKind::Silu:
      apply<Silu>(x, mul, out, n);
      return;
    case ActKind::GeluErf:
      apply<GeluErf>(x, mul, out, n);
      return;
    case ActKind::GeluTanh:
      apply<GeluTanh>(x, mul, out, n);
      return;
    case ActKind::QuickGelu:
      apply<QuickGelu>(x, mul, out, n);
      return;
    case ActKind::Relu:
      apply<Relu>(x, mul, out, n);
      return;
  }
}

}  // namespace pagoda::cpu::PAGODA_ISA_NS
