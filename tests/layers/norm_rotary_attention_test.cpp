// Layers built on single ops: RMSNorm, LayerNorm, RotaryEmbedding, Attention, activations.
#include <gtest/gtest.h>

#include <cmath>
#include <memory>
#include <thread>
#include <vector>

#include "ops/attention.h"
#include "ops/reference.h"
#include "ops/rotary.h"
#include "ops/rotary_cache.h"
#include "pagoda/layers/activation.h"
#include "pagoda/layers/attention.h"
#include "pagoda/layers/norm.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/layers/rotary_embedding.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

// A context registering into this fixture's parameter set and attention registry.
class LayerTest : public ::testing::Test {
 protected:
  ModelInitContext ctx(std::string prefix, DType dtype = DType::F32) {
    ModelInitContext c;
    c.prefix = std::move(prefix);
    c.parameters = &params_;
    c.attention = &registry_;
    c.dtype = dtype;
    return c;
  }
  // Loads `values` into the registered parameter `name` through its own loader.
  void load(const std::string& name, const Tensor& values) {
    Parameter* p = params_.find(name);
    ASSERT_NE(p, nullptr) << name;
    p->loader(p->data, values, "", false);
  }
  ParameterSet params_;
  AttentionRegistry registry_;
};

std::vector<double> rms_norm_ref(const std::vector<double>& x, const std::vector<double>& w,
                                 double eps, bool one_plus) {
  const size_t h = w.size();
  std::vector<double> y(x.size());
  for (size_t r = 0; r < x.size() / h; ++r) {
    double ss = 0;
    for (size_t i = 0; i < h; ++i) ss += x[r * h + i] * x[r * h + i];
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(h) + eps);
    for (size_t i = 0; i < h; ++i) y[r * h + i] = x[r * h + i] * inv * (one_plus ? 1 + w[i] : w[i]);
  }
  return y;
}

// ------------------------------------------------------------------ norms

TEST_F(LayerTest, RMSNormRegistersItsWeightInTheModelDtype) {
  RMSNorm norm(ctx("model.layers.0.input_layernorm", DType::BF16), 48, 1e-5);
  EXPECT_EQ(params_.names(), std::vector<std::string>{"model.layers.0.input_layernorm.weight"});
  const Parameter* p = params_.find("model.layers.0.input_layernorm.weight");
  ASSERT_NE(p, nullptr);
  EXPECT_EQ(p->data.shape(), Shape{48});
  EXPECT_EQ(p->data.dtype(), DType::BF16);
  // The parameter is the layer's weight (one storage): loading it changes what forward uses.
  EXPECT_EQ(p->data.data(), norm.weight().data());
  // Unloaded, the weight is the identity (ones).
  for (double w : to_f64(norm.weight())) EXPECT_EQ(w, 1.0);
  // A wrongly shaped checkpoint tensor is rejected by the loader.
  EXPECT_TRUE(throws_error(
      [&] { load("model.layers.0.input_layernorm.weight", Tensor::zeros({47}, DType::F32)); },
      ErrorCode::InvalidArgument, {"[47]", "[48]"}));
}

TEST_F(LayerTest, RMSNormForwardMatchesFloat64) {
  Rng rng(1);
  for (DType dtype : {DType::F32, DType::BF16}) {
    ParameterSet local;
    ModelInitContext c = ctx("norm", dtype);
    c.parameters = &local;
    RMSNorm norm(c, 40, 1e-6);
    const Tensor w = random_tensor({40}, DType::F32, rng, 0.5, 1.5);
    Parameter* p = local.find("norm.weight");
    p->loader(p->data, w, "", false);
    const Tensor x = random_tensor({5, 40}, dtype, rng, -2.0, 2.0);
    const Tensor y = norm.forward(x);
    EXPECT_EQ(y.dtype(), dtype);
    EXPECT_EQ(y.shape(), (Shape{5, 40}));
    EXPECT_TRUE(all_close(y, rms_norm_ref(to_f64(x), to_f64(norm.weight()), 1e-6, false),
                          tolerance(dtype, 2.0, 2)))
        << dtype_name(dtype);
  }
}

