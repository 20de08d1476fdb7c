#include "ops/rows.h"

#include "pagoda/error.h"

namespace pagoda::ops {

RowLayout::RowLayout(const Tensor& t) {
  PAGODA_ASSERT(t.dim() >= 1);
  cols_ = t.size(-1);
  // Walk the leading dimensions from the innermost out, merging a dimension into the one inside
  // it when stepping it once equals stepping the inner one through its whole size.
  int n = 0;
  int64_t size[kMaxDims];
  int64_t stride[kMaxDims];
  for (int d = t.dim() - 2; d >= 0; --d) {
    const int64_t s = t.size(d);
    rows_ *= s;
    if (s == 1) continue;
    if (n > 0 && t.stride(d) == stride[n - 1] * size[n - 1]) {
      size[n - 1] *= s;  // the merged dimension keeps the inner stride
      continue;
    }
    size[n] = s;
    stride[n] = t.stride(d);
    ++n;
  }
  // size/stride were collected innermost first; store outermost first.
  num_lead_ = n;
  for (int i = 0; i < n; ++i) {
    size_[i] = size[n - 1 - i];
    stride_[i] = stride[n - 1 - i];
  }
  if (n == 0) stride_[0] = cols_;
}

}  // namespace pagoda::ops
