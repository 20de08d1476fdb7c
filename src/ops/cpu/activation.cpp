#include "ops/cpu/activation.h"

#include "ops/cpu/kernels/activation.h"
#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/error.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

pagoda::cpu::ActKind kernel_kind(Activation act) {
  switch (act) {
    case Activation::Silu:
      return pagoda::cpu::ActKind::Silu;
    case Activation::Gelu:
      return pagoda::cpu::ActKind::GeluErf;
    case Activation::GeluTanh:
      return pagoda::cpu::ActKind::GeluTanh;
    case Activation::Relu:
      return pagoda::cpu::ActKind::Relu;
    case Activation::QuickGelu:
      return pagoda::cpu::ActKind::QuickGelu;
  }
  throw_internal_error("unknown Activation", __FILE__, __LINE__);
}

// Activations cost more per element than a copy (exp, erf): split earlier than row_grain's default.
constexpr int64_t kMinElementsPerChunk = 4096;

}  // namespace

void activation(Activation act, const Tensor& x, Tensor& out) {
  const RowLayout xl(x), ol(out);
  const int64_t n = xl.cols();
  if (xl.rows() == 0 || n == 0) return;
  const DType dtype = x.dtype();
  const int64_t item = static_cast<int64_t>(x.itemsize());
  const auto kind = kernel_kind(act);
  const char* xb = static_cast<const char*>(x.data());
  char* ob = static_cast<char*>(out.mutable_data());
  parallel_for(0, xl.rows(), row_grain(n, kMinElementsPerChunk), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, n);
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = load_f32(xb + xl.offset(r) * item, dtype, n, buf);
      PAGODA_CPU_DISPATCH(activation)(kind, xr, nullptr, buf, n);
      store_f32(buf, ob + ol.offset(r) * item, dtype, n);
    }
  });
}

void act_and_mul(Activation act, const Tensor& x, Tensor& out) {
  const RowLayout xl(x), ol(out);
  const int64_t d = ol.cols();
  if (xl.rows() == 0 || d == 0) return;
  const DType dtype = x.dtype();
  const int64_t item = static_cast<int64_t>(x.itemsize());
  const auto kind = kernel_kind(act);
  const char* xb = static_cast<const char*>(x.data());
  char* ob = static_cast<char*>(out.mutable_data());
  parallel_for(0, xl.rows(), row_grain(2 * d, kMinElementsPerChunk),
               [&](int64_t begin, int64_t end) {
                 float* gate_buf = scratch(0, d);
                 float* up_buf = scratch(1, d);
                 for (int64_t r = begin; r < end; ++r) {
                   const char* row = xb + xl.offset(r) * item;
                   const float* gate = load_f32(row, dtype, d, gate_buf);
                   const float* up = load_f32(row + d * item, dtype, d, up_buf);
                   if (dtype == DType::F32) {
                     PAGODA_CPU_DISPATCH(activation)(kind, gate, up, gate_buf, d);
                   } else {
                     // Hugging Face's act_fn(gate) * up in bf16/f16 rounds act_fn(gate) before the
                     // multiply; vLLM's kernels do the same.
                     PAGODA_CPU_DISPATCH(activation)(kind, gate, nullptr, gate_buf, d);
                     round_to_dtype(gate_buf, dtype, d);
                     for (int64_t i = 0; i < d; ++i) gate_buf[i] *= up[i];
                   }
                   store_f32(gate_buf, ob + ol.offset(r) * item, dtype, d);
                 }
               });
}

}  // namespace pagoda::ops::cpu
