#include "ops/rotary.h"

#include <gtest/gtest.h>

#include <cmath>
#include <numbers>
#include <string>
#include <vector>

#include "ops/reference.h"
#include "ops/rotary_cache.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

constexpr double kPi = std::numbers::pi;

// ------------------------------------------------------------------ float64 frequency references
// Written from the published formulas (vLLM's rotary_embedding classes, transformers'
// modeling_rope_utils), independently of src/ops/rotary_cache.cpp.

std::vector<double> plain_freqs(double theta, int d) {
  std::vector<double> f;
  for (int i = 0; i < d / 2; ++i) f.push_back(std::exp(-std::log(theta) * (2.0 * i) / d));
  return f;
}

std::vector<double> llama3_freqs(const RopeConfig& c) {
  const double orig = static_cast<double>(*c.original_max_position_embeddings);
  std::vector<double> f = plain_freqs(c.theta, c.rotary_dim);
  for (double& v : f) {
    const double wavelen = 2 * kPi / v;
    if (wavelen > orig / c.low_freq_factor) {
      v = v / c.factor;                                 // low frequencies: interpolated
    } else if (wavelen >= orig / c.high_freq_factor) {  // the band in between: blended
      const double s =
          (orig / wavelen - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor);
      v = s * v + (1 - s) * v / c.factor;
    }
  }
  return f;
}

std::vector<double> yarn_freqs(const RopeConfig& c) {
  const int d = c.rotary_dim;
  const double orig =
      static_cast<double>(c.original_max_position_embeddings.value_or(c.max_position_embeddings));
  // Dimension where a frequency turns `r` times over the original context: solve
  // orig * theta^(-dim/d) = 2 pi r for dim (dimension index counted in elements, 2i).
  auto dim_for = [&](double r) {
    return d * std::log(orig / (2 * kPi * r)) / (2 * std::log(c.theta));
  };
  double lo = dim_for(c.beta_fast), hi = dim_for(c.beta_slow);
  if (c.truncate) {
    lo = std::floor(lo);
    hi = std::ceil(hi);
  }
  lo = std::max(0.0, lo);
  hi = std::min(static_cast<double>(d - 1), hi);
  if (hi == lo) hi += 0.001;
  std::vector<double> f = plain_freqs(c.theta, d);
  for (size_t i = 0; i < f.size(); ++i) {
    double t = (static_cast<double>(i) - lo) / (hi - lo);
    t = t < 0 ? 0 : (t > 1 ? 1 : t);
    const double keep = (1 - t) * c.extrapolation_factor;  // weight of the unscaled frequency
    f[i] = keep * f[i] + (1 - keep) * f[i] / c.factor;
  }
  return f;
}

double yarn_mscale(double factor, double m) {
  return factor <= 1 ? 1 : 1 + 0.1 * m * std::log(factor);
}

// Expected cache rows [row0, row0 + n) for positions 0..n-1: cos then sin, times m.
void expect_rows(const std::vector<double>& want_f, double m, int64_t row0, int64_t n,
                 const Tensor& cache, const std::string& what) {
  const int64_t d = cache.size(1);
  ASSERT_GE(cache.size(0), row0 + n) << what;
  const auto got = to_f64(cache.slice(0, row0, row0 + n));
  std::vector<double> want;
  for (int64_t p = 0; p < n; ++p) {
    for (int64_t i = 0; i < d / 2; ++i)
      want.push_back(std::cos(p * want_f[static_cast<size_t>(i)]) * m);
    for (int64_t i = 0; i < d / 2; ++i)
      want.push_back(std::sin(p * want_f[static_cast<size_t>(i)]) * m);
  }
  // One f32 rounding of a value computed in double: 1 ulp either way.
  EXPECT_TRUE(all_close(got, want, Tolerance{1.2e-7, 1e-12})) << what;
}

RopeConfig base_config(const std::string& type, int rotary_dim = 64) {
  RopeConfig c;
  c.rope_type = type;
  c.head_size = 64;
  c.rotary_dim = rotary_dim;
  c.theta = 10000.0;
  c.max_position_embeddings = 96;
  return c;
}

