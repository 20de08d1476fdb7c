#include "ops/rms_norm.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;
using ops::RmsNormWeight;

namespace {

// y[r, i] = x[r, i] / sqrt(mean_i(x[r, :]^2) + eps) * factor(w[i]), in double.
std::vector<double> rms_norm_ref(const std::vector<double>& x, int64_t h,
                                 const std::vector<double>& w, double eps, RmsNormWeight form) {
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / static_cast<size_t>(h); ++r) {
    const double* xr = &x[r * static_cast<size_t>(h)];
    double ss = 0;
    for (int64_t i = 0; i < h; ++i) ss += xr[i] * xr[i];
    const double scale = 1.0 / std::sqrt(ss / static_cast<double>(h) + eps);
    for (int64_t i = 0; i < h; ++i) {
      double f = 1.0;
      if (!w.empty())
        f = form == RmsNormWeight::OnePlus ? 1.0 + w[static_cast<size_t>(i)]
                                           : w[static_cast<size_t>(i)];
      y[r * static_cast<size_t>(h) + static_cast<size_t>(i)] = xr[i] * scale * f;
    }
  }
  return y;
}

class RmsNorm : public IsaDTypeTest {};

TEST_P(RmsNorm, MatchesFloat64ReferenceForAllSizesAndBothWeightForms) {
  Rng rng(11);
  for (RmsNormWeight form : {RmsNormWeight::Plain, RmsNormWeight::OnePlus}) {
    for (int64_t h : kSizes) {
      // 64 rows of 4097 split over threads (row_grain gives 4-row chunks).
      for (int64_t rows : {int64_t{1}, int64_t{3}, h == 4097 ? int64_t{64} : int64_t{17}}) {
        Tensor x = random_tensor({rows, h}, dtype(), rng, -2.0, 2.0);
        Tensor w = random_tensor({h}, dtype(), rng, -1.5, 1.5);
        Tensor out = Tensor::empty({rows, h}, dtype());
        ops::rms_norm(x, w, 1e-5, out, form);
        const auto want = rms_norm_ref(to_f64(x), h, to_f64(w), 1e-5, form);
        ASSERT_TRUE(all_close(out, want, tolerance(dtype())))
            << "rows " << rows << " h " << h << " form " << static_cast<int>(form);
      }
    }
  }
}

TEST_P(RmsNorm, RowStridedInputAndOutputLeaveTheGapsAlone) {
  Rng rng(12);
  const int64_t rows = 33, h = 257;
  // x is the k part of a fused [T, q | k | v] buffer; out is the middle of another wide buffer.
  RowStrided x = row_strided(rows, h, 300, 300 + h + 100, dtype(), rng);
  RowStrided out = row_strided(rows, h, 5, h + 11, dtype(), rng);
  const auto x_before = to_f64(x.base);
  const auto out_before = to_f64(out.base);
  Tensor w = random_tensor({h}, dtype(), rng);
  ops::rms_norm(x.view, w, 1e-6, out.view, RmsNormWeight::Plain);
  EXPECT_TRUE(all_close(out.view,
                        rms_norm_ref(to_f64(x.view), h, to_f64(w), 1e-6, RmsNormWeight::Plain),
                        tolerance(dtype())));
  EXPECT_EQ(to_f64(x.base), x_before);
  EXPECT_TRUE(gaps_unchanged(out_before, out));
}

TEST_P(RmsNorm, PerHeadNormOnAStridedThreeDimensionalViewInPlace) {
  // Qwen3-style q norm: [T, heads, head_size] view of q inside a fused qkv buffer, normalised in
  // place per head.
  Rng rng(13);
  const int64_t t = 9, heads = 4, hd = 64, width = heads * hd + 2 * hd;
  Tensor qkv = random_tensor({t, width}, dtype(), rng, -3.0, 3.0);
  const auto before = to_f64(qkv);
  Tensor q = qkv.slice(1, 0, heads * hd).view_as_dtype(dtype());
  // [T, heads*hd] with row stride `width` -> [T, heads, hd] view with strides (width, hd, 1).
  Tensor q3 = Tensor::from_storage(qkv.storage(), qkv.byte_offset(), {t, heads, hd}, {width, hd, 1},
                                   dtype());
  Tensor w = random_tensor({hd}, dtype(), rng);
  const auto want = rms_norm_ref(to_f64(q3), hd, to_f64(w), 1e-6, RmsNormWeight::Plain);
  ops::rms_norm(q3, w, 1e-6, q3);
  EXPECT_TRUE(all_close(q3, want, tolerance(dtype())));
  const auto after = to_f64(qkv);
  for (int64_t r = 0; r < t; ++r)
    for (int64_t c = heads * hd; c < width; ++c)
      ASSERT_EQ(after[static_cast<size_t>(r * width + c)],
                before[static_cast<size_t>(r * width + c)]);
}

