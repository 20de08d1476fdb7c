// The test helpers themselves: a bound that cannot fail would make every op test worthless.
#include "ops/reference.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

using namespace pagoda;
using namespace pagoda::test;

TEST(Reference, UnitRoundoffBoundsRoundingOfEachDtype) {
  Rng rng(1);
  for (DType dt : {DType::F32, DType::F16, DType::BF16, DType::FP8_E4M3}) {
    double worst = 0;
    for (int i = 0; i < 2000; ++i) {
      const double v = rng.uniform(0.5, 2.0);
      Tensor t = Tensor::empty({1}, dt);
      const double in[1] = {v};
      from_f64(t, in);
      worst = std::max(worst, std::abs(to_f64(t)[0] - v) / v);
    }
    EXPECT_LE(worst, unit_roundoff(dt)) << dtype_name(dt);
    EXPECT_GT(worst, unit_roundoff(dt) / 4) << dtype_name(dt) << ": bound far too loose";
  }
}

TEST(Reference, ToF64FollowsStrides) {
  Tensor t = Tensor::empty({2, 3}, DType::F32);
  float* p = t.mutable_data_as<float>();
  for (int i = 0; i < 6; ++i) p[i] = static_cast<float>(i);
  EXPECT_EQ(to_f64(t.transpose(0, 1)), (std::vector<double>{0, 3, 1, 4, 2, 5}));
  EXPECT_EQ(to_f64(t.slice(1, 1, 3)), (std::vector<double>{1, 2, 4, 5}));
}

TEST(Reference, AllCloseRejectsAnErrorJustOverTheBound) {
  const Tolerance tol = tolerance(DType::BF16);
  EXPECT_NEAR(tol.rel, 1e-5 + 2.0 / 256, 1e-12);
  const std::vector<double> want = {1.0, -2.0, 0.0};
  std::vector<double> got = {1.0 + 0.99 * (tol.rel + tol.abs), -2.0, tol.abs * 0.99};
  EXPECT_TRUE(all_close(got, want, tol));
  got[1] = -2.0 * (1 + 1.01 * tol.rel) - 1.01 * tol.abs;
  EXPECT_FALSE(all_close(got, want, tol));
  got[1] = NAN;
  EXPECT_FALSE(all_close(got, want, tol));
}

TEST(Reference, GapsUnchangedSeesAWriteOutsideTheView) {
  Rng rng(2);
  RowStrided r = row_strided(3, 4, 2, 9, DType::F32, rng);
  const std::vector<double> before = to_f64(r.base);
  r.view.mutable_data_as<float>()[0] = 42.0f;  // inside: fine
  EXPECT_TRUE(gaps_unchanged(before, r));
  r.base.mutable_data_as<float>()[1] = 42.0f;  // column 1: outside
  EXPECT_FALSE(gaps_unchanged(before, r));
}

TEST(Reference, ThrowsErrorChecksCodeAndText) {
  auto thrower = [] { throw_error(ErrorCode::InvalidArgument, "x is bad", "fix x"); };
  EXPECT_TRUE(throws_error(thrower, ErrorCode::InvalidArgument, {"x is bad", "fix x"}));
  EXPECT_FALSE(throws_error(thrower, ErrorCode::Unsupported, {}));
  EXPECT_FALSE(throws_error(thrower, ErrorCode::InvalidArgument, {"y"}));
  EXPECT_FALSE(throws_error([] {}, ErrorCode::InvalidArgument, {}));
}
