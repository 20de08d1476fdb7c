// Shared helpers for the op tests (tests/ops/*_test.cpp): seeded random inputs, float64 views of
// tensors of any dtype and strides, the per-dtype error bounds every op is checked against, ISA
// parameterisation, and error-text assertions.
//
// The pattern of an op test: make inputs with random_tensor() (their values are rounded to the
// input dtype when stored), read them back with to_f64(), compute the expected output in double
// from those stored values, run the op, and compare with all_close(got, want, tolerance(...)).
#pragma once

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <initializer_list>
#include <random>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "ops/cpu/isa.h"
#include "pagoda/error.h"
#include "pagoda/half.h"
#include "pagoda/tensor.h"

namespace pagoda::test {

// Sizes every op is tried with (hidden sizes, rows, vocab): 1, an odd size below a vector, one
// just past two AVX-512 vectors, one just past a power of two (vector body plus a 1-element tail).
inline constexpr int64_t kSizes[] = {1, 3, 17, 4097};

// The activation dtypes ops accept.
inline constexpr DType kActivationDTypes[] = {DType::F32, DType::BF16, DType::F16};

inline constexpr cpu::CpuIsa kAllIsas[] = {cpu::CpuIsa::Generic, cpu::CpuIsa::Avx2,
                                           cpu::CpuIsa::Avx512};

// ------------------------------------------------------------------ seeded random inputs

// Deterministic random numbers: every test seeds its own, so a failure reproduces exactly.
class Rng {
 public:
  explicit Rng(uint64_t seed) : engine_(seed) {}
  double uniform(double lo, double hi) {
    return std::uniform_real_distribution<double>(lo, hi)(engine_);
  }
  // Uniform integer in [lo, hi].
  int64_t integer(int64_t lo, int64_t hi) {
    return std::uniform_int_distribution<int64_t>(lo, hi)(engine_);
  }