TEST_P(RmsNorm, WithoutWeightAndWithAnF32Weight) {
  Rng rng(14);
  Tensor x = random_tensor({5, 100}, dtype(), rng);
  Tensor out = Tensor::empty({5, 100}, dtype());
  ops::rms_norm(x, Tensor(), 1e-6, out);
  EXPECT_TRUE(all_close(out, rms_norm_ref(to_f64(x), 100, {}, 1e-6, RmsNormWeight::Plain),
                        tolerance(dtype(), 1.0, 1)));
  Tensor w = random_tensor({100}, DType::F32, rng);
  ops::rms_norm(x, w, 1e-6, out, RmsNormWeight::OnePlus);
  EXPECT_TRUE(all_close(out, rms_norm_ref(to_f64(x), 100, to_f64(w), 1e-6, RmsNormWeight::OnePlus),
                        tolerance(dtype())));
}

TEST_P(RmsNorm, FusedAddStoresTheSumAndNormalisesIt) {
  Rng rng(15);
  for (RmsNormWeight form : {RmsNormWeight::Plain, RmsNormWeight::OnePlus}) {
    for (int64_t h : kSizes) {
      const int64_t rows = h == 4097 ? 24 : 17;                     // 24 rows of 4097: 6 chunks
      RowStrided x = row_strided(rows, h, 0, h + 3, dtype(), rng);  // strided, as a qkv slice
      Tensor residual = random_tensor({rows, h}, dtype(), rng, -4.0, 4.0);
      Tensor w = random_tensor({h}, dtype(), rng);
      const auto x_before = to_f64(x.view);
      const auto base_before = to_f64(x.base);
      const auto r_before = to_f64(residual);
      ops::fused_add_rms_norm(x.view, residual, w, 1e-6, form);
      std::vector<double> sum(x_before.size());
      for (size_t i = 0; i < sum.size(); ++i) sum[i] = x_before[i] + r_before[i];
      // One rounding of a sum of values up to 5 in magnitude.
      ASSERT_TRUE(all_close(residual, sum, tolerance(dtype(), 5.0, 1))) << "h " << h;
      ASSERT_TRUE(all_close(x.view, rms_norm_ref(to_f64(residual), h, to_f64(w), 1e-6, form),
                            tolerance(dtype())))
          << "h " << h;
      ASSERT_TRUE(gaps_unchanged(base_before, x));
    }
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, RmsNorm, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(RmsNormErrors, NameTheArgumentTheExpectationAndAFix) {
  Tensor x = Tensor::zeros({4, 8}, DType::BF16);
  Tensor out = Tensor::zeros({4, 8}, DType::BF16);
  Tensor w = Tensor::zeros({8}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(x, Tensor::zeros({9}, DType::BF16), 1e-6, out); },
                           ErrorCode::InvalidArgument,
                           {"rms_norm", "'weight'", "[9]", "expected [8]", "Fix:"}));
  EXPECT_TRUE(throws_error(
      [&] {
        ops::rms_norm(Tensor::zeros({4, 8}, DType::I32), w, 1e-6, out);
      },
      ErrorCode::InvalidArgument, {"rms_norm", "'x'", "i32", "f32, bf16 or f16"}));
  Tensor wrong_out = Tensor::zeros({4, 7}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(x, w, 1e-6, wrong_out); },
                           ErrorCode::InvalidArgument, {"'out'", "[4, 7]", "expected [4, 8]"}));
  Tensor f32_out = Tensor::zeros({4, 8}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(x, w, 1e-6, f32_out); }, ErrorCode::InvalidArgument,
                           {"'out'", "f32", "'x' has bf16"}));
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(x, w, -1.0, out); }, ErrorCode::InvalidArgument,
                           {"rms_norm", "eps is -1"}));
  Tensor xt = Tensor::zeros({8, 8}, DType::BF16).transpose(0, 1);
  Tensor out8 = Tensor::zeros({8, 8}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(xt, w, 1e-6, out8); }, ErrorCode::InvalidArgument,
                           {"'x'", "last-dimension stride of 8", "contiguous"}));
  std::vector<uint16_t> ro(32);
  Tensor ro_out = Tensor::from_blob_read_only(ro.data(), {4, 8}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(x, w, 1e-6, ro_out); }, ErrorCode::InvalidArgument,
                           {"'out' is read-only", "clone()"}));
  Tensor residual = Tensor::zeros({4, 9}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::fused_add_rms_norm(x, residual, w, 1e-6); },
                           ErrorCode::InvalidArgument,
                           {"fused_add_rms_norm", "'residual'", "[4, 9]"}));
}

TEST(RmsNormErrors, CudaTensorsAreUnsupportedForNow) {
  // Borrowed memory marked as CUDA: never dereferenced, the op refuses before touching it.
  std::vector<uint16_t> fake(32);
  Tensor x = Tensor::from_blob(fake.data(), {4, 8}, DType::BF16, Device::cuda(0));
  Tensor w = Tensor::from_blob(fake.data(), {8}, DType::BF16, Device::cuda(0));
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(x, w, 1e-6, x); }, ErrorCode::Unsupported,
                           {"rms_norm", "cuda:0"}));
  Tensor cpu_w = Tensor::zeros({8}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::rms_norm(x, cpu_w, 1e-6, x); }, ErrorCode::InvalidArgument,
                           {"'weight' is on cpu", "'x' is on cuda:0"}));
}

}  // namespace
