#include "ops/cpu/cast.h"

#include <algorithm>
#include <cstring>

#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/half.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

// n values of any float dtype as f32 (the 16-bit ones through the vectorised kernels).
void to_f32(const void* src, DType dtype, int64_t n, float* dst) {
  switch (dtype) {
    case DType::F64: {
      const double* s = static_cast<const double*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
    case DType::FP8_E4M3: {
      const fp8_e4m3* s = static_cast<const fp8_e4m3*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
    case DType::FP8_E5M2: {
      const fp8_e5m2* s = static_cast<const fp8_e5m2*>(src);
      for (int64_t i = 0; i < n; ++i) dst[i] = static_cast<float>(s[i]);
      return;
    }
    default: {
      const float* f = load_f32(src, dtype, n, dst);
      if (f != dst) std::memcpy(dst, f, static_cast<size_t>(n) * sizeof(float));
    }
  }
}

void from_f32(const float* src, void* dst, DType dtype, int64_t n) {
  switch (dtype) {
    case DType::F64: {
      double* d = static_cast<double*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = src[i];
      return;
    }
    case DType::FP8_E4M3: {
      fp8_e4m3* d = static_cast<fp8_e4m3*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = fp8_e4m3(src[i]);
      return;
    }
    case DType::FP8_E5M2: {
      fp8_e5m2* d = static_cast<fp8_e5m2*>(dst);
      for (int64_t i = 0; i < n; ++i) d[i] = fp8_e5m2(src[i]);
      return;
    }
    default:
      store_f32(src, dst, dtype, n);
  }
}

// f64 -> f64 would lose precision through f32; a same-dtype cast is a copy anyway.
void convert_row(const char* src, DType sd, char* dst, DType dd, int64_t n, float* buf,
                 int64_t chunk) {
  if (sd == dd) {
    std::memmove(dst, src, static_cast<size_t>(n) * dtype_size(sd));
    return;
  }
  const int64_t si = static_cast<int64_t>(dtype_size(sd)),
                di = static_cast<int64_t>(dtype_size(dd));
  if (sd == DType::F32) return from_f32(reinterpret_cast<const float*>(src), dst, dd, n);
  if (dd == DType::F32) return to_f32(src, sd, n, reinterpret_cast<float*>(dst));
  for (int64_t c = 0; c < n; c += chunk) {
    const int64_t m = std::min(chunk, n - c);
    to_f32(src + c * si, sd, m, buf);
    from_f32(buf, dst + c * di, dd, m);
  }
}

}  // namespace

void cast(const Tensor& src, Tensor& out) {
  if (src.numel() == 0) return;
  const DType sd = src.dtype(), dd = out.dtype();
  const char* sb = static_cast<const char*>(src.data());
  char* db = static_cast<char*>(out.mutable_data());
  if (src.dim() == 0) {
    float buf[1];
    return convert_row(sb, sd, db, dd, 1, buf, 1);
  }
  const RowLayout sl(src), dl(out);
  const int64_t n = sl.cols();
  const int64_t si = static_cast<int64_t>(dtype_size(sd)),
                di = static_cast<int64_t>(dtype_size(dd));
  constexpr int64_t kChunk = 1024;
  parallel_for(0, sl.rows(), row_grain(n, 65536), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, kChunk);
    for (int64_t r = begin; r < end; ++r)
      convert_row(sb + sl.offset(r) * si, sd, db + dl.offset(r) * di, dd, n, buf, kChunk);
  });
}

}  // namespace pagoda::ops::cpu
