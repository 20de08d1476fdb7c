#include "ops/elementwise.h"

#include <gtest/gtest.h>

#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

class Elementwise : public IsaDTypeTest {};

TEST_P(Elementwise, AddAndScaleMatchFloat64) {
  Rng rng(81);
  for (int64_t n : kSizes) {
    const int64_t rows = n == 4097 ? 24 : 5;  // 24 rows of 4097: 3 chunks
    Tensor a = random_tensor({rows, n}, dtype(), rng, -4.0, 4.0);
    Tensor b = random_tensor({rows, n}, dtype(), rng, -4.0, 4.0);
    Tensor out = Tensor::empty({rows, n}, dtype());
    ops::add(a, b, out);
    const auto av = to_f64(a), bv = to_f64(b);
    std::vector<double> want(av.size());
    for (size_t i = 0; i < av.size(); ++i) want[i] = av[i] + bv[i];
    ASSERT_TRUE(all_close(out, want, tolerance(dtype(), 4.0, 1))) << "add n " << n;
    ops::scale(a, 0.125, out);
    for (size_t i = 0; i < av.size(); ++i) want[i] = av[i] * 0.125;
    ASSERT_TRUE(all_close(out, want, tolerance(dtype(), 0.0, 1))) << "scale n " << n;
  }
}

TEST_P(Elementwise, InPlaceResidualAddOnStridedRows) {
  Rng rng(82);
  RowStrided a = row_strided(7, 30, 2, 40, dtype(), rng);
  Tensor b = random_tensor({7, 30}, dtype(), rng);
  const auto before = to_f64(a.base);
  const auto av = to_f64(a.view), bv = to_f64(b);
  std::vector<double> want(av.size());
  for (size_t i = 0; i < av.size(); ++i) want[i] = av[i] + bv[i];
  ops::add(a.view, b, a.view);
  EXPECT_TRUE(all_close(a.view, want, tolerance(dtype(), 1.0, 1)));
  EXPECT_TRUE(gaps_unchanged(before, a));
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Elementwise, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(ElementwiseErrors, MismatchedOperands) {
  Tensor a = Tensor::zeros({2, 3}, DType::F32);
  Tensor b = Tensor::zeros({2, 3}, DType::BF16);
  Tensor out = Tensor::zeros({2, 3}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::add(a, b, out); }, ErrorCode::InvalidArgument,
                           {"add", "'b' has dtype bf16", "'a' has f32"}));
  Tensor c = Tensor::zeros({3, 2}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::add(a, c, out); }, ErrorCode::InvalidArgument,
                           {"add", "'b'", "[3, 2]", "expected [2, 3]"}));
  EXPECT_TRUE(throws_error([&] { ops::scale(a, INFINITY, out); }, ErrorCode::InvalidArgument,
                           {"scale", "inf"}));
}

}  // namespace