 private:
  std::mt19937_64 engine_;
};

// ------------------------------------------------------------------ float64 element access

// One element as double (any floating or integer dtype).
inline double load_as_f64(const void* p, DType dtype) {
  switch (dtype) {
    case DType::F64:
      return *static_cast<const double*>(p);
    case DType::F32:
      return *static_cast<const float*>(p);
    case DType::F16:
      return static_cast<float>(*static_cast<const f16*>(p));
    case DType::BF16:
      return static_cast<float>(*static_cast<const bf16*>(p));
    case DType::FP8_E4M3:
      return static_cast<float>(*static_cast<const fp8_e4m3*>(p));
    case DType::FP8_E5M2:
      return static_cast<float>(*static_cast<const fp8_e5m2*>(p));
    case DType::I64:
      return static_cast<double>(*static_cast<const int64_t*>(p));
    case DType::I32:
      return *static_cast<const int32_t*>(p);
    case DType::I16:
      return *static_cast<const int16_t*>(p);
    case DType::I8:
      return *static_cast<const int8_t*>(p);
    case DType::U8:
      return *static_cast<const uint8_t*>(p);
    case DType::Bool:
      return *static_cast<const bool*>(p) ? 1.0 : 0.0;
  }
  return NAN;
}

// Stores v rounded to the dtype (through float for the small float formats).
inline void store_from_f64(void* p, DType dtype, double v) {
  switch (dtype) {
    case DType::F64:
      *static_cast<double*>(p) = v;
      return;
    case DType::F32:
      *static_cast<float*>(p) = static_cast<float>(v);
      return;
    case DType::F16:
      *static_cast<f16*>(p) = f16(static_cast<float>(v));
      return;
    case DType::BF16:
      *static_cast<bf16*>(p) = bf16(static_cast<float>(v));
      return;
    case DType::FP8_E4M3:
      *static_cast<fp8_e4m3*>(p) = fp8_e4m3(static_cast<float>(v));
      return;
    case DType::FP8_E5M2:
      *static_cast<fp8_e5m2*>(p) = fp8_e5m2(static_cast<float>(v));
      return;
    case DType::I64:
      *static_cast<int64_t*>(p) = static_cast<int64_t>(v);
      return;
    case DType::I32:
      *static_cast<int32_t*>(p) = static_cast<int32_t>(v);
      return;
    case DType::I16:
      *static_cast<int16_t*>(p) = static_cast<int16_t>(v);
      return;
    case DType::I8:
      *static_cast<int8_t*>(p) = static_cast<int8_t>(v);
      return;
    case DType::U8:
      *static_cast<uint8_t*>(p) = static_cast<uint8_t>(v);
      return;
    case DType::Bool:
      *static_cast<bool*>(p) = v != 0;
      return;
  }
}

// Element offsets (in elements from data()) of every element, in row-major logical order.
inline std::vector<int64_t> element_offsets(const Tensor& t) {
  std::vector<int64_t> offsets;
  offsets.reserve(static_cast<size_t>(t.numel()));
  if (t.numel() == 0) return offsets;
  if (t.dim() == 0) return {0};
  // Walk the leading dimensions like an odometer; the last one is a plain strided run.
  const int last = t.dim() - 1;
  std::vector<int64_t> index(static_cast<size_t>(last), 0);
  for (int64_t row = 0; row < t.numel() / t.size(last); ++row) {
    int64_t off = 0;
    for (int d = 0; d < last; ++d) off += index[static_cast<size_t>(d)] * t.stride(d);
    for (int64_t i = 0; i < t.size(last); ++i) offsets.push_back(off + i * t.stride(last));
    for (int d = last - 1; d >= 0; --d) {
      if (++index[static_cast<size_t>(d)] < t.size(d)) break;
      index[static_cast<size_t>(d)] = 0;
    }
  }
  return offsets;
}

// The tensor's elements as doubles, row-major (any dtype, any strides).
inline std::vector<double> to_f64(const Tensor& t) {
  std::vector<double> out;
  out.reserve(static_cast<size_t>(t.numel()));
  const char* base = static_cast<const char*>(t.data());
  for (int64_t off : element_offsets(t))
    out.push_back(load_as_f64(base + off * static_cast<int64_t>(t.itemsize()), t.dtype()));
  return out;
}

// Writes values (row-major) into t, rounding to its dtype.
inline void from_f64(Tensor& t, std::span<const double> values) {
  char* base = static_cast<char*>(t.mutable_data());
  const auto offsets = element_offsets(t);
  EXPECT_EQ(offsets.size(), values.size()) << "from_f64: value count does not match the tensor";
  for (size_t i = 0; i < offsets.size() && i < values.size(); ++i)
    store_from_f64(base + offsets[i] * static_cast<int64_t>(t.itemsize()), t.dtype(), values[i]);
}

// Fills t with uniform values in [lo, hi) (rounded to its dtype).
inline void fill_random(Tensor& t, Rng& rng, double lo = -1.0, double hi = 1.0) {
  std::vector<double> v(static_cast<size_t>(t.numel()));
  for (double& x : v) x = rng.uniform(lo, hi);
  from_f64(t, v);
}

// A new contiguous tensor of uniform values in [lo, hi).
inline Tensor random_tensor(const Shape& shape, DType dtype, Rng& rng, double lo = -1.0,
                            double hi = 1.0) {
  Tensor t = Tensor::empty(shape, dtype);
  fill_random(t, rng, lo, hi);
  return t;
}

// A [rows, cols] view whose rows lie `row_stride` elements apart inside `base`, a [rows,
// row_stride] tensor: the layout of the q or k part of a fused qkv buffer. `base` is filled with
// random values (the gaps too), so a test can check that an op never writes outside the view.
struct RowStrided {
  Tensor base;
  Tensor view;
  int64_t col_begin = 0;
};
inline RowStrided row_strided(int64_t rows, int64_t cols, int64_t col_begin, int64_t row_stride,
                              DType dtype, Rng& rng, double lo = -1.0, double hi = 1.0) {
  RowStrided r;
  r.base = random_tensor({rows, row_stride}, dtype, rng, lo, hi);
  r.view = r.base.slice(1, col_begin, col_begin + cols);
  r.col_begin = col_begin;
  return r;
}

// Success when every element of `after` (the base of a RowStrided, read with to_f64) outside the
// view's columns equals `before`: the op wrote only inside its view.
inline ::testing::AssertionResult gaps_unchanged(const std::vector<double>& before,
                                                 const RowStrided& r) {
  const std::vector<double> after = to_f64(r.base);
  const int64_t stride = r.base.size(1);
  const int64_t cols = r.view.size(1);
  for (size_t i = 0; i < after.size(); ++i) {
    const int64_t c = static_cast<int64_t>(i) % stride;
    if (c >= r.col_begin && c < r.col_begin + cols) continue;
    const bool same = after[i] == before[i] || (std::isnan(after[i]) && std::isnan(before[i]));
    if (!same)
      return ::testing::AssertionFailure() << "element " << i << " outside the view changed from "
                                           << before[i] << " to " << after[i];
  }
  return ::testing::AssertionSuccess();
}

// ------------------------------------------------------------------ error bounds

// Unit roundoff u = 2^-p, p the significand bits including the implicit one: the largest relative
// error of rounding a real number to the nearest value of the dtype (normal range).
//   f64 2^-53, f32 2^-24 (6.0e-8), f16 2^-11 (4.9e-4), bf16 2^-8 (3.9e-3), fp8_e4m3 2^-4,
//   fp8_e5m2 2^-3.
inline double unit_roundoff(DType dtype) {
  switch (dtype) {
    case DType::F64:
      return std::ldexp(1.0, -53);
    case DType::F32:
      return std::ldexp(1.0, -24);
    case DType::F16:
      return std::ldexp(1.0, -11);
    case DType::BF16:
      return std::ldexp(1.0, -8);
    case DType::FP8_E4M3:
      return std::ldexp(1.0, -4);
    case DType::FP8_E5M2:
      return std::ldexp(1.0, -3);
    default:
      return 0.0;  // integers are compared exactly
  }
}

// The spacing of the dtype's subnormals, 2^(emin - p + 1): below the smallest normal, rounding
// errs by up to half of it in absolute terms, whatever u says. Matters for f16 (2^-24 = 6e-8).
inline double subnormal_spacing(DType dtype) {
  switch (dtype) {
    case DType::F64:
      return std::ldexp(1.0, -1074);
    case DType::F32:
      return std::ldexp(1.0, -149);
    case DType::F16:
      return std::ldexp(1.0, -24);
    case DType::BF16:
      return std::ldexp(1.0, -133);
    case DType::FP8_E4M3:
      return std::ldexp(1.0, -9);
    case DType::FP8_E5M2:
      return std::ldexp(1.0, -16);
    default:
      return 0.0;
  }
}

// Relative error allowed for the f32 arithmetic inside an op (about 170 f32 ulps). It covers sums
// of up to a few thousand terms accumulated in f32 vector lanes, the 1-3 ulp error of the
// vectorised exp/tanh/erf, and the reassociation a vectorised loop does. A wrong formula, index,
// constant or rounding step is off by orders of magnitude more.
inline constexpr double kF32ComputeRel = 1e-5;

// An op's output passes when |got - want| <= rel * |want| + abs for every element.
struct Tolerance {
  double rel = 0;
  double abs = 0;
};

// The bound for an output of dtype `out`.
//
// The reference reads the SAME stored (already rounded) inputs the op reads, so quantising the
// inputs is not an error source. What remains:
//   * the op's f32 arithmetic: kF32ComputeRel;
//   * rounding into the output dtype, once per rounding step: `roundings` * u(out). Ops that store
//     an intermediate in the activation dtype as Hugging Face does (rms_norm rounds x * rsqrt
//     before the weight multiply; fused_add_rms_norm stores the rounded residual) take 2.
// So rel = 1e-5 + roundings * u(out): with 2 roundings f32 ~1.0e-5, f16 ~1.0e-3, bf16 ~7.8e-3.
// abs = rel * scale + roundings * subnormal_spacing(out) / 2, where `scale` is the magnitude of the
// values the output is computed from (1 for unit-range inputs). It covers cancellation (x - mean,
// x*cos - y*sin, gelu of a negative number), where f32 arithmetic only promises an error relative
// to those values, not to the (small) result; and results in the subnormal range.
inline Tolerance tolerance(DType out, double scale = 1.0, int roundings = 2) {
  const double rel = kF32ComputeRel + roundings * unit_roundoff(out);
  return {rel, rel * scale + roundings * subnormal_spacing(out) / 2};
}

// Compares element by element; on failure reports the worst elements with their indices.
inline ::testing::AssertionResult all_close(std::span<const double> got,
                                            std::span<const double> want, Tolerance tol) {
  if (got.size() != want.size())
    return ::testing::AssertionFailure()
           << "sizes differ: got " << got.size() << " values, want " << want.size();
  size_t failures = 0;
  double worst_ratio = 0;
  size_t worst = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    const double bound = tol.rel * std::abs(want[i]) + tol.abs;
    const double err = std::abs(got[i] - want[i]);
    const bool ok = err <= bound || (std::isnan(got[i]) && std::isnan(want[i])) ||
                    (std::isinf(want[i]) && got[i] == want[i]);
    if (!ok) {
      ++failures;
      const double ratio = std::isnan(err) ? INFINITY : err / bound;
      if (failures == 1 || ratio > worst_ratio) {
        worst_ratio = ratio;
        worst = i;
      }
    }
  }
  if (failures == 0) return ::testing::AssertionSuccess();
  std::ostringstream msg;
  msg.precision(9);
  msg << failures << " of " << got.size() << " elements outside |got - want| <= " << tol.rel
      << " * |want| + " << tol.abs << "; worst at index " << worst << ": got " << got[worst]
      << ", want " << want[worst] << " (" << worst_ratio << "x the bound)";
  return ::testing::AssertionFailure() << msg.str();
}