TEST(RotaryCache, DefaultAndPartial) {
  for (int d : {64, 32, 2}) {
    RopeConfig c = base_config("default", d);
    c.theta = 500000.0;
    const ops::RotaryCache cache = ops::build_rotary_cache(c);
    EXPECT_EQ(cache.cos_sin.shape(), (Shape{96, d}));
    EXPECT_EQ(cache.long_offset, 0);
    expect_rows(plain_freqs(c.theta, d), 1.0, 0, 96, cache.cos_sin,
                "default d=" + std::to_string(d));
  }
}

TEST(RotaryCache, LinearDividesPositionsByFactor) {
  RopeConfig c = base_config("linear");
  c.factor = 2.5;
  const ops::RotaryCache cache = ops::build_rotary_cache(c);
  EXPECT_EQ(cache.cos_sin.size(0), 240);  // ceil(96 * 2.5)
  std::vector<double> f = plain_freqs(c.theta, 64);
  for (double& v : f) v /= 2.5;
  expect_rows(f, 1.0, 0, 240, cache.cos_sin, "linear");
}

TEST(RotaryCache, DynamicNtkCoversTheScaledContextWithTheBaseOfVllm) {
  RopeConfig c = base_config("dynamic");
  c.factor = 2.0;
  const ops::RotaryCache cache = ops::build_rotary_cache(c);
  EXPECT_EQ(cache.cos_sin.size(0), 192);
  // vLLM: base * ((max_len / max_pos) - (factor - 1))^(d / (d - 2)) with max_len = max_pos *
  // factor.
  const double max_len = 96 * 2.0;
  const double base = 10000.0 * std::pow(max_len / 96 - (2.0 - 1), 64.0 / 62.0);
  expect_rows(plain_freqs(base, 64), 1.0, 0, 192, cache.cos_sin, "dynamic");
}

TEST(RotaryCache, Llama3BlendsTheMiddleBand) {
  RopeConfig c = base_config("llama3", 128);
  c.head_size = 128;
  c.theta = 500000.0;
  c.factor = 8.0;
  c.low_freq_factor = 1.0;
  c.high_freq_factor = 4.0;
  c.original_max_position_embeddings = 8192;
  c.max_position_embeddings = 300;
  const ops::RotaryCache cache = ops::build_rotary_cache(c);
  EXPECT_EQ(cache.cos_sin.size(0), 300);
  const auto f = llama3_freqs(c);
  // All three regimes occur with these (Llama 3.1) constants.
  const auto plain = plain_freqs(c.theta, 128);
  EXPECT_EQ(f[0], plain[0]);
  EXPECT_NEAR(f[63], plain[63] / 8.0, 1e-18);
  bool blended = false;
  for (size_t i = 0; i < f.size(); ++i)
    blended |= f[i] != plain[i] && std::abs(f[i] - plain[i] / 8) > 1e-15 * plain[i];
  EXPECT_TRUE(blended);
  expect_rows(f, 1.0, 0, 300, cache.cos_sin, "llama3");
}

TEST(RotaryCache, YarnRampsFrequenciesAndScalesByMscale) {
  for (bool truncate : {true, false}) {
    RopeConfig c = base_config("yarn");
    c.factor = 4.0;
    c.original_max_position_embeddings = 64;
    c.max_position_embeddings = 64;
    c.truncate = truncate;
    c.attn_factor = 0.9;
    const ops::RotaryCache cache = ops::build_rotary_cache(c);
    EXPECT_EQ(cache.cos_sin.size(0), 256);  // ceil(64 * 4)
    const double m = yarn_mscale(4.0, 1.0) * 0.9;
    // Row 0 is cos(0) = 1 and sin(0) = 0, scaled: the attention factor alone.
    EXPECT_FLOAT_EQ(cache.cos_sin.data_as<float>()[0], static_cast<float>(m));
    expect_rows(yarn_freqs(c), m, 0, 256, cache.cos_sin, truncate ? "yarn truncate" : "yarn");
  }
  // DeepSeek-style mscale / mscale_all_dim ratio, and beta values giving a narrow ramp.
  RopeConfig c = base_config("yarn");
  c.factor = 40.0;
  c.original_max_position_embeddings = 4;
  c.max_position_embeddings = 160;
  c.beta_fast = 16;
  c.beta_slow = 2;
  c.mscale = 0.707;
  c.mscale_all_dim = 0.707 * 2;
  const ops::RotaryCache cache = ops::build_rotary_cache(c);
  expect_rows(yarn_freqs(c), yarn_mscale(40.0, 0.707) / yarn_mscale(40.0, 1.414), 0, 160,
              cache.cos_sin, "yarn mscale ratio");
  // transformers' explicit attention_factor replaces the mscale term.
  c.attention_factor = 1.75;
  expect_rows(yarn_freqs(c), 1.75, 0, 160, ops::build_rotary_cache(c).cos_sin, "yarn attention_factor");
}

