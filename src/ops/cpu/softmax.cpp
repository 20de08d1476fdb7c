#include "ops/cpu/softmax.h"

#include "ops/cpu/kernels/softmax.h"
#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {

void softmax(const Tensor& x, Tensor& out) {
  const RowLayout xl(x), ol(out);
  const int64_t n = xl.cols();
  if (xl.rows() == 0 || n == 0) return;
  const DType dtype = x.dtype();
  const int64_t item = static_cast<int64_t>(x.itemsize());
  const char* xb = static_cast<const char*>(x.data());
  float* ob = out.mutable_data_as<float>();
  parallel_for(0, xl.rows(), row_grain(n, 4096), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, n);
    for (int64_t r = begin; r < end; ++r) {
      // 16-bit rows are widened straight into the output row, which the kernel then overwrites.
      float* dst = ob + ol.offset(r);
      const float* src =
          load_f32(xb + xl.offset(r) * item, dtype, n, dtype == DType::F32 ? buf : dst);
      PAGODA_CPU_DISPATCH(softmax)(src, dst, n);
    }
  });
}

}  // namespace pagoda::ops::cpu
