#include "ops/layer_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

std::vector<double> layer_norm_ref(const std::vector<double>& x, int64_t h,
                                   const std::vector<double>& w, const std::vector<double>& b,
                                   double eps) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / static_cast<size_t>(h); ++r) {
    const double* xr = &x[r * static_cast<size_t>(h)];
    double mean = 0, var = 0;
    for (int64_t i = 0; i < h; ++i) mean += xr[i];
    mean /= static_cast<double>(h);
    for (int64_t i = 0; i < h; ++i) var += (xr[i] - mean) * (xr[i] - mean);
    var /= static_cast<double>(h);
    for (int64_t i = 0; i < h; ++i) {
      double v = (xr[i] - mean) / std::sqrt(var + eps);
      if (!w.empty()) v *= w[static_cast<size_t>(i)];
      if (!b.empty()) v += b[static_cast<size_t>(i)];
      y[r * static_cast<size_t>(h) + static_cast<size_t>(i)] = v;
    }
  }
  return y;
}

class LayerNorm : public IsaDTypeTest {};

TEST_P(LayerNorm, MatchesFloat64Reference) {
  Rng rng(71);
  for (int64_t h : kSizes) {
    const int64_t rows = h == 4097 ? 16 : 9;  // 16 rows of 4097: 2 rows a chunk
    // An offset mean checks the two-pass variance (no E[x^2] - E[x]^2 cancellation).
    Tensor x = random_tensor({rows, h}, dtype(), rng, 3.0, 5.0);
    Tensor w = random_tensor({h}, dtype(), rng, -2.0, 2.0);
    Tensor b = random_tensor({h}, dtype(), rng, -1.0, 1.0);
    Tensor out = Tensor::empty({rows, h}, dtype());
    ops::layer_norm(x, w, b, 1e-5, out);
    // Normalised values reach a few units: scale 4 for the cancellation in w * x_hat + b.
    ASSERT_TRUE(all_close(out, layer_norm_ref(to_f64(x), h, to_f64(w), to_f64(b), 1e-5),
                          tolerance(dtype(), 4.0, 1)))
        << "h " << h;
  }
}

TEST_P(LayerNorm, OptionalWeightAndBiasInPlaceOnStridedRows) {
  Rng rng(72);
  const int64_t h = 65;
  Tensor w = random_tensor({h}, DType::F32, rng);
  for (int variant = 0; variant < 3; ++variant) {
    RowStrided x = row_strided(6, h, 10, 90, dtype(), rng);
    const auto before = to_f64(x.base);
    Tensor wt = variant == 1 ? Tensor() : w;
    Tensor bt = variant >= 1 ? Tensor() : random_tensor({h}, dtype(), rng);
    const auto want =
        layer_norm_ref(to_f64(x.view), h, wt.defined() ? to_f64(wt) : std::vector<double>{},
                       bt.defined() ? to_f64(bt) : std::vector<double>{}, 1e-6);
    ops::layer_norm(x.view, wt, bt, 1e-6, x.view);
    EXPECT_TRUE(all_close(x.view, want, tolerance(dtype(), 4.0, 1))) << "variant " << variant;
    EXPECT_TRUE(gaps_unchanged(before, x));
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, LayerNorm, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(LayerNormErrors, BiasShapeAndEps) {
  Tensor x = Tensor::zeros({2, 6}, DType::F16);
  Tensor out = Tensor::zeros({2, 6}, DType::F16);
  Tensor w = Tensor::zeros({6}, DType::F16);
  EXPECT_TRUE(
      throws_error([&] { ops::layer_norm(x, w, Tensor::zeros({5}, DType::F16), 1e-5, out); },
                   ErrorCode::InvalidArgument, {"layer_norm", "'bias'", "[5]", "expected [6]"}));
  EXPECT_TRUE(throws_error([&] { ops::layer_norm(x, w, Tensor(), NAN, out); },
                           ErrorCode::InvalidArgument, {"layer_norm", "eps is nan"}));
}

}  // namespace