TEST(RotaryCache, LongRopeStacksShortAndLongTables) {
  RopeConfig c = base_config("longrope", 8);
  c.original_max_position_embeddings = 16;
  c.max_position_embeddings = 64;
  c.short_factor = {1.0, 1.1, 1.5, 2.0};
  c.long_factor = {1.0, 3.0, 9.0, 27.0};
  ops::RotaryCache cache = ops::build_rotary_cache(c);
  EXPECT_EQ(cache.cos_sin.shape(), (Shape{16 + 64, 8}));
  EXPECT_EQ(cache.long_offset, 16);
  // max / original = 4: m = sqrt(1 + ln 4 / ln 16) = sqrt(1.5).
  const double m = std::sqrt(1.5);
  auto scaled = [&](const std::vector<double>& factors) {
    std::vector<double> f = plain_freqs(c.theta, 8);
    for (size_t i = 0; i < f.size(); ++i) f[i] /= factors[i];
    return f;
  };
  expect_rows(scaled(c.short_factor), m, 0, 16, cache.cos_sin, "longrope short");
  expect_rows(scaled(c.long_factor), m, 16, 64, cache.cos_sin, "longrope long");
  c.short_mscale = 1.0;
  c.long_mscale = 1.25;
  cache = ops::build_rotary_cache(c);
  expect_rows(scaled(c.short_factor), 1.0, 0, 16, cache.cos_sin, "longrope short_mscale");
  expect_rows(scaled(c.long_factor), 1.25, 16, 64, cache.cos_sin, "longrope long_mscale");
  c.short_mscale.reset();
  c.long_mscale.reset();
  c.attention_factor = 1.1;  // replaces sqrt(1 + ln s / ln original)
  cache = ops::build_rotary_cache(c);
  expect_rows(scaled(c.long_factor), 1.1, 16, 64, cache.cos_sin, "longrope attention_factor");
}

TEST(RotaryCacheErrors, NameTheFieldAndTheFix) {
  RopeConfig c = base_config("su");
  EXPECT_TRUE(throws_error([&] { ops::build_rotary_cache(c); }, ErrorCode::Unsupported,
                           {"rope_type 'su'", "default, linear, dynamic, llama3, yarn, longrope"}));
  c = base_config("default", 63);
  EXPECT_TRUE(throws_error([&] { ops::build_rotary_cache(c); }, ErrorCode::InvalidConfig,
                           {"rotary_dim is 63", "even"}));
  c = base_config("default", 128);
  EXPECT_TRUE(throws_error([&] { ops::build_rotary_cache(c); }, ErrorCode::InvalidConfig,
                           {"rotary_dim 128 exceeds head_size 64", "partial_rotary_factor"}));
  c = base_config("llama3");
  EXPECT_TRUE(throws_error([&] { ops::build_rotary_cache(c); }, ErrorCode::InvalidConfig,
                           {"'llama3'", "original_max_position_embeddings is missing"}));
  c = base_config("longrope", 8);
  c.original_max_position_embeddings = 16;
  c.short_factor = {1, 1, 1};
  c.long_factor = {1, 1, 1, 1};
  EXPECT_TRUE(throws_error([&] { ops::build_rotary_cache(c); }, ErrorCode::InvalidConfig,
                           {"short_factor has 3 values", "rotary_dim / 2 = 4"}));
  c = base_config("linear");
  c.factor = 0;
  EXPECT_TRUE(
      throws_error([&] { ops::build_rotary_cache(c); }, ErrorCode::InvalidConfig, {"factor is 0"}));
}

// ------------------------------------------------------------------ apply_rotary

struct RotaryCase {
  int64_t head_size;
  int64_t rotary_dim;
  bool neox;
};

