#include "ops/cpu/rms_norm.h"

#include <cmath>

#include "ops/cpu/kernels/rms_norm.h"
#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

// Scratch slots: rows use 0 and 1 (on every thread), the weight 2 (on the calling thread only).
constexpr int kWeightSlot = 2;

// The weight as the f32 factor each normalised value is multiplied by: w, 1 + w, or none (null).
const float* weight_factor(const Tensor& weight, int64_t h, RmsNormWeight form) {
  if (!weight.defined()) return nullptr;
  if (form == RmsNormWeight::Plain)
    return weights_f32(weight.data(), weight.dtype(), h, kWeightSlot);
  float* w = scratch(kWeightSlot, h);
  const float* src = load_f32(weight.data(), weight.dtype(), h, w);
  for (int64_t i = 0; i < h; ++i) w[i] = 1.0f + src[i];
  return w;
}

// Normalises one f32 row x into buf (which may be x) as `dtype` would hold it, then stores it.
void normalize_row(const float* x, const float* w, float eps, RmsNormWeight form, DType dtype,
                   int64_t h, float* buf, void* dst) {
  const float mean_square = PAGODA_CPU_DISPATCH(sum_of_squares)(x, h) / static_cast<float>(h);
  const float r = 1.0f / std::sqrt(mean_square + eps);
  if (form == RmsNormWeight::Plain && w && dtype != DType::F32) {
    // Hugging Face: weight * hidden.to(input_dtype): round x * r first, then multiply.
    PAGODA_CPU_DISPATCH(scale_and_weight)(x, r, nullptr, buf, h);
    round_to_dtype(buf, dtype, h);
    PAGODA_CPU_DISPATCH(scale_and_weight)(buf, 1.0f, w, buf, h);
  } else {
    PAGODA_CPU_DISPATCH(scale_and_weight)(x, r, w, buf, h);
  }
  store_f32(buf, dst, dtype, h);
}

}  // namespace

void rms_norm(const Tensor& x, const Tensor& weight, float eps, Tensor& out, RmsNormWeight form) {
  const RowLayout xl(x), ol(out);
  const int64_t h = xl.cols();
  if (xl.rows() == 0 || h == 0) return;
  const DType dtype = x.dtype();
  const size_t item = x.itemsize();
  const float* w = weight_factor(weight, h, form);
  const char* xb = static_cast<const char*>(x.data());
  char* ob = static_cast<char*>(out.mutable_data());
  parallel_for(0, xl.rows(), row_grain(h), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, h);
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = load_f32(xb + xl.offset(r) * static_cast<int64_t>(item), dtype, h, buf);
      normalize_row(xr, w, eps, form, dtype, h, buf,
                    ob + ol.offset(r) * static_cast<int64_t>(item));
    }
  });
}

void fused_add_rms_norm(Tensor& x, Tensor& residual, const Tensor& weight, float eps,
                        RmsNormWeight form) {
  const RowLayout xl(x), rl(residual);
  const int64_t h = xl.cols();
  if (xl.rows() == 0 || h == 0) return;
  const DType dtype = x.dtype();
  const int64_t item = static_cast<int64_t>(x.itemsize());
  const float* w = weight_factor(weight, h, form);
  char* xb = static_cast<char*>(x.mutable_data());
  char* rb = static_cast<char*>(residual.mutable_data());
  parallel_for(0, xl.rows(), row_grain(h), [&](int64_t begin, int64_t end) {
    float* sum = scratch(0, h);
    float* tmp = scratch(1, h);
    for (int64_t r = begin; r < end; ++r) {
      char* xr = xb + xl.offset(r) * item;
      char* rr = rb + rl.offset(r) * item;
      const float* a = load_f32(xr, dtype, h, sum);
      const float* b = load_f32(rr, dtype, h, tmp);
      for (int64_t i = 0; i < h; ++i) sum[i] = a[i] + b[i];
      // The norm reads the residual as stored, i.e. rounded to the activation dtype.
      round_to_dtype(sum, dtype, h);
      store_f32(sum, rr, dtype, h);
      normalize_row(sum, w, eps, form, dtype, h, tmp, xr);
    }
  });
}

}  // namespace pagoda::ops::cpu
