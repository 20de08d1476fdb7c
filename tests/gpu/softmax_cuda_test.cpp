// CUDA softmax (f32 out) against the CPU op and a float64 reference on fresh random inputs:
// f32/bf16/f16 inputs, short and vocabulary-long rows (128256), odd lengths, strided and
// misaligned rows on both sides (nothing written between them), in place for f32, and the rows
// that must come out all NaN (a NaN, a +inf, only -inf) next to rows with some -inf that must
// not. Outputs are poisoned with NaN before each run.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/reference.h"
#include "ops/softmax.h"
#include "pagoda/tensor.h"

using namespace pagoda;
using namespace pagoda::testing;
using pagoda::test::to_f64;

namespace {

constexpr DType kTypes[] = {DType::F32, DType::BF16, DType::F16};

// Softmax of each row of x (read as double), in double.
std::vector<double> reference(const Tensor& x) {
  std::vector<double> v = to_f64(x);
  const int64_t n = x.size(-1), rows = x.numel() / n;
  for (int64_t r = 0; r < rows; ++r) {
    double* row = v.data() + r * n;
    double m = -INFINITY, s = 0;
    for (int64_t i = 0; i < n; ++i) m = std::max(m, row[i]);
    for (int64_t i = 0; i < n; ++i) s += std::exp(row[i] - m);
    for (int64_t i = 0; i < n; ++i) row[i] = std::exp(row[i] - m) / s;
  }
  return v;
}

// Probabilities: absolute error against the row's largest probability.
::testing::AssertionResult close_rows(const std::vector<double>& got,
                                      const std::vector<double>& want, int64_t n, double rel) {
  for (size_t r = 0; r * n < got.size(); ++r) {
    double top = 1e-30;
    for (int64_t i = 0; i < n; ++i) top = std::max(top, std::fabs(want[r * n + i]));
    for (int64_t i = 0; i < n; ++i) {
      const double g = got[r * n + i], w = want[r * n + i];
      if (std::isnan(w) ? !std::isnan(g) : !(std::fabs(g - w) <= rel * top))
        return ::testing::AssertionFailure()
               << "row " << r << " element " << i << ": got " << g << ", want " << w;
    }
  }
  return ::testing::AssertionSuccess();
}

TEST(CudaSoftmax, ContiguousMatchesCpuAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(31);
  for (DType d : kTypes)
    for (auto [rows, n] : {std::pair<int64_t, int64_t>{1, 1},
                           {5, 1},
                           {3, 17},
                           {4, 1000},
                           {7, 4096},
                           {2, 128256},
                           {9, 333}}) {
      SCOPED_TRACE(std::string(dtype_name(d)) + " " + std::to_string(rows) + "x" +
                   std::to_string(n));
      Tensor x = random_cpu({rows, n}, d, rng, -8, 8);
      Tensor want = Tensor::empty({rows, n}, DType::F32);
      ops::softmax(x, want);
      Tensor gx = to_gpu(x), gout = poisoned_gpu({rows, n}, DType::F32);
      ops::softmax(gx, gout);
      const std::vector<double> got = to_f64(to_cpu(gout));
      EXPECT_TRUE(close_rows(got, to_f64(want), n, 1e-5)) << "against the CPU op";
      EXPECT_TRUE(close_rows(got, reference(x), n, 1e-5)) << "against float64";
      if (d == DType::F32) {
        ops::softmax(gx, gx);
        EXPECT_TRUE(close_rows(to_f64(to_cpu(gx)), to_f64(want), n, 1e-5)) << "in place";
      }
    }
}

TEST(CudaSoftmax, StridedMisalignedRowsAndThreeDims) {
  REQUIRE_GPU();
  std::mt19937 rng(32);
  for (DType d : kTypes)
    for (int64_t col : {int64_t{0}, int64_t{1}, int64_t{8}}) {
      const int64_t rows = 6, n = 1500, width = n + 20;
      SCOPED_TRACE(std::string(dtype_name(d)) + " col " + std::to_string(col));
      const Tensor base = random_cpu({rows, width}, d, rng, -5, 5);
      const Tensor x = base.slice(1, col, col + n);
      Tensor gbase = to_gpu(base);
      Tensor gx = same_view_on(x, base, gbase);
      Tensor want = Tensor::empty({rows, n}, DType::F32);
      ops::softmax(x, want);
      // Output rows at column 3 of a poisoned [rows, width] f32 buffer (never 16-byte aligned).
      const Tensor out_base = Tensor::empty({rows, width}, DType::F32);
      Tensor gout_base = poisoned_gpu(out_base.shape(), DType::F32);
      Tensor gout = same_view_on(out_base.slice(1, 3, 3 + n), out_base, gout_base);
      ops::softmax(gx, gout);
      const Tensor back = to_cpu(gout_base);
      EXPECT_TRUE(close_rows(to_f64(back.slice(1, 3, 3 + n)), to_f64(want), n, 1e-5));
      EXPECT_TRUE(close_rows(to_f64(back.slice(1, 3, 3 + n)), reference(x), n, 1e-5));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < width; ++c)
          if (c < 3 || c >= 3 + n) {
            ASSERT_TRUE(std::isnan(value_at(back, r * width + c)));
          }
    }
  // [2, 3, 50] viewed as [2, 3, 50] slices of [2, 4, 64].
  const Tensor base = random_cpu({2, 4, 64}, DType::BF16, rng);
  const Tensor x = base.slice(1, 1, 4).slice(2, 5, 55);
  Tensor want = Tensor::empty({2, 3, 50}, DType::F32);
  ops::softmax(x, want);
  Tensor gout = poisoned_gpu({2, 3, 50}, DType::F32);
  Tensor gbase = to_gpu(base);
  ops::softmax(same_view_on(x, base, gbase), gout);
  EXPECT_TRUE(close_rows(to_f64(to_cpu(gout)), to_f64(want), 50, 1e-5)) << "3-d";
}

