#include "ops/argmax.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

// torch.argmax: first index of the maximum; the first NaN if any.
std::vector<int64_t> argmax_ref(const std::vector<double>& x, int64_t n) {
  std::vector<int64_t> idx;
  for (size_t r = 0; r < x.size() / static_cast<size_t>(n); ++r) {
    int64_t best = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double v = x[r * static_cast<size_t>(n) + static_cast<size_t>(i)];
      if (std::isnan(v)) {
        best = i;
        break;
      }
      if (v > x[r * static_cast<size_t>(n) + static_cast<size_t>(best)]) best = i;
    }
    idx.push_back(best);
  }
  return idx;
}

std::vector<int64_t> to_i64(const Tensor& t) {
  return std::vector<int64_t>(t.data_as<int64_t>(), t.data_as<int64_t>() + t.numel());
}

class Argmax : public IsaDTypeTest {};

TEST_P(Argmax, MatchesReferenceIncludingTies) {
  // bf16/f16 hold few distinct values in [-4, 4), so long rows contain ties for the maximum.
  Rng rng(41);
  for (int64_t n : kSizes) {
    const int64_t rows = n == 4097 ? 64 : 17;  // 64 rows of 4097 run on several threads
    Tensor x = random_tensor({rows, n}, dtype(), rng, -4.0, 4.0);
    Tensor out = Tensor::empty({rows}, DType::I64);
    ops::argmax(x, out);
    ASSERT_EQ(to_i64(out), argmax_ref(to_f64(x), n)) << "n " << n;
  }
}

TEST_P(Argmax, TiesAcrossChunksNanAndMinusInfinity) {
  const int64_t n = 4097;
  Tensor x = Tensor::empty({4, n}, dtype());
  std::vector<double> v(4 * n, 0.0);
  v[3000] = 7.0;
  v[4000] = 7.0;  // tie in a later 2048-element chunk: the first index wins
  v[n + 5] = NAN;
  v[n + 100] = 9.0;
  v[n + 4001] = NAN;  // the first NaN wins
  for (int64_t i = 0; i < n; ++i) v[static_cast<size_t>(2 * n + i)] = -INFINITY;  // all -inf -> 0
  v[static_cast<size_t>(3 * n + n - 1)] = 1.0;  // the maximum in the last element (vector tail)
  from_f64(x, v);
  Tensor out = Tensor::empty({4}, DType::I64);
  ops::argmax(x, out);
  EXPECT_EQ(to_i64(out), (std::vector<int64_t>{3000, 5, 0, n - 1}));
}

TEST_P(Argmax, StridedThreeDimensionalInput) {
  Rng rng(42);
  RowStrided x = row_strided(12, 301, 3, 320, dtype(), rng);
  Tensor x3 = Tensor::from_storage(x.base.storage(), x.view.byte_offset(), {3, 4, 301},
                                   {4 * 320, 320, 1}, dtype());
  Tensor out = Tensor::empty({3, 4}, DType::I64);
  ops::argmax(x3, out);
  EXPECT_EQ(to_i64(out), argmax_ref(to_f64(x.view), 301));
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Argmax, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(ArgmaxErrors, OutputShapeAndDtype) {
  Tensor x = Tensor::zeros({3, 10}, DType::F32);
  Tensor out_i32 = Tensor::zeros({3}, DType::I32);
  EXPECT_TRUE(throws_error([&] { ops::argmax(x, out_i32); }, ErrorCode::InvalidArgument,
                           {"argmax", "'out'", "i32", "expected i64"}));
  Tensor out_wrong = Tensor::zeros({10}, DType::I64);
  EXPECT_TRUE(throws_error([&] { ops::argmax(x, out_wrong); }, ErrorCode::InvalidArgument,
                           {"argmax", "'out'", "[10]", "expected [3]"}));
  Tensor strided_out = Tensor::zeros({3, 2}, DType::I64).select(1, 0);
  EXPECT_TRUE(throws_error([&] { ops::argmax(x, strided_out); }, ErrorCode::InvalidArgument,
                           {"argmax", "'out'", "not contiguous"}));
}

}  // namespace
