#include "ops/attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

struct Heads {
  int64_t num_heads, num_kv_heads, head_size;
};

// Causal attention in float64, straight from the definition (two-pass softmax, masks written as
// explicit conditions). q [T, H*D], k/v [T, KVH*D] row-major -> [T, H*D].
std::vector<double> attention_ref(const std::vector<double>& q, const std::vector<double>& k,
                                  const std::vector<double>& v, const std::vector<int64_t>& loc,
                                  Heads hd, double scale, std::optional<int64_t> window,
                                  std::optional<double> cap) {
  const int64_t H = hd.num_heads, KVH = hd.num_kv_heads, D = hd.head_size;
  const int64_t T = loc.back();
  std::vector<double> out(static_cast<size_t>(T * H * D), 0.0);
  for (size_t s = 0; s + 1 < loc.size(); ++s) {
    for (int64_t i = loc[s]; i < loc[s + 1]; ++i) {
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / KVH);
        std::vector<double> score(static_cast<size_t>(T), -INFINITY);
        double mx = -INFINITY;
        for (int64_t j = loc[s]; j <= i; ++j) {
          if (window && j <= i - *window) continue;
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += q[static_cast<size_t>(i * H * D + h * D + d)] *
                   k[static_cast<size_t>(j * KVH * D + g * D + d)];
          double sc = dot * scale;
          if (cap) sc = std::tanh(sc / *cap) * *cap;
          score[static_cast<size_t>(j)] = sc;
          mx = std::max(mx, sc);
        }
        double sum = 0;
        for (int64_t j = loc[s]; j <= i; ++j)
          if (std::isfinite(score[static_cast<size_t>(j)]))
            sum += std::exp(score[static_cast<size_t>(j)] - mx);
        for (int64_t j = loc[s]; j <= i; ++j) {
          if (!std::isfinite(score[static_cast<size_t>(j)])) continue;
          const double p = std::exp(score[static_cast<size_t>(j)] - mx) / sum;
          for (int64_t d = 0; d < D; ++d)
            out[static_cast<size_t>(i * H * D + h * D + d)] +=
                p * v[static_cast<size_t>(j * KVH * D + g * D + d)];
        }
      }
    }
  }
  return out;
}

struct Inputs {
  Tensor q, k, v;
};

Inputs random_inputs(int64_t T, Heads hd, DType dtype, Rng& rng, double range) {
  return {random_tensor({T, hd.num_heads * hd.head_size}, dtype, rng, -range, range),
          random_tensor({T, hd.num_kv_heads * hd.head_size}, dtype, rng, -range, range),
          random_tensor({T, hd.num_kv_heads * hd.head_size}, dtype, rng, -1.0, 1.0)};
}

// Runs the op and the reference on the same stored inputs; out has q's dtype.
::testing::AssertionResult matches_reference(const Inputs& in, const std::vector<int64_t>& loc,
                                             Heads hd, std::optional<int64_t> window = std::nullopt,
                                             std::optional<double> cap = std::nullopt) {
  const double scale = 1.0 / std::sqrt(static_cast<double>(hd.head_size));
  Tensor out = Tensor::empty({loc.back(), hd.num_heads * hd.head_size}, in.q.dtype());
  ops::causal_attention(in.q, in.k, in.v, loc, hd.num_heads, hd.num_kv_heads, hd.head_size, scale,
                        window, cap, out);
  const auto want =
      attention_ref(to_f64(in.q), to_f64(in.k), to_f64(in.v), loc, hd, scale, window, cap);
  // Outputs are convex combinations of values in [-1, 1]: scale 1, one rounding into out.
  return all_close(out, want, tolerance(out.dtype(), 1.0, 1));
}

class CausalAttention : public IsaDTypeTest {};

