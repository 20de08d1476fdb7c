#include "ops/cpu/argmax.h"

#include <algorithm>
#include <cmath>

#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

// First index of the maximum; a NaN wins at once (torch.argmax semantics).
int64_t row_argmax(const float* x, int64_t n, int64_t base, int64_t* best_index, float* best) {
  for (int64_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (std::isnan(v)) return base + i;
    if (v > *best) {
      *best = v;
      *best_index = base + i;
    }
  }
  return -1;
}

}  // namespace

void argmax(const Tensor& x, Tensor& out) {
  const RowLayout xl(x);
  const int64_t n = xl.cols();
  const DType dtype = x.dtype();
  const int64_t item = static_cast<int64_t>(x.itemsize());
  const char* xb = static_cast<const char*>(x.data());
  int64_t* ob = out.mutable_data_as<int64_t>();
  // Vocabulary rows are long: widen 16-bit values a chunk at a time through a small buffer.
  constexpr int64_t kChunk = 2048;
  parallel_for(0, xl.rows(), row_grain(n, 32768), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, kChunk);
    for (int64_t r = begin; r < end; ++r) {
      const char* row = xb + xl.offset(r) * item;
      int64_t best_index = 0;
      float best = -INFINITY;
      int64_t nan_index = -1;
      for (int64_t c = 0; c < n && nan_index < 0; c += kChunk) {
        const int64_t m = std::min(kChunk, n - c);
        const float* v = load_f32(row + c * item, dtype, m, buf);
        nan_index = row_argmax(v, m, c, &best_index, &best);
      }
      ob[r] = nan_index >= 0 ? nan_index : best_index;
    }
  });
}

}  // namespace pagoda::ops::cpu