inline ::testing::AssertionResult all_close(const Tensor& got, std::span<const double> want,
                                            Tolerance tol) {
  const std::vector<double> g = to_f64(got);
  return all_close(std::span<const double>(g), want, tol);
}

// The largest |v|, at least `floor`: a scale for tolerance().
inline double max_abs(std::span<const double> v, double floor = 1.0) {
  double m = floor;
  for (double x : v)
    if (std::isfinite(x)) m = std::max(m, std::abs(x));
  return m;
}

// ------------------------------------------------------------------ ISA parameterisation

// Selects `isa` for the scope and restores the detected one after. supported() is false when the
// processor lacks it (the test should GTEST_SKIP()).
class IsaScope {
 public:
  explicit IsaScope(cpu::CpuIsa isa) : supported_(isa <= cpu::detected_cpu_isa()) {
    if (supported_) cpu::set_cpu_isa(isa);
  }
  ~IsaScope() { cpu::set_cpu_isa(cpu::detected_cpu_isa()); }
  IsaScope(const IsaScope&) = delete;
  IsaScope& operator=(const IsaScope&) = delete;
  bool supported() const { return supported_; }

 private:
  bool supported_;
};

// Base fixture for tests parameterised over (ISA, activation dtype): skips ISAs the processor
// lacks and runs the test body with the ISA selected.
using IsaDType = std::tuple<cpu::CpuIsa, DType>;