// Rotates every head of x ([T, heads * head_size], as doubles) in double, from the test's own
// frequencies; dimensions past rotary_dim pass through.
std::vector<double> rotate_ref(std::vector<double> x, int64_t heads, const RotaryCase& rc,
                               const std::vector<int64_t>& pos, double theta) {
  const auto f = plain_freqs(theta, static_cast<int>(rc.rotary_dim));
  const int64_t half = rc.rotary_dim / 2;
  for (size_t t = 0; t < pos.size(); ++t) {
    for (int64_t h = 0; h < heads; ++h) {
      double* v =
          &x[t * static_cast<size_t>(heads * rc.head_size) + static_cast<size_t>(h * rc.head_size)];
      for (int64_t i = 0; i < half; ++i) {
        const double c = std::cos(pos[t] * f[static_cast<size_t>(i)]),
                     s = std::sin(pos[t] * f[static_cast<size_t>(i)]);
        double& a = rc.neox ? v[i] : v[2 * i];
        double& b = rc.neox ? v[i + half] : v[2 * i + 1];
        const double a0 = a, b0 = b;
        a = a0 * c - b0 * s;
        b = b0 * c + a0 * s;
      }
    }
  }
  return x;
}

Tensor make_positions(const std::vector<int64_t>& pos, DType dtype) {
  Tensor t = Tensor::empty({static_cast<int64_t>(pos.size())}, dtype);
  for (size_t i = 0; i < pos.size(); ++i) {
    if (dtype == DType::I64)
      t.mutable_data_as<int64_t>()[i] = pos[i];
    else
      t.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(pos[i]);
  }
  return t;
}

class ApplyRotary : public IsaDTypeTest {};

TEST_P(ApplyRotary, QueryAndKeySlicesOfAFusedQkvBuffer) {
  Rng rng(91);
  const int64_t nq = 4, nk = 2;
  for (RotaryCase rc :
       {RotaryCase{64, 64, true}, RotaryCase{64, 64, false}, RotaryCase{80, 32, true},
        RotaryCase{80, 32, false}, RotaryCase{6, 2, true}}) {
    RopeConfig cfg = base_config("default", static_cast<int>(rc.rotary_dim));
    cfg.head_size = static_cast<int>(rc.head_size);
    cfg.max_position_embeddings = 4096;
    const ops::RotaryCache cache = ops::build_rotary_cache(cfg);
    for (int64_t tokens : {int64_t{1}, int64_t{3}, int64_t{17}, int64_t{64}}) {
      const int64_t q_size = nq * rc.head_size, kv_size = nk * rc.head_size;
      // A fused [T, q | k | v] buffer; q and k are row-strided views of it, v must stay untouched.
      Tensor qkv = random_tensor({tokens, q_size + 2 * kv_size}, dtype(), rng, -2.0, 2.0);
      Tensor q = qkv.slice(1, 0, q_size);
      Tensor k = qkv.slice(1, q_size, q_size + kv_size);
      std::vector<int64_t> pos;
      for (int64_t t = 0; t < tokens; ++t) pos.push_back(rng.integer(0, 4095));
      pos[0] = 4095;
      const auto before = to_f64(qkv);
      const auto want_q = rotate_ref(to_f64(q), nq, rc, pos, cfg.theta);
      const auto want_k = rotate_ref(to_f64(k), nk, rc, pos, cfg.theta);
      ops::apply_rotary(make_positions(pos, tokens % 2 ? DType::I64 : DType::I32), q, k,
                        cache.cos_sin, rc.head_size, rc.neox);
      const std::string what = "head " + std::to_string(rc.head_size) + " rot " +
                               std::to_string(rc.rotary_dim) + (rc.neox ? " neox" : " gptj") +
                               " T " + std::to_string(tokens);
      // One rounding of x1 cos - x2 sin, whose terms are up to 2 in magnitude.
      ASSERT_TRUE(all_close(q, want_q, tolerance(dtype(), 2.0, 1))) << what;
      ASSERT_TRUE(all_close(k, want_k, tolerance(dtype(), 2.0, 1))) << what;
      // Pass-through dimensions and the v part are bit-identical.
      const auto after = to_f64(qkv);
      const int64_t width = q_size + 2 * kv_size;
      for (int64_t t = 0; t < tokens; ++t)
        for (int64_t c = 0; c < width; ++c) {
          const bool rotated = c < q_size + kv_size && c % rc.head_size < rc.rotary_dim;
          if (!rotated) {
            ASSERT_EQ(after[static_cast<size_t>(t * width + c)],
                      before[static_cast<size_t>(t * width + c)])
                << what << " t " << t << " c " << c;
          }
        }
    }
  }
}