TEST_F(LayerTest, RMSNormCastsInputToTheModelDtype) {
  Rng rng(2);
  RMSNorm norm(ctx("norm", DType::BF16), 16);
  const Tensor x = random_tensor({3, 16}, DType::F32, rng);
  const Tensor y = norm.forward(x);
  EXPECT_EQ(y.dtype(), DType::BF16);
  Tensor xb = Tensor::empty({3, 16}, DType::BF16);
  copy_with_cast(xb, x);
  EXPECT_TRUE(all_close(y, rms_norm_ref(to_f64(xb), to_f64(norm.weight()), 1e-6, false),
                        tolerance(DType::BF16, 2.0, 2)));
}

TEST_F(LayerTest, GemmaRMSNormScalesByOnePlusWeight) {
  Rng rng(3);
  RMSNorm norm(ctx("norm"), 24, 1e-6, /*gemma_style=*/true);
  for (double w : to_f64(norm.weight())) EXPECT_EQ(w, 0.0);  // (1 + 0): the identity
  load("norm.weight", random_tensor({24}, DType::F32, rng, -0.5, 0.5));
  const Tensor x = random_tensor({4, 24}, DType::F32, rng, -2.0, 2.0);
  EXPECT_TRUE(all_close(norm.forward(x), rms_norm_ref(to_f64(x), to_f64(norm.weight()), 1e-6, true),
                        tolerance(DType::F32, 2.0, 2)));
}

TEST_F(LayerTest, RMSNormFusedResidualAddMatchesFloat64) {
  Rng rng(4);
  RMSNorm norm(ctx("norm"), 32, 1e-5);
  load("norm.weight", random_tensor({32}, DType::F32, rng, 0.5, 1.5));
  Tensor x = random_tensor({6, 32}, DType::F32, rng, -2.0, 2.0);
  Tensor residual = random_tensor({6, 32}, DType::F32, rng, -2.0, 2.0);
  const auto xv = to_f64(x), rv = to_f64(residual);
  std::vector<double> sum(xv.size());
  for (size_t i = 0; i < sum.size(); ++i) sum[i] = xv[i] + rv[i];
  norm.forward(x, residual);
  EXPECT_TRUE(all_close(residual, sum, tolerance(DType::F32, 4.0, 1)));
  EXPECT_TRUE(all_close(x, rms_norm_ref(sum, to_f64(norm.weight()), 1e-5, false),
                        tolerance(DType::F32, 4.0, 2)));
}

TEST_F(LayerTest, LayerNormParametersAndForward) {
  Rng rng(5);
  LayerNorm with_bias(ctx("model.final_layernorm"), 20, 1e-5, true);
  LayerNorm no_bias(ctx("model.ln_f"), 20, 1e-5, false);
  EXPECT_EQ(params_.names(),
            (std::vector<std::string>{"model.final_layernorm.bias", "model.final_layernorm.weight",
                                      "model.ln_f.weight"}));
  load("model.final_layernorm.weight", random_tensor({20}, DType::F32, rng, 0.5, 1.5));
  load("model.final_layernorm.bias", random_tensor({20}, DType::F32, rng));
  const auto w = to_f64(params_.find("model.final_layernorm.weight")->data);
  const auto b = to_f64(params_.find("model.final_layernorm.bias")->data);
  const Tensor x = random_tensor({3, 20}, DType::F32, rng, -2.0, 2.0);
  const auto xv = to_f64(x);
  std::vector<double> want(xv.size()), want_plain(xv.size());
  for (size_t r = 0; r < 3; ++r) {
    double mean = 0, var = 0;
    for (size_t i = 0; i < 20; ++i) mean += xv[r * 20 + i] / 20;
    for (size_t i = 0; i < 20; ++i) var += (xv[r * 20 + i] - mean) * (xv[r * 20 + i] - mean) / 20;
    for (size_t i = 0; i < 20; ++i) {
      want_plain[r * 20 + i] = (xv[r * 20 + i] - mean) / std::sqrt(var + 1e-5);
      want[r * 20 + i] = want_plain[r * 20 + i] * w[i] + b[i];
    }
  }
  EXPECT_TRUE(all_close(with_bias.forward(x), want, tolerance(DType::F32, 4.0, 1)));
  EXPECT_TRUE(all_close(no_bias.forward(x), want_plain, tolerance(DType::F32, 4.0, 1)));
}

