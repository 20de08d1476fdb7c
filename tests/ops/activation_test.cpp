#include "ops/activation.h"

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;
using ops::Activation;

namespace {

constexpr Activation kAll[] = {Activation::Silu, Activation::Gelu, Activation::GeluTanh,
                               Activation::Relu, Activation::QuickGelu};

// The textbook definitions, in double.
double act_ref(Activation act, double x) {
  switch (act) {
    case Activation::Silu:
      return x / (1.0 + std::exp(-x));
    case Activation::Gelu:
      return 0.5 * x * (1.0 + std::erf(x / std::sqrt(2.0)));
    case Activation::GeluTanh:
      return 0.5 * x * (1.0 + std::tanh(std::sqrt(2.0 / M_PI) * (x + 0.044715 * x * x * x)));
    case Activation::Relu:
      return x > 0 ? x : 0.0;
    case Activation::QuickGelu:
      return x / (1.0 + std::exp(-1.702 * x));
  }
  return NAN;
}

class Activations : public IsaDTypeTest {};

TEST_P(Activations, ElementwiseMatchesFloat64Reference) {
  Rng rng(21);
  for (Activation act : kAll) {
    for (int64_t n : kSizes) {
      const int64_t rows = n == 4097 ? 8 : 5;  // 8 rows of 4097: one row per chunk
      Tensor x = random_tensor({rows, n}, dtype(), rng, -8.0, 8.0);
      Tensor out = Tensor::empty({rows, n}, dtype());
      ops::activation(act, x, out);
      std::vector<double> want;
      for (double v : to_f64(x)) want.push_back(act_ref(act, v));
      ASSERT_TRUE(all_close(out, want, tolerance(dtype(), 1.0, 1)))
          << ops::activation_name(act) << " n " << n;
    }
  }
}

TEST_P(Activations, ElementwiseInPlaceOnAStridedView) {
  Rng rng(22);
  RowStrided x = row_strided(7, 33, 4, 50, dtype(), rng, -5.0, 5.0);
  const auto before = to_f64(x.base);
  std::vector<double> want;
  for (double v : to_f64(x.view)) want.push_back(act_ref(Activation::Silu, v));
  ops::activation(Activation::Silu, x.view, x.view);
  EXPECT_TRUE(all_close(x.view, want, tolerance(dtype(), 1.0, 1)));
  EXPECT_TRUE(gaps_unchanged(before, x));
}

TEST_P(Activations, GatedMatchesFloat64Reference) {
  Rng rng(23);
  for (Activation act : kAll) {
    for (int64_t d : kSizes) {
      const int64_t rows = d == 4097 ? 8 : 3;
      Tensor x = random_tensor({rows, 2 * d}, dtype(), rng, -5.0, 5.0);
      Tensor out = Tensor::empty({rows, d}, dtype());
      ops::act_and_mul(act, x, out);
      const auto xv = to_f64(x);
      std::vector<double> want;
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < d; ++i)
          want.push_back(act_ref(act, xv[static_cast<size_t>(r * 2 * d + i)]) *
                         xv[static_cast<size_t>(r * 2 * d + d + i)]);
      // Two roundings: act(gate), then the product (as Hugging Face does in bf16/f16).
      ASSERT_TRUE(all_close(out, want, tolerance(dtype(), 5.0, 2)))
          << ops::activation_name(act) << " d " << d;
    }
  }
}

TEST_P(Activations, GatedOnStridedRowsWritesOnlyItsOutput) {
  Rng rng(24);
  const int64_t rows = 6, d = 40;
  RowStrided x = row_strided(rows, 2 * d, 3, 2 * d + 9, dtype(), rng, -3.0, 3.0);
  RowStrided out = row_strided(rows, d, 1, d + 2, dtype(), rng);
  const auto out_before = to_f64(out.base);
  ops::silu_and_mul(x.view, out.view);
  const auto xv = to_f64(x.view);
  std::vector<double> want;
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t i = 0; i < d; ++i)
      want.push_back(act_ref(Activation::Silu, xv[static_cast<size_t>(r * 2 * d + i)]) *
                     xv[static_cast<size_t>(r * 2 * d + d + i)]);
  EXPECT_TRUE(all_close(out.view, want, tolerance(dtype(), 3.0)));
  EXPECT_TRUE(gaps_unchanged(out_before, out));
}

TEST_P(Activations, SpecialValues) {
  // Large magnitudes saturate to x or 0 without overflow; NaN stays NaN.
  Tensor x = Tensor::empty({1, 6}, dtype());
  const double in[] = {-200.0, -30.0, 0.0, 30.0, 200.0, NAN};
  from_f64(x, in);
  Tensor out = Tensor::empty({1, 6}, dtype());
  for (Activation act : kAll) {
    ops::activation(act, x, out);
    const auto got = to_f64(out);
    EXPECT_NEAR(got[0], 0.0, 1e-6) << ops::activation_name(act);
    EXPECT_NEAR(got[1], 0.0, 1e-6) << ops::activation_name(act);
    EXPECT_EQ(got[2], 0.0) << ops::activation_name(act);
    EXPECT_EQ(got[3], 30.0) << ops::activation_name(act);
    EXPECT_EQ(got[4], 200.0) << ops::activation_name(act);
    EXPECT_TRUE(std::isnan(got[5])) << ops::activation_name(act);
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Activations, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(ActivationParse, HuggingFaceNames) {
  EXPECT_EQ(ops::parse_activation("silu"), Activation::Silu);
  EXPECT_EQ(ops::parse_activation("swish"), Activation::Silu);
  EXPECT_EQ(ops::parse_activation("gelu"), Activation::Gelu);
  EXPECT_EQ(ops::parse_activation("gelu_new"), Activation::GeluTanh);
  EXPECT_EQ(ops::parse_activation("gelu_pytorch_tanh"), Activation::GeluTanh);
  EXPECT_EQ(ops::parse_activation("gelu_fast"), Activation::GeluTanh);
  EXPECT_EQ(ops::parse_activation("relu"), Activation::Relu);
  EXPECT_EQ(ops::parse_activation("quick_gelu"), Activation::QuickGelu);
  EXPECT_TRUE(throws_error([] { ops::parse_activation("mish"); }, ErrorCode::Unsupported,
                           {"'mish'", "hidden_act", "silu, swish, gelu", "quick_gelu"}));
}

TEST(ActivationErrors, GatedShapeAndDtype) {
  Tensor x = Tensor::zeros({2, 7}, DType::F32);
  Tensor out = Tensor::zeros({2, 3}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::silu_and_mul(x, out); }, ErrorCode::InvalidArgument,
                           {"silu_and_mul", "'x'", "[2, 7]", "even"}));
  Tensor x8 = Tensor::zeros({2, 8}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::gelu_and_mul(x8, out); }, ErrorCode::InvalidArgument,
                           {"gelu_and_mul", "'out'", "[2, 3]", "expected [2, 4]"}));
  Tensor out_bf16 = Tensor::zeros({2, 4}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::gelu_tanh_and_mul(x8, out_bf16); },
                           ErrorCode::InvalidArgument, {"gelu_tanh_and_mul", "'out'", "bf16"}));
  Tensor ints = Tensor::zeros({2, 8}, DType::I64);
  EXPECT_TRUE(throws_error([&] { ops::activation(Activation::Relu, ints, ints); },
                           ErrorCode::InvalidArgument, {"activation", "'x'", "i64"}));
}

}  // namespace