class IsaDTypeTest : public ::testing::TestWithParam<IsaDType> {
 protected:
  void SetUp() override {
    if (isa() > cpu::detected_cpu_isa())
      GTEST_SKIP() << "processor lacks " << cpu::cpu_isa_name(isa());
    cpu::set_cpu_isa(isa());
  }
  void TearDown() override { cpu::set_cpu_isa(cpu::detected_cpu_isa()); }
  cpu::CpuIsa isa() const { return std::get<0>(GetParam()); }
  DType dtype() const { return std::get<1>(GetParam()); }
};

inline auto all_isas_and_activation_dtypes() {
  return ::testing::Combine(::testing::ValuesIn(kAllIsas), ::testing::ValuesIn(kActivationDTypes));
}

inline std::string isa_dtype_name(const ::testing::TestParamInfo<IsaDType>& info) {
  return std::string(cpu::cpu_isa_name(std::get<0>(info.param))) + "_" +
         std::string(dtype_name(std::get<1>(info.param)));
}

inline std::string isa_name(const ::testing::TestParamInfo<cpu::CpuIsa>& info) {
  return std::string(cpu::cpu_isa_name(info.param));
}

// ------------------------------------------------------------------ error assertions

// Success when fn() throws a pagoda::Error with `code` whose full message (problem and fix)
// contains every fragment.
template <typename Fn>
::testing::AssertionResult throws_error(Fn&& fn, ErrorCode code,
                                        std::initializer_list<std::string_view> fragments) {
  try {
    fn();
  } catch (const Error& e) {
    if (e.code() != code)
      return ::testing::AssertionFailure() << "threw " << error_code_name(e.code()) << ", not "
                                           << error_code_name(code) << ": " << e.what();
    const std::string what = e.what();
    for (std::string_view f : fragments)
      if (what.find(f) == std::string::npos)
        return ::testing::AssertionFailure() << "message lacks \"" << f << "\": " << what;
    return ::testing::AssertionSuccess();
  } catch (const std::exception& e) {
    return ::testing::AssertionFailure() << "threw a non-pagoda exception: " << e.what();
  }
  return ::testing::AssertionFailure() << "did not throw";
}

}  // namespace pagoda::test
