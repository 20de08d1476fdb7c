#include "ops/cpu/elementwise.h"

#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  const RowLayout al(a), bl(b), ol(out);
  const int64_t n = al.cols();
  if (al.rows() == 0 || n == 0) return;
  const DType dtype = a.dtype();
  const int64_t item = static_cast<int64_t>(a.itemsize());
  const char* ab = static_cast<const char*>(a.data());
  const char* bb = static_cast<const char*>(b.data());
  char* ob = static_cast<char*>(out.mutable_data());
  parallel_for(0, al.rows(), row_grain(n, 32768), [&](int64_t begin, int64_t end) {
    float* abuf = scratch(0, n);
    float* bbuf = scratch(1, n);
    for (int64_t r = begin; r < end; ++r) {
      const float* x = load_f32(ab + al.offset(r) * item, dtype, n, abuf);
      const float* y = load_f32(bb + bl.offset(r) * item, dtype, n, bbuf);
      for (int64_t i = 0; i < n; ++i) abuf[i] = x[i] + y[i];
      store_f32(abuf, ob + ol.offset(r) * item, dtype, n);
    }
  });
}

void scale(const Tensor& x, float scale, Tensor& out) {
  const RowLayout xl(x), ol(out);
  const int64_t n = xl.cols();
  if (xl.rows() == 0 || n == 0) return;
  const DType dtype = x.dtype();
  const int64_t item = static_cast<int64_t>(x.itemsize());
  const char* xb = static_cast<const char*>(x.data());
  char* ob = static_cast<char*>(out.mutable_data());
  parallel_for(0, xl.rows(), row_grain(n, 32768), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, n);
    for (int64_t r = begin; r < end; ++r) {
      const float* v = load_f32(xb + xl.offset(r) * item, dtype, n, buf);
      for (int64_t i = 0; i < n; ++i) buf[i] = v[i] * scale;
      store_f32(buf, ob + ol.offset(r) * item, dtype, n);
    }
  });
}

}  // namespace pagoda::ops::cpu
