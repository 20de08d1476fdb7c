#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/cpu/kernels/convert.h"
#include "pagoda/half.h"

using namespace pagoda;
using namespace pagoda::cpu;

// The vectorised conversions agree bit for bit with the scalar reference in pagoda/half.h, for
// every ISA this processor supports and lengths that exercise the vector body and the tail.
class ConvertKernels : public ::testing::TestWithParam<CpuIsa> {
 protected:
  void SetUp() override {
    if (GetParam() > detected_cpu_isa()) GTEST_SKIP() << "processor lacks " << cpu_isa_name(GetParam());
    set_cpu_isa(GetParam());
  }
  void TearDown() override { set_cpu_isa(detected_cpu_isa()); }
};

TEST_P(ConvertKernels, SixteenBitToF32IsExhaustivelyExact) {
  std::vector<uint16_t> all(65536);
  for (uint32_t i = 0; i < 65536; ++i) all[i] = static_cast<uint16_t>(i);
  std::vector<float> out(all.size());
  PAGODA_CPU_DISPATCH(bf16_to_f32)(all.data(), out.data(), static_cast<int64_t>(all.size()));
  for (uint32_t i = 0; i < 65536; ++i)
    ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(static_cast<float>(bf16::from_bits(all[i]))));
  PAGODA_CPU_DISPATCH(f16_to_f32)(all.data(), out.data(), static_cast<int64_t>(all.size()));
  for (uint32_t i = 0; i < 65536; ++i) {
    const float ref = f16_bits_to_float(all[i]);
    if (std::isnan(ref)) ASSERT_TRUE(std::isnan(out[i]));
    else ASSERT_EQ(std::bit_cast<uint32_t>(out[i]), std::bit_cast<uint32_t>(ref)) << i;
  }
}

TEST_P(ConvertKernels, F32ToSixteenBitRoundsLikeReference) {
  for (int64_t n : {1, 3, 17, 4097}) {
    std::vector<float> in(static_cast<size_t>(n));
    uint32_t s = static_cast<uint32_t>(n);
    for (auto& v : in) {
      s = s * 1664525u + 1013904223u;
      v = std::ldexp(static_cast<float>(s >> 8) / 16777216.0f - 0.5f, static_cast<int>(s % 40) - 26);
    }
    in[0] = std::nanf("");
    std::vector<uint16_t> out(in.size());
    PAGODA_CPU_DISPATCH(f32_to_bf16)(in.data(), out.data(), n);
    for (size_t i = 0; i < in.size(); ++i) ASSERT_EQ(out[i], bf16(in[i]).bits) << in[i];
    PAGODA_CPU_DISPATCH(f32_to_f16)(in.data(), out.data(), n);
    for (size_t i = 1; i < in.size(); ++i) ASSERT_EQ(out[i], f16(in[i]).bits) << in[i];
    EXPECT_TRUE(std::isnan(f16_bits_to_float(out[0])));
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ConvertKernels,
                         ::testing::Values(CpuIsa::Generic, CpuIsa::Avx2, CpuIsa::Avx512),
                         [](const auto& info) { return std::string(cpu_isa_name(info.param)); });