TEST_F(LayerTest, TwoLayersWithOnePrefixAreAnError) {
  RMSNorm first(ctx("model.norm"), 8);
  EXPECT_TRUE(throws_error([&] { RMSNorm second(ctx("model.norm"), 8); },
                           ErrorCode::InvalidArgument, {"model.norm.weight", "registered twice"}));
}

// ------------------------------------------------------------------ rotary embedding

RopeConfig rope(double theta = 10000.0) {
  RopeConfig c;
  c.theta = theta;
  c.head_size = 16;
  c.rotary_dim = 16;
  c.max_position_embeddings = 64;
  return c;
}

RopeConfig longrope() {
  RopeConfig c = rope();
  c.rope_type = "longrope";
  c.head_size = 8;
  c.rotary_dim = 8;
  c.original_max_position_embeddings = 16;
  c.short_factor = {1.0, 1.1, 1.5, 2.0};
  c.long_factor = {1.0, 3.0, 9.0, 27.0};
  return c;
}

TEST(RotaryEmbeddingLayer, CacheSharesOneObjectPerConfig) {
  const auto a = RotaryEmbedding::get(rope());
  EXPECT_EQ(a, RotaryEmbedding::get(rope()));
  EXPECT_NE(a, RotaryEmbedding::get(rope(500000.0)));
  RopeConfig gptj = rope();
  gptj.is_neox_style = false;
  EXPECT_NE(a, RotaryEmbedding::get(gptj));
  // Configs differing in one factor-list entry, or in an optional field only, are different.
  RopeConfig l1 = longrope(), l2 = longrope(), l3 = longrope();
  l2.long_factor[3] = 27.5;
  l3.long_mscale = 1.0;
  const auto p1 = RotaryEmbedding::get(l1);
  EXPECT_EQ(p1, RotaryEmbedding::get(longrope()));
  EXPECT_NE(p1, RotaryEmbedding::get(l2));
  EXPECT_NE(p1, RotaryEmbedding::get(l3));
  EXPECT_EQ(a->config().theta, 10000.0);
}

TEST(RotaryEmbeddingLayer, CacheIsThreadSafe) {
  RopeConfig c = rope(1234.0);
  std::vector<std::shared_ptr<const RotaryEmbedding>> got(4);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < got.size(); ++i)
    threads.emplace_back([&, i] { got[i] = RotaryEmbedding::get(c); });
  for (auto& t : threads) t.join();
  for (const auto& g : got) EXPECT_EQ(g, got[0]);
}

TEST(RotaryEmbeddingLayer, RotatesLikeTheOp) {
  Rng rng(6);
  const RopeConfig c = rope();
  const auto emb = RotaryEmbedding::get(c);
  // q and k as strided slices of a fused buffer, as the model passes them.
  Tensor qkv = random_tensor({5, 4 * 16 + 2 * 16}, DType::F32, rng);
  Tensor expected = qkv.clone();
  std::vector<int64_t> pos_values = {0, 1, 7, 30, 63};
  const Tensor positions = Tensor::from_blob(pos_values.data(), {5}, DType::I64);
  Tensor q = qkv.slice(1, 0, 64), k = qkv.slice(1, 64, 96);
  emb->forward(positions, q, k);
  // Something actually rotated: position 0 is the identity, position 1 is not.
  EXPECT_EQ(to_f64(qkv.select(0, 0)), to_f64(expected.select(0, 0)));
  EXPECT_NE(to_f64(qkv.select(0, 1)), to_f64(expected.select(0, 1)));
  Tensor eq = expected.slice(1, 0, 64), ek = expected.slice(1, 64, 96);
  ops::apply_rotary(positions, eq, ek, ops::build_rotary_cache(c).cos_sin, 16, true);
  EXPECT_EQ(to_f64(qkv), to_f64(expected));
}

