// CUDA cast between every pair of float dtypes, against the CPU op and the scalar reference
// (pagoda/half.h through tests/ops/reference.h), exactly: the same value and sign, NaN for NaN.
// Inputs cover every bit pattern of the 8- and 16-bit types, and for f32/f64 random bit patterns,
// random values of every magnitude, exact rounding ties of each narrower type, the overflow edges
// (e4m3 448/464/480, e5m2 57344/61440, f16 65504/65520) and the specials. Layouts: contiguous
// (the 16-byte path), rows strided and misaligned on both sides (the scalar path, writing nothing
// between the rows), and a 0-d tensor. Outputs are poisoned (0xff bytes) before each run.
#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/cast.h"
#include "ops/reference.h"
#include "pagoda/half.h"
#include "pagoda/tensor.h"

using namespace pagoda;
using pagoda::test::load_as_f64;
using namespace pagoda::testing;
using pagoda::test::to_f64;

namespace {

constexpr DType kTypes[] = {DType::F64, DType::F32,      DType::BF16,
                            DType::F16, DType::FP8_E4M3, DType::FP8_E5M2};

::testing::AssertionResult same_values(const std::vector<double>& got,
                                       const std::vector<double>& want, const Tensor& src) {
  const std::vector<double> in = to_f64(src);
  for (size_t i = 0; i < got.size(); ++i) {
    const bool ok = std::isnan(want[i])
                        ? std::isnan(got[i])
                        : got[i] == want[i] && std::signbit(got[i]) == std::signbit(want[i]);
    if (!ok)
      return ::testing::AssertionFailure() << "element " << i << " (source " << in[i] << "): got "
                                           << got[i] << ", want " << want[i];
  }
  return ::testing::AssertionSuccess();
}

// Source values of `dtype` as raw bytes, numel a multiple of `cols`.
Tensor source_values(DType dtype, int64_t cols, std::mt19937_64& rng) {
  std::vector<double> v;  // f32/f64 values given as doubles
  std::vector<uint32_t> f32_bits;
  if (dtype == DType::FP8_E4M3 || dtype == DType::FP8_E5M2) {
    Tensor t = Tensor::empty({8, 32}, dtype);
    for (int i = 0; i < 256; ++i) static_cast<uint8_t*>(t.mutable_data())[i] = uint8_t(i);
    return t;
  }
  if (dtype == DType::BF16 || dtype == DType::F16) {
    Tensor t = Tensor::empty({256, 256}, dtype);
    for (int i = 0; i < 65536; ++i) static_cast<uint16_t*>(t.mutable_data())[i] = uint16_t(i);
    return t;
  }
  // Specials and edges.
  const double inf = std::numeric_limits<double>::infinity();
  for (double e : {0.0,           -0.0,    inf,     -inf,         std::nan(""),
                   -std::nan(""), 448.0,   464.0,   464.001,      480.0,
                   500.0,         57344.0, 61440.0, 61439.0,      65504.0,
                   65519.0,       65520.0, 1e-8,    1e-40,        -1e-45,
                   3e38,          1e300,   -1e-300, 0.0009765625, 0.001953125 * 0.5})
    v.push_back(e);
  // Random magnitudes over many binades, both signs.
  std::uniform_real_distribution<double> mant(1.0, 2.0), expo(-30, 30);
  for (int i = 0; i < 4000; ++i)
    v.push_back((i & 1 ? -1 : 1) * mant(rng) * std::exp2(std::floor(expo(rng))));
  // Exact ties between neighbours of each narrower type (exact in f32).
  for (int code = 0; code < 0x7e; ++code) {
    v.push_back(0.5 * (static_cast<float>(fp8_e4m3::from_bits(uint8_t(code))) +
                       static_cast<float>(fp8_e4m3::from_bits(uint8_t(code + 1)))));
  }
  for (int code = 0; code < 0x7b; ++code)
    v.push_back(-0.5 * (static_cast<float>(fp8_e5m2::from_bits(uint8_t(code))) +
                        static_cast<float>(fp8_e5m2::from_bits(uint8_t(code + 1)))));
  for (int i = 0; i < 500; ++i) {
    const uint16_t h = static_cast<uint16_t>(rng() % 0x7bff);
    v.push_back(0.5 * (static_cast<float>(f16::from_bits(h)) +
                       static_cast<float>(f16::from_bits(uint16_t(h + 1)))));
    f32_bits.push_back((static_cast<uint32_t>(rng()) & 0xffff0000u) | 0x8000u);  // bf16 tie
  }
  for (int i = 0; i < 3000; ++i) f32_bits.push_back(static_cast<uint32_t>(rng()));
  const int64_t n = static_cast<int64_t>(v.size() + f32_bits.size());
  const int64_t rows = (n + cols - 1) / cols;
  Tensor t = Tensor::empty({rows, cols}, dtype);
  for (int64_t i = 0; i < rows * cols; ++i) {
    double x;
    if (i < static_cast<int64_t>(v.size())) {
      x = v[static_cast<size_t>(i)];
    } else if (i < n) {
      x = std::bit_cast<float>(f32_bits[static_cast<size_t>(i) - v.size()]);
    } else {
      x = 1.0 + static_cast<double>(i);
    }
    if (dtype == DType::F64)
      t.mutable_data_as<double>()[i] = x * (i % 3 == 0 ? 1.0 + 1e-12 : 1.0);  // beyond f32 bits
    else
      t.mutable_data_as<float>()[i] = static_cast<float>(x);
  }
  return t;
}

// The scalar reference: every value rounded to `to` through f32 (a copy for the same dtype).
std::vector<double> reference(const Tensor& src, DType to) {
  Tensor want = Tensor::empty(src.shape(), to);
  const std::vector<double> in = to_f64(src);
  if (src.dtype() == to) return in;
  std::vector<double> through_f32(in.size());
  for (size_t i = 0; i < in.size(); ++i) through_f32[i] = static_cast<float>(in[i]);
  pagoda::test::from_f64(want, through_f32);
  return to_f64(want);
}

TEST(CudaCast, EveryPairContiguousMatchesCpuAndReference) {
  REQUIRE_GPU();
  std::mt19937_64 rng(11);
  for (DType from : kTypes) {
    const Tensor src = source_values(from, 64, rng);
    const Tensor gsrc = to_gpu(src);
    for (DType to : kTypes) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)));
      Tensor cpu_out = Tensor::empty(src.shape(), to);
      ops::cast(src, cpu_out);
      Tensor gout = poisoned_gpu_bytes(src.shape(), to);
      ops::cast(gsrc, gout);
      const std::vector<double> got = to_f64(to_cpu(gout));
      EXPECT_TRUE(same_values(got, to_f64(cpu_out), src)) << "against the CPU op";
      EXPECT_TRUE(same_values(got, reference(src, to), src)) << "against the scalar reference";
    }
  }
}