TEST_P(CausalAttention, SeveralSequencesWithGroupedQueryHeads) {
  Rng rng(101);
  const std::vector<int64_t> loc = {0, 1, 4, 21, 61};  // lengths 1, 3, 17, 40
  const Heads hd{8, 2, 16};
  EXPECT_TRUE(matches_reference(random_inputs(61, hd, dtype(), rng, 2.0), loc, hd));
}

TEST_P(CausalAttention, MultiQueryAndMultiHead) {
  Rng rng(102);
  const std::vector<int64_t> loc = {0, 5, 38};
  const Heads mqa{4, 1, 20};  // head_size 20: a vector body plus a tail
  EXPECT_TRUE(matches_reference(random_inputs(38, mqa, dtype(), rng, 2.0), loc, mqa));
  const Heads mha{3, 3, 8};
  EXPECT_TRUE(matches_reference(random_inputs(38, mha, dtype(), rng, 2.0), loc, mha));
}

TEST_P(CausalAttention, LongSequenceSpansSeveralQueryBlocksAndKeyTiles) {
  // 300 tokens: several query blocks and key tiles, so the online softmax rescales partial sums.
  Rng rng(103);
  const Heads hd{2, 1, 8};
  const Inputs in = random_inputs(301, hd, dtype(), rng, 3.0);
  EXPECT_TRUE(matches_reference(in, {0, 1, 301}, hd));
  EXPECT_TRUE(matches_reference(in, {0, 1, 301}, hd, int64_t{150}));
}

TEST_P(CausalAttention, SlidingWindow) {
  Rng rng(104);
  const std::vector<int64_t> loc = {0, 3, 20, 60};
  const Heads hd{4, 2, 16};
  const Inputs in = random_inputs(60, hd, dtype(), rng, 2.0);
  for (int64_t window : {1, 4, 17, 100})
    EXPECT_TRUE(matches_reference(in, loc, hd, window)) << "window " << window;
}

TEST_P(CausalAttention, WindowOfOneAttendsToItselfOnly) {
  // Each query sees exactly its own key, so the output is its own value row (per kv group).
  Rng rng(105);
  const Heads hd{2, 1, 8};
  const Inputs in = random_inputs(10, hd, dtype(), rng, 2.0);
  Tensor out = Tensor::empty({10, 16}, dtype());
  ops::causal_attention(in.q, in.k, in.v, std::vector<int64_t>{0, 10}, 2, 1, 8, 0.3, int64_t{1},
                        std::nullopt, out);
  const auto got = to_f64(out), val = to_f64(in.v);
  for (int64_t t = 0; t < 10; ++t)
    for (int64_t c = 0; c < 16; ++c)
      EXPECT_EQ(got[static_cast<size_t>(t * 16 + c)], val[static_cast<size_t>(t * 8 + c % 8)]);
}

TEST_P(CausalAttention, SoftCap) {
  // Large logits (|q.k| * scale up to ~36), which a cap of 5 visibly flattens.
  Rng rng(106);
  const std::vector<int64_t> loc = {0, 17, 40};
  const Heads hd{4, 2, 16};
  const Inputs in = random_inputs(40, hd, dtype(), rng, 3.0);
  EXPECT_TRUE(matches_reference(in, loc, hd, std::nullopt, 5.0));
  EXPECT_TRUE(matches_reference(in, loc, hd, int64_t{8}, 5.0));
  // The cap matters for these inputs: the uncapped reference is far from the capped result.
  const double scale = 0.25;
  const auto q = to_f64(in.q), k = to_f64(in.k), v = to_f64(in.v);
  EXPECT_FALSE(all_close(attention_ref(q, k, v, loc, hd, scale, std::nullopt, 5.0),
                         attention_ref(q, k, v, loc, hd, scale, std::nullopt, std::nullopt),
                         tolerance(DType::BF16, 1.0, 1)));
}

