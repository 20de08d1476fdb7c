// CUDA layer norm against the CPU op and a float64 reference on fresh random inputs: f32/bf16/f16
// x, weight and bias each f32/bf16/f16 or absent, odd and model-sized hidden sizes, strided and
// misaligned rows (nothing written between them), in place, and rows with a large mean (where a
// one-pass E[x^2] - E[x]^2 would lose the variance). Outputs are poisoned with NaN before each run.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/layer_norm.h"
#include "ops/reference.h"
#include "pagoda/tensor.h"

using namespace pagoda;
using namespace pagoda::testing;
using pagoda::test::to_f64;

namespace {

constexpr DType kTypes[] = {DType::F32, DType::BF16, DType::F16};

std::vector<double> reference(const Tensor& x, const Tensor& w, const Tensor& b, double eps) {
  std::vector<double> v = to_f64(x);
  const std::vector<double> wv = w.defined() ? to_f64(w) : std::vector<double>();
  const std::vector<double> bv = b.defined() ? to_f64(b) : std::vector<double>();
  const int64_t h = x.size(-1), rows = x.numel() / h;
  for (int64_t r = 0; r < rows; ++r) {
    double* row = v.data() + r * h;
    double mean = 0, var = 0;
    for (int64_t i = 0; i < h; ++i) mean += row[i];
    mean /= static_cast<double>(h);
    for (int64_t i = 0; i < h; ++i) var += (row[i] - mean) * (row[i] - mean);
    const double rstd = 1.0 / std::sqrt(var / static_cast<double>(h) + eps);
    for (int64_t i = 0; i < h; ++i) {
      double y = (row[i] - mean) * rstd;
      if (w.defined()) y *= wv[static_cast<size_t>(i)];
      if (b.defined()) y += bv[static_cast<size_t>(i)];
      row[i] = y;
    }
  }
  return v;
}

// Relative to the largest reference magnitude of the whole tensor; NaN anywhere fails.
::testing::AssertionResult close(const std::vector<double>& got, const std::vector<double>& want,
                                 double rel) {
  double top = 1e-30;
  for (double w : want) top = std::max(top, std::fabs(w));
  for (size_t i = 0; i < got.size(); ++i)
    if (!(std::fabs(got[i] - want[i]) <= rel * top))
      return ::testing::AssertionFailure()
             << "element " << i << ": got " << got[i] << ", want " << want[i];
  return ::testing::AssertionSuccess();
}

TEST(CudaLayerNorm, AllDtypesAndAffineFormsMatchCpuAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(51);
  for (DType d : kTypes)
    for (DType wd : kTypes)
      for (auto [rows, h] :
           {std::pair<int64_t, int64_t>{1, 64}, {7, 4096}, {33, 1000}, {3, 17}, {2, 2560}, {4, 1}})
        for (int affine = 0; affine < 4; ++affine) {
          const bool with_w = affine & 1, with_b = affine & 2;
          SCOPED_TRACE(std::string(dtype_name(d)) + " w/b " + std::string(dtype_name(wd)) + " " +
                       std::to_string(rows) + "x" + std::to_string(h) + (with_w ? " w" : "") +
                       (with_b ? " b" : ""));
          Tensor x = random_cpu({rows, h}, d, rng, -3, 5);
          Tensor w = with_w ? random_cpu({h}, wd, rng, 0.5f, 1.5f) : Tensor();
          Tensor b = with_b ? random_cpu({h}, wd, rng, -1, 1) : Tensor();
          Tensor want = Tensor::empty({rows, h}, d);
          ops::layer_norm(x, w, b, 1e-5, want);
          Tensor gx = to_gpu(x), gw = with_w ? to_gpu(w) : Tensor(),
                 gb = with_b ? to_gpu(b) : Tensor();
          Tensor gout = poisoned_gpu({rows, h}, d);
          ops::layer_norm(gx, gw, gb, 1e-5, gout);
          const std::vector<double> got = to_f64(to_cpu(gout));
          EXPECT_TRUE(close(got, to_f64(want), tolerance(d))) << "against the CPU op";
          EXPECT_TRUE(close(got, reference(x, w, b, 1e-5), tolerance(d))) << "against float64";
          ops::layer_norm(gx, gw, gb, 1e-5, gx);
          EXPECT_TRUE(close(to_f64(to_cpu(gx)), to_f64(want), tolerance(d))) << "in place";
        }
}

TEST(CudaLayerNorm, StridedRowsInPlaceAndLargeMean) {
  REQUIRE_GPU();
  std::mt19937 rng(52);
  for (DType d : kTypes) {
    SCOPED_TRACE(dtype_name(d));
    const int64_t rows = 5, h = 2049, width = h + 10;
    Tensor full = random_cpu({rows, width}, d, rng, 90, 110);  // mean ~100, spread ~6
    const Tensor x = full.slice(1, 3, 3 + h);
    Tensor w = random_cpu({h}, DType::F32, rng, 0.5f, 1.5f);
    Tensor b = random_cpu({h}, DType::BF16, rng, -1, 1);
    Tensor want = Tensor::empty({rows, h}, d);
    ops::layer_norm(x, w, b, 1e-6, want);
    Tensor gfull = to_gpu(full);
    Tensor gx = same_view_on(x, full, gfull);
    ops::layer_norm(gx, to_gpu(w), to_gpu(b), 1e-6, gx);
    const Tensor back = to_cpu(gfull);
    const std::vector<double> got = to_f64(back.slice(1, 3, 3 + h));
    EXPECT_TRUE(close(got, to_f64(want), tolerance(d))) << "against the CPU op";
    EXPECT_TRUE(close(got, reference(x, w, b, 1e-6), tolerance(d))) << "against float64";
    EXPECT_EQ(to_f64(back.slice(1, 0, 3)), to_f64(full.slice(1, 0, 3)));
    EXPECT_EQ(to_f64(back.slice(1, 3 + h, width)), to_f64(full.slice(1, 3 + h, width)));
  }
}

}  // namespace
