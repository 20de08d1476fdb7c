#include "ops/cpu/layer_norm.h"

#include <cmath>

#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

// Scratch slots: the row uses 0 (every thread); weight and bias 2 and 3 (the calling thread).
const float* optional_f32(const Tensor& t, int64_t n, int slot) {
  return t.defined() ? weights_f32(t.data(), t.dtype(), n, slot) : nullptr;
}

// Mean and variance in two passes over the row (no E[x^2] - E[x]^2 cancellation), with double
// accumulators: portable code, and exact enough for any row length.
void normalize_row(const float* x, const float* w, const float* b, float eps, int64_t h,
                   float* out) {
  double sum = 0;
  for (int64_t i = 0; i < h; ++i) sum += x[i];
  const float mean = static_cast<float>(sum / static_cast<double>(h));
  double sq = 0;
  for (int64_t i = 0; i < h; ++i) {
    const double d = x[i] - mean;
    sq += d * d;
  }
  const float rstd = 1.0f / std::sqrt(static_cast<float>(sq / static_cast<double>(h)) + eps);
  for (int64_t i = 0; i < h; ++i) {
    float y = (x[i] - mean) * rstd;
    if (w) y *= w[i];
    if (b) y += b[i];
    out[i] = y;
  }
}

}  // namespace

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, float eps, Tensor& out) {
  const RowLayout xl(x), ol(out);
  const int64_t h = xl.cols();
  if (xl.rows() == 0 || h == 0) return;
  const DType dtype = x.dtype();
  const int64_t item = static_cast<int64_t>(x.itemsize());
  const float* w = optional_f32(weight, h, 2);
  const float* b = optional_f32(bias, h, 3);
  const char* xb = static_cast<const char*>(x.data());
  char* ob = static_cast<char*>(out.mutable_data());
  parallel_for(0, xl.rows(), row_grain(h, 8192), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, h);
    for (int64_t r = begin; r < end; ++r) {
      const float* xr = load_f32(xb + xl.offset(r) * item, dtype, h, buf);
      normalize_row(xr, w, b, eps, h, buf);
      store_f32(buf, ob + ol.offset(r) * item, dtype, h);
    }
  });
}

}  // namespace pagoda::ops::cpu
