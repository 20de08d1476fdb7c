// Helpers of the GPU op tests: random host tensors, copies to and from the GPU, NaN-poisoned
// device outputs (an element the kernel does not write stays NaN and fails), and a relative
// closeness check.
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>

#include "pagoda/error.h"
#include "pagoda/tensor.h"

namespace pagoda::testing {

inline bool have_gpu() {
  try {
    Tensor::empty({1}, DType::F32, Device::cuda(0));
    return true;
  } catch (const Error&) {
    return false;
  }
}

#define REQUIRE_GPU() \
  if (!have_gpu()) GTEST_SKIP() << "no CUDA device visible"

inline float value_at(const Tensor& t, int64_t i) {
  switch (t.dtype()) {
    case DType::F32:
      return t.data_as<float>()[i];
    case DType::BF16:
      return static_cast<float>(t.data_as<bf16>()[i]);
    default:
      return static_cast<float>(t.data_as<f16>()[i]);
  }
}

inline void set_at(Tensor& t, int64_t i, float v) {
  switch (t.dtype()) {
    case DType::F32:
      t.mutable_data_as<float>()[i] = v;
      break;
    case DType::BF16:
      t.mutable_data_as<bf16>()[i] = bf16(v);
      break;
    default:
      t.mutable_data_as<f16>()[i] = f16(v);
  }
}

inline Tensor random_cpu(const Shape& shape, DType dtype, std::mt19937& rng, float lo = -2, float hi = 2) {
  Tensor t = Tensor::empty(shape, dtype);
  std::uniform_real_distribution<float> dist(lo, hi);
  for (int64_t i = 0; i < t.numel(); ++i) set_at(t, i, dist(rng));
  return t;
}

inline Tensor to_gpu(const Tensor& t) {
  Tensor g = Tensor::empty(t.shape(), t.dtype(), Device::cuda(0));
  g.copy_from(t.contiguous());
  return g;
}

inline Tensor to_cpu(const Tensor& g) {
  Tensor t = Tensor::empty(g.shape(), g.dtype());
  t.copy_from(g);
  return t;
}

inline Tensor poisoned_gpu(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  for (int64_t i = 0; i < t.numel(); ++i) set_at(t, i, std::numeric_limits<float>::quiet_NaN());
  return to_gpu(t);
}

// A GPU tensor whose bytes are all 0xff: NaN in every float dtype (an unwritten element shows).
inline Tensor poisoned_gpu_bytes(const Shape& shape, DType dtype) {
  Tensor t = Tensor::empty(shape, dtype);
  std::memset(t.mutable_data(), 0xff, t.nbytes());
  return to_gpu(t);
}

// `view` is a view of the CPU tensor `base`; the same view (offset, shape, strides) of
// `gpu_base`, a GPU tensor of base's shape and dtype.
inline Tensor same_view_on(const Tensor& view, const Tensor& base, const Tensor& gpu_base) {
  return Tensor::from_storage(gpu_base.storage(),
                              gpu_base.byte_offset() + view.byte_offset() - base.byte_offset(),
                              view.shape(), view.strides(), view.dtype());
}

inline double tolerance(DType dtype) { return dtype == DType::F32 ? 1e-5 : 1e-2; }

// max |a - b| / max(|ref|) over rows; NaN anywhere fails.
inline void expect_close(const Tensor& got, const Tensor& want, double rel, const std::string& what) {
  ASSERT_EQ(got.numel(), want.numel());
  double max_err = 0, max_ref = 1e-30;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const float g = value_at(got, i), w = value_at(want, i);
    ASSERT_FALSE(std::isnan(g)) << what << ": element " << i << " was not written";
    max_err = std::max(max_err, std::fabs(static_cast<double>(g) - w));
    max_ref = std::max(max_ref, std::fabs(static_cast<double>(w)));
  }
  EXPECT_LE(max_err / max_ref, rel) << what;
}

}  // namespace pagoda::testing
