#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>

#include "pagoda/dtype.h"
#include "pagoda/half.h"

using namespace pagoda;

TEST(DType, SizesAndNames) {
  EXPECT_EQ(dtype_size(DType::F32), 4u);
  EXPECT_EQ(dtype_size(DType::BF16), 2u);
  EXPECT_EQ(dtype_size(DType::FP8_E4M3), 1u);
  EXPECT_EQ(dtype_size(DType::I64), 8u);
  EXPECT_EQ(dtype_name(DType::BF16), "bf16");
  EXPECT_EQ(safetensors_dtype_name(DType::FP8_E4M3), "F8_E4M3");
}

TEST(DType, ParsesTorchAndSafetensorsSpellings) {
  EXPECT_EQ(parse_dtype("bfloat16"), DType::BF16);
  EXPECT_EQ(parse_dtype("torch.float16"), DType::F16);
  EXPECT_EQ(parse_dtype("float32"), DType::F32);
  EXPECT_EQ(parse_dtype("half"), DType::F16);
  EXPECT_EQ(parse_dtype("float8_e4m3fn"), DType::FP8_E4M3);
  EXPECT_FALSE(parse_dtype("float128").has_value());
  EXPECT_EQ(parse_safetensors_dtype("BF16"), DType::BF16);
  EXPECT_EQ(parse_safetensors_dtype("BOOL"), DType::Bool);
  EXPECT_FALSE(parse_safetensors_dtype("bf16").has_value());  // safetensors names are upper case
  for (DType d : {DType::F64, DType::F32, DType::F16, DType::BF16, DType::FP8_E4M3, DType::FP8_E5M2,
                  DType::I64, DType::I32, DType::I16, DType::I8, DType::U8, DType::Bool}) {
    EXPECT_EQ(parse_safetensors_dtype(safetensors_dtype_name(d)), d);
    EXPECT_EQ(parse_dtype(dtype_name(d)), d);
  }
}

// Reference rounding of a double to a float format with `mant` mantissa bits, min normal exponent
// `emin`, computed independently in double arithmetic (ties to even).
static double round_to_format(double x, int mant, int emin) {
  if (x == 0) return x;
  int e;
  std::frexp(std::fabs(x), &e);
  int exp = std::max(e - 1, emin);
  double ulp = std::ldexp(1.0, exp - mant);
  double q = std::nearbyint(x / ulp);
  return q * ulp;
}

TEST(Half, F16MatchesIndependentRounding) {
  // Every f16 bit pattern decodes to a value that re-encodes to itself.
  for (uint32_t b = 0; b < 0x10000; ++b) {
    const uint16_t bits = static_cast<uint16_t>(b);
    const float v = f16_bits_to_float(bits);
    if (std::isnan(v)) {
      EXPECT_TRUE(std::isnan(f16_bits_to_float(float_to_f16_bits(v))));
      continue;
    }
    ASSERT_EQ(float_to_f16_bits(v), bits) << "bits " << b;
  }
  // Random floats round like the double reference (ties to even), including subnormals.
  uint32_t state = 12345;
  for (int i = 0; i < 200000; ++i) {
    state = state * 1664525u + 1013904223u;
    float x = std::ldexp(static_cast<float>(state % 2000001) / 1e6f - 1.0f, static_cast<int>(state >> 27) - 20);
    double ref = round_to_format(x, 10, -14);
    if (std::fabs(ref) > 65504) continue;
    ASSERT_EQ(static_cast<double>(static_cast<float>(f16(x))), ref) << x;
  }
  EXPECT_TRUE(std::isinf(static_cast<float>(f16(70000.0f))));
  EXPECT_EQ(static_cast<float>(f16(65504.0f)), 65504.0f);
}

TEST(Half, BF16RoundsToNearestEven) {
  EXPECT_EQ(static_cast<float>(bf16(1.0f)), 1.0f);
  // 1 + 2^-8 is halfway between 1 and 1 + 2^-7: ties to even gives 1.
  EXPECT_EQ(static_cast<float>(bf16(1.0f + std::ldexp(1.0f, -8))), 1.0f);
  EXPECT_EQ(static_cast<float>(bf16(1.0f + 3 * std::ldexp(1.0f, -8))), 1.0f + std::ldexp(1.0f, -6));
  EXPECT_TRUE(std::isnan(static_cast<float>(bf16(std::nanf("")))));
  uint32_t state = 99;
  for (int i = 0; i < 100000; ++i) {
    state = state * 1664525u + 1013904223u;
    float x = std::ldexp(static_cast<float>(state % 2000001) / 1e6f - 1.0f, static_cast<int>(state >> 26) - 32);
    ASSERT_EQ(static_cast<double>(static_cast<float>(bf16(x))), round_to_format(x, 7, -126)) << x;
  }
}

TEST(Half, Fp8E4M3MatchesTorchSemantics) {
  EXPECT_EQ(static_cast<float>(fp8_e4m3(448.0f)), 448.0f);
  EXPECT_EQ(static_cast<float>(fp8_e4m3(460.0f)), 448.0f);          // rounds down to the max
  EXPECT_TRUE(std::isnan(static_cast<float>(fp8_e4m3(500.0f))));     // no infinity: NaN
  EXPECT_EQ(static_cast<float>(fp8_e4m3(std::ldexp(1.0f, -9))), std::ldexp(1.0f, -9));  // min subnormal
  EXPECT_EQ(fp8_e4m3(-0.0f).bits, 0x80);
  for (int b = 0; b < 256; ++b) {
    const float v = static_cast<float>(fp8_e4m3::from_bits(static_cast<uint8_t>(b)));
    if (std::isnan(v)) {
      EXPECT_EQ(b & 0x7f, 0x7f);
      continue;
    }
    EXPECT_EQ(fp8_e4m3(v).bits, b) << b;
    EXPECT_EQ(static_cast<double>(v), round_to_format(v, 3, -6));
  }
}

TEST(Half, Fp8E5M2RoundTrips) {
  for (int b = 0; b < 256; ++b) {
    const float v = static_cast<float>(fp8_e5m2::from_bits(static_cast<uint8_t>(b)));
    if (std::isnan(v)) continue;
    EXPECT_EQ(fp8_e5m2(v).bits, b) << b;
  }
  EXPECT_EQ(static_cast<float>(fp8_e5m2(57344.0f)), 57344.0f);
  EXPECT_TRUE(std::isinf(static_cast<float>(fp8_e5m2(70000.0f))));
}