TEST(CudaSoftmax, NonFiniteRows) {
  REQUIRE_GPU();
  std::mt19937 rng(33);
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  for (DType d : kTypes)
    for (int64_t n : {int64_t{7}, int64_t{3000}}) {
      SCOPED_TRACE(std::string(dtype_name(d)) + " n " + std::to_string(n));
      const int64_t rows = 6;
      Tensor x = random_cpu({rows, n}, d, rng);
      set_at(x, 0 * n + n / 2, nan);                                  // NaN: all NaN
      set_at(x, 1 * n + n - 1, inf);                                  // +inf: all NaN
      for (int64_t i = 0; i < n; ++i) set_at(x, 2 * n + i, -inf);     // only -inf: all NaN
      for (int64_t i = 0; i < n; i += 2) set_at(x, 3 * n + i, -inf);  // some -inf: finite
      for (int64_t i = 1; i < n; ++i) set_at(x, 4 * n + i, -inf);     // one finite: one-hot
      set_at(x, 5 * n, nan);                                          // NaN first
      Tensor want = Tensor::empty({rows, n}, DType::F32);
      ops::softmax(x, want);
      Tensor gout = poisoned_gpu({rows, n}, DType::F32);
      ops::softmax(to_gpu(x), gout);
      const std::vector<double> got = to_f64(to_cpu(gout)), cpu = to_f64(want);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < n; ++i) {
          const size_t k = static_cast<size_t>(r * n + i);
          const bool expect_nan = r == 0 || r == 1 || r == 2 || r == 5;
          ASSERT_EQ(std::isnan(cpu[k]), expect_nan) << "CPU row " << r;
          ASSERT_EQ(std::isnan(got[k]), expect_nan) << "row " << r << " element " << i;
          if (!expect_nan) {
            ASSERT_NEAR(got[k], cpu[k], 1e-6) << "row " << r << " element " << i;
          }
        }
    }
}

}  // namespace