TEST_P(CausalAttention, StridedSlicesOfAFusedQkvBuffer) {
  Rng rng(107);
  const std::vector<int64_t> loc = {0, 3, 20};
  const Heads hd{4, 2, 16};
  const int64_t q_size = 64, kv_size = 32, T = 20;
  // [T, q | k | v | 5 padding columns], and an output whose rows are spaced apart too.
  Tensor qkv = random_tensor({T, q_size + 2 * kv_size + 5}, dtype(), rng, -2.0, 2.0);
  const Tensor q = qkv.slice(1, 0, q_size);
  const Tensor k = qkv.slice(1, q_size, q_size + kv_size);
  const Tensor v = qkv.slice(1, q_size + kv_size, q_size + 2 * kv_size);
  RowStrided out = row_strided(T, q_size, 3, q_size + 7, dtype(), rng);
  const auto before = to_f64(out.base);
  ops::causal_attention(q, k, v, loc, 4, 2, 16, 0.25, std::nullopt, std::nullopt, out.view);
  const auto want =
      attention_ref(to_f64(q), to_f64(k), to_f64(v), loc, hd, 0.25, std::nullopt, std::nullopt);
  // The value columns are in [-2, 2] here.
  EXPECT_TRUE(all_close(out.view, want, tolerance(dtype(), 2.0, 1)));
  EXPECT_TRUE(gaps_unchanged(before, out));
}

TEST_P(CausalAttention, OutputMayBeTheQueryTensor) {
  Rng rng(108);
  const Heads hd{4, 2, 8};
  const std::vector<int64_t> loc = {0, 40, 45};
  Inputs in = random_inputs(45, hd, dtype(), rng, 2.0);
  const auto want = attention_ref(to_f64(in.q), to_f64(in.k), to_f64(in.v), loc, hd, 0.5,
                                  std::nullopt, std::nullopt);
  ops::causal_attention(in.q, in.k, in.v, loc, 4, 2, 8, 0.5, std::nullopt, std::nullopt, in.q);
  EXPECT_TRUE(all_close(in.q, want, tolerance(dtype(), 1.0, 1)));
}

