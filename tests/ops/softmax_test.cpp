#include "ops/softmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

std::vector<double> softmax_ref(const std::vector<double>& x, int64_t n) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / static_cast<size_t>(n); ++r) {
    const double* xr = &x[r * static_cast<size_t>(n)];
    double m = -INFINITY;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, xr[i]);
    double s = 0;
    for (int64_t i = 0; i < n; ++i) s += std::exp(xr[i] - m);
    for (int64_t i = 0; i < n; ++i)
      y[r * static_cast<size_t>(n) + static_cast<size_t>(i)] = std::exp(xr[i] - m) / s;
  }
  return y;
}

class Softmax : public IsaDTypeTest {};

TEST_P(Softmax, MatchesFloat64Reference) {
  Rng rng(31);
  for (int64_t n : kSizes) {
    for (int64_t rows : {int64_t{1}, int64_t{3}, n == 4097 ? int64_t{16} : int64_t{17}}) {
      Tensor x = random_tensor({rows, n}, dtype(), rng, -12.0, 12.0);
      Tensor out = Tensor::empty({rows, n}, DType::F32);
      ops::softmax(x, out);
      // f32 output, one rounding; no cancellation (all terms positive), so no absolute floor.
      Tolerance tol = tolerance(DType::F32, 0.0, 1);
      ASSERT_TRUE(all_close(out, softmax_ref(to_f64(x), n), tol)) << "rows " << rows << " n " << n;
    }
  }
}

TEST_P(Softmax, StridedInputAndOutput) {
  Rng rng(32);
  RowStrided x = row_strided(9, 100, 7, 130, dtype(), rng, -5.0, 5.0);
  RowStrided out = row_strided(9, 100, 2, 105, DType::F32, rng);
  const auto before = to_f64(out.base);
  ops::softmax(x.view, out.view);
  EXPECT_TRUE(all_close(out.view, softmax_ref(to_f64(x.view), 100), tolerance(DType::F32, 0.0, 1)));
  EXPECT_TRUE(gaps_unchanged(before, out));
}

TEST_P(Softmax, MaskedLargeAndNanRows) {
  // Row 0: -inf entries (masked logits) get exactly 0. Row 1: huge logits do not overflow.
  // Row 2: a NaN poisons the row, as in PyTorch.
  const int64_t n = 37;
  Tensor x = Tensor::empty({3, n}, dtype());
  std::vector<double> v(3 * n);
  for (int64_t i = 0; i < n; ++i) {
    v[static_cast<size_t>(i)] = i % 3 == 0 ? -INFINITY : 0.25 * static_cast<double>(i % 7);
    v[static_cast<size_t>(n + i)] = dtype() == DType::F16 ? 60000.0 - 100 * i : 1e30 - 1e28 * i;
    v[static_cast<size_t>(2 * n + i)] = i == 20 ? NAN : 1.0;
  }
  from_f64(x, v);
  Tensor out = Tensor::empty({3, n}, DType::F32);
  ops::softmax(x, out);
  const auto got = to_f64(out);
  const auto want = softmax_ref(to_f64(x.slice(0, 0, 2)), n);
  for (int64_t i = 0; i < n; ++i) {
    if (i % 3 == 0) {
      EXPECT_EQ(got[static_cast<size_t>(i)], 0.0) << i;
    }
    EXPECT_TRUE(std::isfinite(got[static_cast<size_t>(n + i)])) << i;
    EXPECT_TRUE(std::isnan(got[static_cast<size_t>(2 * n + i)])) << i;
  }
  // Terms below f32's smallest normal (row 1's spacing is 32 or more) come out as 0.
  Tolerance tol = tolerance(DType::F32, 0.0, 1);
  tol.abs = 1e-37;
  EXPECT_TRUE(all_close(std::span<const double>(got).subspan(0, 2 * n), want, tol));
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Softmax, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(Softmax, InPlaceOnF32) {
  Rng rng(33);
  Tensor x = random_tensor({4, 50}, DType::F32, rng, -3.0, 3.0);
  const auto want = softmax_ref(to_f64(x), 50);
  ops::softmax(x, x);
  EXPECT_TRUE(all_close(x, want, tolerance(DType::F32, 0.0, 1)));
}

TEST(SoftmaxErrors, OutputMustBeF32OfTheSameShape) {
  Tensor x = Tensor::zeros({2, 5}, DType::BF16);
  Tensor out_bf16 = Tensor::zeros({2, 5}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::softmax(x, out_bf16); }, ErrorCode::InvalidArgument,
                           {"softmax", "'out'", "bf16", "expected f32"}));
  Tensor out_short = Tensor::zeros({2, 4}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::softmax(x, out_short); }, ErrorCode::InvalidArgument,
                           {"softmax", "'out'", "[2, 4]", "expected [2, 5]"}));
  Tensor empty = Tensor::zeros({2, 0}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::softmax(empty, empty); }, ErrorCode::InvalidArgument,
                           {"softmax", "empty last dimension"}));
}

}  // namespace