TEST(CudaCast, StridedMisalignedRowsAndScalar) {
  REQUIRE_GPU();
  std::mt19937_64 rng(12);
  for (DType from : kTypes) {
    // 37 columns: no row is 16-byte aligned on either side.
    const Tensor values = source_values(from, 37, rng);
    const int64_t rows = values.size(0), cols = 37;
    // The source rows at column 1 of a [rows, 42] buffer.
    Tensor base = Tensor::empty({rows, cols + 5}, from);
    std::memset(base.mutable_data(), 0x3c, base.nbytes());
    const size_t item = dtype_size(from);
    for (int64_t r = 0; r < rows; ++r)
      std::memcpy(static_cast<char*>(base.mutable_data()) + (r * (cols + 5) + 1) * item,
                  static_cast<const char*>(values.data()) + r * cols * item, cols * item);
    const Tensor src = base.slice(1, 1, 1 + cols);
    const Tensor gbase = to_gpu(base);
    const Tensor gsrc = same_view_on(src, base, gbase);
    for (DType to : kTypes) {
      SCOPED_TRACE(std::string(dtype_name(from)) + " -> " + std::string(dtype_name(to)));
      Tensor cpu_out = Tensor::empty({rows, cols}, to);
      ops::cast(src, cpu_out);
      // The output rows at column 2 of a poisoned [rows, 40] buffer.
      const Tensor out_base = Tensor::empty({rows, cols + 3}, to);
      Tensor gout_base = poisoned_gpu_bytes(out_base.shape(), to);
      Tensor gout = same_view_on(out_base.slice(1, 2, 2 + cols), out_base, gout_base);
      ops::cast(gsrc, gout);
      const Tensor back = to_cpu(gout_base);
      EXPECT_TRUE(same_values(to_f64(back.slice(1, 2, 2 + cols)), to_f64(cpu_out), src));
      EXPECT_TRUE(same_values(to_f64(back.slice(1, 2, 2 + cols)), reference(src, to), src));
      // Nothing written outside the view: the poison bytes are intact.
      const auto* bytes = static_cast<const uint8_t*>(back.data());
      const size_t oi = dtype_size(to);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c : {int64_t{0}, int64_t{1}, cols + 2})
          for (size_t b = 0; b < oi; ++b)
            ASSERT_EQ(bytes[(r * (cols + 3) + c) * oi + b], 0xff) << "row " << r << " col " << c;

      // A 0-d tensor: the first source value.
      const Tensor s0 = src.select(0, 0).select(0, 0);
      Tensor c0 = Tensor::empty({}, to);
      ops::cast(s0, c0);
      Tensor g0 = poisoned_gpu_bytes({}, to);
      ops::cast(same_view_on(s0, base, gbase), g0);
      EXPECT_TRUE(same_values(to_f64(to_cpu(g0)), to_f64(c0), s0)) << "0-d";
    }
  }
}

}  // namespace