TEST_P(ApplyRotary, QueryOnlyAndLongRopeOffset) {
  Rng rng(92);
  RopeConfig cfg = base_config("longrope", 8);
  cfg.head_size = 8;
  cfg.original_max_position_embeddings = 16;
  cfg.max_position_embeddings = 64;
  cfg.short_factor = {1, 1, 1, 1};
  cfg.long_factor = {1, 1, 1, 1};
  cfg.long_mscale = 1.0;
  const ops::RotaryCache cache = ops::build_rotary_cache(cfg);
  Tensor q = random_tensor({5, 16}, dtype(), rng);
  const std::vector<int64_t> pos = {0, 1, 7, 40, 63};
  std::vector<int64_t> shifted;
  for (int64_t p : pos) shifted.push_back(p + cache.long_offset);  // a long-context sequence
  const auto want = rotate_ref(to_f64(q), 2, RotaryCase{8, 8, true}, pos, cfg.theta);
  Tensor no_key;
  ops::apply_rotary(make_positions(shifted, DType::I64), q, no_key, cache.cos_sin, 8, true);
  EXPECT_TRUE(all_close(q, want, tolerance(dtype(), 2.0, 1)));
}

INSTANTIATE_TEST_SUITE_P(AllIsas, ApplyRotary, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(ApplyRotaryErrors, BadPositionWritesNothing) {
  RopeConfig cfg = base_config("default", 8);
  cfg.max_position_embeddings = 32;
  const ops::RotaryCache cache = ops::build_rotary_cache(cfg);
  Tensor q = Tensor::zeros({3, 16}, DType::F32);
  q.mutable_data_as<float>()[0] = 1.0f;
  Tensor k = Tensor::zeros({3, 8}, DType::F32);
  const auto before = to_f64(q);
  EXPECT_TRUE(throws_error(
      [&] {
        ops::apply_rotary(make_positions({1, 2, 32}, DType::I64), q, k, cache.cos_sin, 8, true);
      },
      ErrorCode::InvalidArgument, {"positions[2] = 32", "[0, 32)", "max_position_embeddings"}));
  EXPECT_EQ(to_f64(q), before);
  EXPECT_TRUE(throws_error(
      [&] {
        ops::apply_rotary(make_positions({1, -1, 0}, DType::I32), q, k, cache.cos_sin, 8, true);
      },
      ErrorCode::InvalidArgument, {"positions[1] = -1"}));
}

TEST(ApplyRotaryErrors, ShapesAndDtypes) {
  RopeConfig cfg = base_config("default", 8);
  cfg.max_position_embeddings = 32;
  const ops::RotaryCache cache = ops::build_rotary_cache(cfg);
  Tensor pos = make_positions({0, 1, 2}, DType::I64);
  Tensor q = Tensor::zeros({3, 20}, DType::BF16);
  Tensor k = Tensor::zeros({3, 8}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::apply_rotary(pos, q, k, cache.cos_sin, 8, true); },
                           ErrorCode::InvalidArgument,
                           {"apply_rotary", "'query'", "20 columns", "head_size 8"}));
  Tensor q16 = Tensor::zeros({3, 16}, DType::BF16);
  Tensor k2 = Tensor::zeros({2, 8}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::apply_rotary(pos, q16, k2, cache.cos_sin, 8, true); },
                           ErrorCode::InvalidArgument,
                           {"'key' has 2 rows", "positions has 3 tokens"}));
  Tensor kf = Tensor::zeros({3, 8}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::apply_rotary(pos, q16, kf, cache.cos_sin, 8, true); },
                           ErrorCode::InvalidArgument,
                           {"'key' has dtype f32", "'query' has bf16"}));
  EXPECT_TRUE(throws_error([&] { ops::apply_rotary(pos, q16, k, cache.cos_sin, 4, true); },
                           ErrorCode::InvalidArgument, {"rotary_dim is 8", "head_size = 4"}));
  Tensor fpos = Tensor::zeros({3}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::apply_rotary(fpos, q16, k, cache.cos_sin, 8, true); },
                           ErrorCode::InvalidArgument, {"'positions'", "i64 or i32"}));
}

}  // namespace
