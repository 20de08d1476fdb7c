// CUDA add and scale against the CPU op (bit for bit: both compute in f32 and round once) and a
// float64 reference (within the dtype's tolerance), on fresh random inputs, f32/bf16/f16, odd
// shapes, contiguous (the 16-byte path), strided and misaligned rows (nothing written between
// them), and in place. Outputs are poisoned with NaN before each run.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/elementwise.h"
#include "ops/reference.h"
#include "pagoda/tensor.h"

using namespace pagoda;
using namespace pagoda::testing;
using pagoda::test::to_f64;

namespace {

constexpr DType kTypes[] = {DType::F32, DType::BF16, DType::F16};

::testing::AssertionResult identical(const std::vector<double>& got,
                                     const std::vector<double>& want) {
  for (size_t i = 0; i < got.size(); ++i)
    if (!(got[i] == want[i]))
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", want " << want[i];
  return ::testing::AssertionSuccess();
}

::testing::AssertionResult close(const std::vector<double>& got, const std::vector<double>& want,
                                 double rel) {
  double max_ref = 1e-30;
  for (double w : want) max_ref = std::max(max_ref, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= rel * max_ref))
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", want " << want[i];
  return ::testing::AssertionSuccess();
}

// A [rows, cols] view at column `col` of a [rows, width] buffer, on the CPU and the GPU.
struct Strided {
  Tensor base, view, gbase, gview;
};
Strided strided(const Tensor& base, int64_t col, int64_t cols) {
  Strided s;
  s.base = base;
  s.view = base.slice(1, col, col + cols);
  s.gbase = to_gpu(base);
  s.gview = same_view_on(s.view, base, s.gbase);
  return s;
}

const std::vector<std::vector<int64_t>> kShapes = {{1, 8}, {7, 4096},  {33, 1000}, {3, 17},
                                                   {1, 1}, {2, 3, 40}, {5, 129}};

TEST(CudaAdd, ContiguousMatchesCpuAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(21);
  for (DType d : kTypes)
    for (const auto& dims : kShapes) {
      const Shape shape(dims);
      SCOPED_TRACE(std::string(dtype_name(d)) + " " + shape.to_string());
      Tensor a = random_cpu(shape, d, rng), b = random_cpu(shape, d, rng);
      Tensor want = Tensor::empty(shape, d);
      ops::add(a, b, want);
      Tensor ga = to_gpu(a), gb = to_gpu(b), gout = poisoned_gpu(shape, d);
      ops::add(ga, gb, gout);
      const std::vector<double> got = to_f64(to_cpu(gout));
      EXPECT_TRUE(identical(got, to_f64(want))) << "against the CPU op";
      std::vector<double> ref = to_f64(a);
      const std::vector<double> bv = to_f64(b);
      for (size_t i = 0; i < ref.size(); ++i) ref[i] += bv[i];
      EXPECT_TRUE(close(got, ref, tolerance(d))) << "against float64";
      // In place, into a and into b.
      ops::add(ga, gb, ga);
      EXPECT_TRUE(identical(to_f64(to_cpu(ga)), to_f64(want))) << "out = a";
      Tensor ga2 = to_gpu(a);
      ops::add(ga2, gb, gb);
      EXPECT_TRUE(identical(to_f64(to_cpu(gb)), to_f64(want))) << "out = b";
    }
}

TEST(CudaAdd, StridedRowsTouchOnlyTheView) {
  REQUIRE_GPU();
  std::mt19937 rng(22);
  for (DType d : kTypes)
    for (int64_t cols : {int64_t{64}, int64_t{1000}, int64_t{17}}) {
      SCOPED_TRACE(std::string(dtype_name(d)) + " cols " + std::to_string(cols));
      const int64_t rows = 9;
      // Column offsets 8 (rows aligned when the width allows) and 1 (never aligned).
      Strided a = strided(random_cpu({rows, cols + 24}, d, rng), 8, cols);
      Strided b = strided(random_cpu({rows, cols + 3}, d, rng), 1, cols);
      Tensor want = Tensor::empty({rows, cols}, d);
      ops::add(a.view, b.view, want);
      const Tensor out_base = Tensor::empty({rows, cols + 16}, d);
      Tensor gout_base = poisoned_gpu(out_base.shape(), d);
      Tensor gout = same_view_on(out_base.slice(1, 8, 8 + cols), out_base, gout_base);
      ops::add(a.gview, b.gview, gout);
      const Tensor back = to_cpu(gout_base);
      EXPECT_TRUE(identical(to_f64(back.slice(1, 8, 8 + cols)), to_f64(want)));
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t c = 0; c < cols + 16; ++c)
          if (c < 8 || c >= 8 + cols) {
            ASSERT_TRUE(std::isnan(value_at(back, r * (cols + 16) + c))) << r << "," << c;
          }
      // In place through the strided view of a: the rest of a's buffer is unchanged.
      ops::add(a.gview, b.gview, a.gview);
      const Tensor a_back = to_cpu(a.gbase);
      EXPECT_TRUE(identical(to_f64(a_back.slice(1, 8, 8 + cols)), to_f64(want)));
      EXPECT_TRUE(identical(to_f64(a_back.slice(1, 0, 8)), to_f64(a.base.slice(1, 0, 8))));
      EXPECT_TRUE(identical(to_f64(a_back.slice(1, 8 + cols, cols + 24)),
                            to_f64(a.base.slice(1, 8 + cols, cols + 24))));
    }
}

TEST(CudaScale, MatchesCpuAndFloat64ContiguousStridedInPlace) {
  REQUIRE_GPU();
  std::mt19937 rng(23);
  for (DType d : kTypes)
    for (const auto& dims : kShapes)
      for (double factor : {0.125, -3.7, 1.0 / 3.0}) {
        const Shape shape(dims);
        SCOPED_TRACE(std::string(dtype_name(d)) + " " + shape.to_string() + " x" +
                     std::to_string(factor));
        Tensor x = random_cpu(shape, d, rng);
        Tensor want = Tensor::empty(shape, d);
        ops::scale(x, factor, want);
        Tensor gx = to_gpu(x), gout = poisoned_gpu(shape, d);
        ops::scale(gx, factor, gout);
        const std::vector<double> got = to_f64(to_cpu(gout));
        EXPECT_TRUE(identical(got, to_f64(want))) << "against the CPU op";
        std::vector<double> ref = to_f64(x);
        for (double& v : ref) v *= factor;
        EXPECT_TRUE(close(got, ref, tolerance(d))) << "against float64";
        ops::scale(gx, factor, gx);
        EXPECT_TRUE(identical(to_f64(to_cpu(gx)), to_f64(want))) << "in place";
      }
  // Strided, misaligned rows.
  for (DType d : kTypes) {
    Strided x = strided(random_cpu({6, 300}, d, rng), 3, 289);
    Tensor want = Tensor::empty({6, 289}, d);
    ops::scale(x.view, 2.5, want);
    ops::scale(x.gview, 2.5, x.gview);
    const Tensor back = to_cpu(x.gbase);
    EXPECT_TRUE(identical(to_f64(back.slice(1, 3, 292)), to_f64(want))) << dtype_name(d);
    EXPECT_TRUE(identical(to_f64(back.slice(1, 0, 3)), to_f64(x.base.slice(1, 0, 3))));
    EXPECT_TRUE(identical(to_f64(back.slice(1, 292, 300)), to_f64(x.base.slice(1, 292, 300))));
  }
}

}  // namespace
