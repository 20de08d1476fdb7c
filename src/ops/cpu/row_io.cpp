#include "ops/cpu/row_io.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <vector>

#include "ops/cpu/kernels/convert.h"
#include "pagoda/error.h"

namespace pagoda::ops::cpu {

float* scratch(int slot, int64_t n) {
  thread_local std::array<std::vector<float>, 4> buffers;
  PAGODA_ASSERT(slot >= 0 && slot < 4 && n >= 0);
  auto& b = buffers[static_cast<size_t>(slot)];
  if (b.size() < static_cast<size_t>(n)) b.resize(static_cast<size_t>(n));
  return b.data();
}

const float* load_f32(const void* src, DType dtype, int64_t n, float* buf) {
  switch (dtype) {
    case DType::F32:
      return static_cast<const float*>(src);
    case DType::BF16:
      PAGODA_CPU_DISPATCH(bf16_to_f32)(static_cast<const uint16_t*>(src), buf, n);
      return buf;
    case DType::F16:
      PAGODA_CPU_DISPATCH(f16_to_f32)(static_cast<const uint16_t*>(src), buf, n);
      return buf;
    default:
      break;
  }
  throw_internal_error("load_f32 given a dtype the op should have rejected", __FILE__, __LINE__);
}

void store_f32(const float* src, void* dst, DType dtype, int64_t n) {
  switch (dtype) {
    case DType::F32:
      if (src != dst) std::memmove(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::BF16:
      PAGODA_CPU_DISPATCH(f32_to_bf16)(src, static_cast<uint16_t*>(dst), n);
      return;
    case DType::F16:
      PAGODA_CPU_DISPATCH(f32_to_f16)(src, static_cast<uint16_t*>(dst), n);
      return;
    default:
      break;
  }
  throw_internal_error("store_f32 given a dtype the op should have rejected", __FILE__, __LINE__);
}

void round_to_dtype(float* x, DType dtype, int64_t n) {
  if (dtype == DType::F32) return;
  constexpr int64_t kChunk = 256;
  uint16_t tmp[kChunk];
  for (int64_t i = 0; i < n; i += kChunk) {
    const int64_t m = std::min(kChunk, n - i);
    store_f32(x + i, tmp, dtype, m);
    load_f32(tmp, dtype, m, x + i);
  }
}

const float* weights_f32(const void* src, DType dtype, int64_t n, int slot) {
  if (dtype == DType::F32) return static_cast<const float*>(src);
  return load_f32(src, dtype, n, scratch(slot, n));
}

int64_t row_grain(int64_t cols, int64_t min_elements) {
  return std::max<int64_t>(1, min_elements / std::max<int64_t>(cols, 1));
}

}  // namespace pagoda::ops::cpu