INSTANTIATE_TEST_SUITE_P(Isas, CausalAttention, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(CausalAttentionOp, F32OutputFromBf16Inputs) {
  Rng rng(109);
  const Heads hd{2, 1, 16};
  const Inputs in = random_inputs(12, hd, DType::BF16, rng, 2.0);
  Tensor out = Tensor::empty({12, 32}, DType::F32);
  const std::vector<int64_t> loc = {0, 12};
  ops::causal_attention(in.q, in.k, in.v, loc, 2, 1, 16, 0.25, std::nullopt, std::nullopt, out);
  const auto want = attention_ref(to_f64(in.q), to_f64(in.k), to_f64(in.v), loc, hd, 0.25,
                                  std::nullopt, std::nullopt);
  EXPECT_TRUE(all_close(out, want, tolerance(DType::F32, 1.0, 1)));
}

TEST(CausalAttentionOp, EmptyBatchAndEmptySequences) {
  Tensor q = Tensor::empty({0, 8}, DType::F32), kv = Tensor::empty({0, 8}, DType::F32);
  Tensor out = Tensor::empty({0, 8}, DType::F32);
  EXPECT_NO_THROW(ops::causal_attention(q, kv, kv, std::vector<int64_t>{0}, 1, 1, 8, 1.0,
                                        std::nullopt, std::nullopt, out));
  // A zero-length sequence between two others is skipped.
  Rng rng(110);
  const Heads hd{1, 1, 8};
  EXPECT_TRUE(matches_reference(random_inputs(5, hd, DType::F32, rng, 1.0), {0, 2, 2, 5}, hd));
}

TEST(CausalAttentionOp, RejectsBadArguments) {
  const Tensor q = Tensor::zeros({6, 32}, DType::F32);
  const Tensor kv = Tensor::zeros({6, 16}, DType::F32);
  Tensor out = Tensor::zeros({6, 32}, DType::F32);
  const std::vector<int64_t> loc = {0, 2, 6};
  auto call = [&](const Tensor& q_, const Tensor& k_, const Tensor& v_, std::vector<int64_t> l,
                  int64_t heads, int64_t kv_heads, int64_t head_size, Tensor& o,
                  std::optional<int64_t> window = std::nullopt,
                  std::optional<double> cap = std::nullopt, double scale = 0.25) {
    return [=, &o] {
      ops::causal_attention(q_, k_, v_, l, heads, kv_heads, head_size, scale, window, cap, o);
    };
  };
  const auto E = ErrorCode::InvalidArgument;
  EXPECT_TRUE(throws_error(call(q, kv, kv, loc, 4, 3, 8, out), E,
                           {"num_heads 4 is not a multiple of num_kv_heads 3"}));
  EXPECT_TRUE(throws_error(call(q, kv, kv, loc, 4, 2, 0, out), E, {"head_size 0", "> 0"}));
  EXPECT_TRUE(throws_error(call(q, kv, kv, loc, 2, 1, 8, out), E,
                           {"'q' has shape [6, 32]", "expected [6, 16]"}));
  EXPECT_TRUE(throws_error(call(q, q, kv, loc, 4, 2, 8, out), E,
                           {"'k' has shape [6, 32]", "expected [6, 16]", "num_kv_heads"}));
  EXPECT_TRUE(throws_error(call(q, kv, kv.slice(0, 0, 5), loc, 4, 2, 8, out), E,
                           {"'v' has shape [5, 16]"}));
  EXPECT_TRUE(throws_error(call(q, Tensor::zeros({6, 16}, DType::BF16), kv, loc, 4, 2, 8, out), E,
                           {"'k' has dtype bf16", "'q' has f32"}));
  EXPECT_TRUE(throws_error(call(Tensor::zeros({6, 32}, DType::I32), kv, kv, loc, 4, 2, 8, out), E,
                           {"'q' has dtype i32"}));
  EXPECT_TRUE(throws_error(call(q, kv, kv, {0, 2, 5}, 4, 2, 8, out), E,
                           {"'query_start_loc' ends at 5", "6 tokens"}));
  EXPECT_TRUE(
      throws_error(call(q, kv, kv, {1, 6}, 4, 2, 8, out), E, {"'query_start_loc' starts at 1"}));
  EXPECT_TRUE(throws_error(call(q, kv, kv, {}, 4, 2, 8, out), E, {"'query_start_loc' is empty"}));
  EXPECT_TRUE(
      throws_error(call(q, kv, kv, {0, 4, 2, 6}, 4, 2, 8, out), E, {"decreases at index 2"}));
  EXPECT_TRUE(
      throws_error(call(q, kv, kv, loc, 4, 2, 8, out, int64_t{0}), E, {"sliding_window is 0"}));
  EXPECT_TRUE(throws_error(call(q, kv, kv, loc, 4, 2, 8, out, std::nullopt, -1.0), E,
                           {"logits_soft_cap is -1"}));
  EXPECT_TRUE(throws_error(call(q, kv, kv, loc, 4, 2, 8, out, std::nullopt, std::nullopt, NAN), E,
                           {"scale is nan"}));
  Tensor bad_out = Tensor::zeros({6, 16}, DType::F32);
  EXPECT_TRUE(throws_error(call(q, kv, kv, loc, 4, 2, 8, bad_out), E, {"'out' has shape [6, 16]"}));
  // Columns not contiguous: a transposed view.
  const Tensor qt = Tensor::zeros({32, 6}, DType::F32).transpose(0, 1);
  EXPECT_TRUE(throws_error(call(qt, kv, kv, loc, 4, 2, 8, out), E, {"'q'", "stride"}));
  std::vector<float> ro(6 * 32);
  Tensor read_only = Tensor::from_blob_read_only(ro.data(), {6, 32}, DType::F32);
  EXPECT_TRUE(throws_error(call(q, kv, kv, loc, 4, 2, 8, read_only), E, {"'out' is read-only"}));
}

}  // namespace