TEST(RotaryEmbeddingLayer, LongRopeUsesLongFactorsForTheWholeBatchPastTheOriginalContext) {
  Rng rng(7);
  const RopeConfig c = longrope();
  const auto emb = RotaryEmbedding::get(c);
  const ops::RotaryCache cache = ops::build_rotary_cache(c);
  ASSERT_EQ(cache.long_offset, 16);
  auto run = [&](std::vector<int32_t> pos, std::vector<int64_t> op_pos) {
    const Tensor q0 = random_tensor({static_cast<int64_t>(pos.size()), 16}, DType::F32, rng);
    Tensor q = q0.clone(), want = q0.clone(), none;
    emb->forward(Tensor::from_blob(pos.data(), {static_cast<int64_t>(pos.size())}, DType::I32), q,
                 none);
    ops::apply_rotary(
        Tensor::from_blob(op_pos.data(), {static_cast<int64_t>(op_pos.size())}, DType::I64), want,
        none, cache.cos_sin, 8, true);
    return to_f64(q) == to_f64(want);
  };
  // All positions inside the original context: the short table, positions unchanged.
  EXPECT_TRUE(run({0, 3, 15}, {0, 3, 15}));
  // One position reaches it: every token moves to the long table.
  EXPECT_TRUE(run({0, 3, 16}, {16, 19, 32}));
  EXPECT_FALSE(run({0, 3, 16}, {0, 3, 16}));
}

// ------------------------------------------------------------------ attention

TEST_F(LayerTest, AttentionForwardEqualsTheOpAndRegisters) {
  Rng rng(8);
  Attention attn(ctx("model.layers.0.self_attn.attn"), 4, 8, 0.35, 2, int64_t{5}, 30.0);
  ASSERT_EQ(registry_.layers().size(), 1u);
  EXPECT_EQ(registry_.layers().at("model.layers.0.self_attn.attn"), &attn);
  EXPECT_EQ(attn.prefix(), "model.layers.0.self_attn.attn");
  EXPECT_EQ(attn.num_heads(), 4);
  EXPECT_EQ(attn.num_kv_heads(), 2);
  EXPECT_EQ(attn.head_size(), 8);
  EXPECT_EQ(params_.size(), 0u);  // attention itself has no parameters

  const Tensor qkv = random_tensor({9, 32 + 16 + 16}, DType::F32, rng, -2.0, 2.0);
  const Tensor q = qkv.slice(1, 0, 32), k = qkv.slice(1, 32, 48), v = qkv.slice(1, 48, 64);
  ForwardContext fc;
  fc.query_start_loc = {0, 2, 9};
  const Tensor got = attn.forward(q, k, v, fc);
  EXPECT_EQ(got.shape(), (Shape{9, 32}));
  EXPECT_EQ(got.dtype(), DType::F32);
  Tensor want = Tensor::empty({9, 32}, DType::F32);
  ops::causal_attention(q, k, v, fc.query_start_loc, 4, 2, 8, 0.35, int64_t{5}, 30.0, want);
  EXPECT_EQ(to_f64(got), to_f64(want));
  // A single sequence differs from two (tokens 2.. no longer see tokens 0, 1 in the first case).
  const Tensor one = attn.forward(q, k, v, ForwardContext::single_sequence(9));
  EXPECT_NE(to_f64(one), to_f64(got));
}

