#include "ops/cast.h"

#include <gtest/gtest.h>

#include <cmath>
#include <utility>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

constexpr DType kFloatTypes[] = {DType::F64, DType::F32,      DType::BF16,
                                 DType::F16, DType::FP8_E4M3, DType::FP8_E5M2};

// Exact comparison, NaN equal to NaN.
::testing::AssertionResult same_values(const std::vector<double>& got,
                                       const std::vector<double>& want) {
  for (size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == want[i] || (std::isnan(got[i]) && std::isnan(want[i]))))
      return ::testing::AssertionFailure()
             << "index " << i << ": got " << got[i] << ", want " << want[i];
  return ::testing::AssertionSuccess();
}

class Cast : public ::testing::TestWithParam<cpu::CpuIsa> {
 protected:
  void SetUp() override {
    if (GetParam() > cpu::detected_cpu_isa())
      GTEST_SKIP() << "processor lacks " << cpu::cpu_isa_name(GetParam());
    cpu::set_cpu_isa(GetParam());
  }
  void TearDown() override { cpu::set_cpu_isa(cpu::detected_cpu_isa()); }
};

// Every pair of float dtypes. The reference rounds the source's exact value (as double) to the
// destination through float, which is what PyTorch's conversions do; the result must match bit
// for bit (round to nearest even), not just within a tolerance.
TEST_P(Cast, EveryPairRoundsLikeTheScalarReference) {
  Rng rng(51);
  for (DType from : kFloatTypes) {
    for (DType to : kFloatTypes) {
      for (int64_t n : kSizes) {
        const int64_t rows = 2;
        // Values past fp8_e4m3's 448 become NaN there, as in PyTorch.
        Tensor src = random_tensor({rows, n}, from, rng, -500.0, 500.0);
        Tensor out = Tensor::empty({rows, n}, to);
        ops::cast(src, out);
        Tensor want = Tensor::empty({rows, n}, to);
        from_f64(want, to_f64(src));
        ASSERT_TRUE(same_values(to_f64(out), to_f64(want)))
            << dtype_name(from) << " -> " << dtype_name(to) << " n " << n;
      }
    }
  }
}

TEST_P(Cast, ManyRowsSplitOverThreads) {
  Rng rng(53);
  for (auto [from, to] : {std::pair{DType::F32, DType::BF16}, std::pair{DType::BF16, DType::F16}}) {
    Tensor src = random_tensor({40, 4097}, from, rng, -3.0, 3.0);  // 16 rows a chunk
    Tensor out = Tensor::empty({40, 4097}, to);
    ops::cast(src, out);
    Tensor want = Tensor::empty({40, 4097}, to);
    from_f64(want, to_f64(src));
    EXPECT_TRUE(same_values(to_f64(out), to_f64(want)))
        << dtype_name(from) << " -> " << dtype_name(to);
  }
}

TEST_P(Cast, SpecialValuesAndStridedRows) {
  Rng rng(52);
  RowStrided src = row_strided(5, 21, 2, 30, DType::F32, rng, -2.0, 2.0);
  float* p = src.view.mutable_data_as<float>();
  p[0] = NAN;
  p[1] = INFINITY;
  p[2] = -0.0f;
  p[3] = 1e-30f;    // underflows in the 16-bit formats
  p[4] = 70000.0f;  // overflows f16 to inf
  RowStrided out = row_strided(5, 21, 1, 25, DType::F16, rng);
  const auto before = to_f64(out.base);
  ops::cast(src.view, out.view);
  Tensor want = Tensor::empty({5, 21}, DType::F16);
  from_f64(want, to_f64(src.view));
  EXPECT_TRUE(same_values(to_f64(out.view), to_f64(want)));
  EXPECT_TRUE(std::signbit(to_f64(out.view)[2]));
  EXPECT_TRUE(std::isinf(to_f64(out.view)[4]));
  EXPECT_TRUE(gaps_unchanged(before, out));
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Cast, ::testing::ValuesIn(kAllIsas), isa_name);

TEST(CastErrors, IntegerAndShapeMismatch) {
  Tensor ints = Tensor::zeros({4}, DType::I32);
  Tensor f = Tensor::zeros({4}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::cast(ints, f); }, ErrorCode::InvalidArgument,
                           {"cast", "'src'", "i32", "f64, f32, bf16, f16, fp8_e4m3 or fp8_e5m2"}));
  Tensor f5 = Tensor::zeros({5}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::cast(f, f5); }, ErrorCode::InvalidArgument,
                           {"cast", "'out'", "[5]", "expected [4]"}));
}

TEST(Cast, ScalarTensor) {
  Tensor s = Tensor::empty({}, DType::F64);
  *s.mutable_data_as<double>() = 1.0 / 3.0;
  Tensor o = Tensor::empty({}, DType::BF16);
  ops::cast(s, o);
  EXPECT_EQ(o.data_as<bf16>()->bits, bf16(static_cast<float>(1.0 / 3.0)).bits);
}

}  // namespace
