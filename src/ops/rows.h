// A tensor seen as a list of contiguous rows: every dimension but the last indexes a row. This is
// how row-wise ops (norms, activations, softmax, rotary) accept non-contiguous inputs such as the
// q part of a fused qkv buffer ([T, q_size] with row stride q_size + 2 * kv_size) or a strided
// [T, heads, head_size] view of it. Callers check the layout first (detail::check_rows).
#pragma once

#include <cstdint>

#include "pagoda/tensor.h"

namespace pagoda::ops {

class RowLayout {
 public:
  // `t` must have rank >= 1 and a contiguous last dimension.
  explicit RowLayout(const Tensor& t);

  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  // Offset, in elements from data(), of the first element of row r (0 <= r < rows()).
  int64_t offset(int64_t r) const {
    if (num_lead_ <= 1) return r * stride_[0];
    int64_t off = 0;
    for (int d = num_lead_ - 1; d >= 0; --d) {
      off += (r % size_[d]) * stride_[d];
      r /= size_[d];
    }
    return off;
  }
  // True when row r starts at r * row_stride() for every r (one leading dimension after merging).
  bool uniform() const { return num_lead_ <= 1; }
  int64_t row_stride() const { return stride_[0]; }

 private:
  int64_t rows_ = 1;
  int64_t cols_ = 1;
  // The leading dimensions after dropping size-1 ones and merging those that nest exactly.
  int num_lead_ = 0;
  int64_t size_[kMaxDims] = {};
  int64_t stride_[kMaxDims] = {};
};

// Typed pointer to row r of a tensor with this layout.
template <typename T>
const T* row_ptr(const void* base, const RowLayout& layout, int64_t r) {
  return static_cast<const T*>(base) + layout.offset(r);
}
template <typename T>
T* row_ptr(void* base, const RowLayout& layout, int64_t r) {
  return static_cast<T*>(base) + layout.offset(r);
}

}  // namespace pagoda::ops