TEST_F(LayerTest, AttentionOutputHasTheModelDtype) {
  Rng rng(9);
  Attention attn(ctx("attn", DType::BF16), 2, 8, 0.35, 1);
  const Tensor q = random_tensor({3, 16}, DType::BF16, rng);
  const Tensor kv = random_tensor({3, 8}, DType::BF16, rng);
  const Tensor out = attn.forward(q, kv, kv, ForwardContext::single_sequence(3));
  EXPECT_EQ(out.dtype(), DType::BF16);
  EXPECT_EQ(out.shape(), (Shape{3, 16}));
}

TEST_F(LayerTest, AttentionErrors) {
  Attention first(ctx("model.layers.3.self_attn.attn"), 4, 8, 0.35, 2);
  EXPECT_TRUE(throws_error(
      [&] { Attention again(ctx("model.layers.3.self_attn.attn"), 4, 8, 0.35, 2); },
      ErrorCode::InvalidArgument, {"'model.layers.3.self_attn.attn'", "registered twice"}));
  EXPECT_EQ(registry_.layers().size(), 1u);
  EXPECT_TRUE(throws_error([&] { Attention bad(ctx("other"), 6, 8, 0.35, 4); },
                           ErrorCode::InvalidArgument,
                           {"'other'", "num_heads 6", "num_kv_heads 4"}));
  // Without a registry the layer just does not register.
  ModelInitContext loose = ctx("model.layers.3.self_attn.attn");
  loose.attention = nullptr;
  EXPECT_NO_THROW(Attention unregistered(loose, 4, 8, 0.35, 2));
  // Bad inputs reach the op's checks.
  const Tensor q = Tensor::zeros({3, 32}, DType::F32), kv = Tensor::zeros({3, 16}, DType::F32);
  EXPECT_TRUE(throws_error([&] { first.forward(q, kv, kv, ForwardContext::single_sequence(4)); },
                           ErrorCode::InvalidArgument, {"query_start_loc", "ends at 4"}));
}

// ------------------------------------------------------------------ activations

double silu(double x) {
  return x / (1 + std::exp(-x));
}

TEST(ActivationLayer, GatedSiluIsSiluOfTheFirstHalfTimesTheSecond) {
  Rng rng(10);
  const Tensor x = random_tensor({4, 2 * 19}, DType::F32, rng, -4.0, 4.0);
  const Tensor y = GatedActivation("silu").forward(x);
  EXPECT_EQ(y.shape(), (Shape{4, 19}));
  const auto xv = to_f64(x);
  std::vector<double> want;
  for (size_t r = 0; r < 4; ++r)
    for (size_t i = 0; i < 19; ++i) want.push_back(silu(xv[r * 38 + i]) * xv[r * 38 + 19 + i]);
  EXPECT_TRUE(all_close(y, want, tolerance(DType::F32, 16.0, 1)));
  // Default is silu.
  EXPECT_EQ(to_f64(GatedActivation().forward(x)), to_f64(y));
}

TEST(ActivationLayer, PlainActivationAppliesElementwise) {
  Rng rng(11);
  const Tensor x = random_tensor({3, 7}, DType::F32, rng, -3.0, 3.0);
  const Tensor y = pagoda::Activation("relu").forward(x);
  EXPECT_EQ(y.shape(), x.shape());
  const auto xv = to_f64(x), yv = to_f64(y);
  for (size_t i = 0; i < xv.size(); ++i) EXPECT_EQ(yv[i], std::max(xv[i], 0.0));
}

TEST(ActivationLayer, UnknownHiddenActAndOddWidthAreErrors) {
  EXPECT_TRUE(throws_error([] { GatedActivation g("swiglu_xyz"); }, ErrorCode::Unsupported,
                           {"'swiglu_xyz'", "silu"}));
  EXPECT_TRUE(throws_error([] { pagoda::Activation a("tanhh"); }, ErrorCode::Unsupported,
                           {"'tanhh'", "gelu"}));
  EXPECT_TRUE(throws_error(
      [] {
        GatedActivation().forward(Tensor::zeros({2, 5}, DType::F32));
      },
      ErrorCode::InvalidArgument, {"[2, 5]", "2 * d"}));
}

}  // namespace
