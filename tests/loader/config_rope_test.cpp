// RoPE normalisation: legacy spellings, theta and partial-rotary sources, per-scheme parameters
// and the errors for unknown schemes and invalid values.
#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

#include "common/expect_error.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

using namespace pagoda;
using pagoda::testing::expect_error;

namespace {

// A small llama-like config (head size 64, max positions 4096) with `extra` merged in.
ModelConfig with(std::string_view extra) {
  nlohmann::json config = nlohmann::json::parse(R"({
    "model_type": "llama", "hidden_size": 512, "num_attention_heads": 8,
    "num_hidden_layers": 2, "vocab_size": 100, "max_position_embeddings": 4096})");
  config.update(nlohmann::json::parse(extra));
  return ModelConfig::from_json_string(config.dump(), {}, "/m/config.json");
}

std::string factors(int n) {
  nlohmann::json list = nlohmann::json::array();
  for (int i = 0; i < n; ++i) list.push_back(1.0 + i);
  return list.dump();
}

}  // namespace

TEST(Rope, NoRopeKeysGiveDefaultRope) {
  const RopeConfig r = with("{}").rope;
  EXPECT_EQ(r.rope_type, "default");
  EXPECT_DOUBLE_EQ(r.theta, 10000.0);
  EXPECT_EQ(r.head_size, 64);
  EXPECT_EQ(r.rotary_dim, 64);
  EXPECT_EQ(r.max_position_embeddings, 4096);
  EXPECT_DOUBLE_EQ(r.factor, 1.0);
  EXPECT_FALSE(r.original_max_position_embeddings.has_value());
}

TEST(Rope, LegacyTypeKeyAndSpellingsAreNormalised) {
  EXPECT_EQ(with(R"({"rope_scaling": {"type": "linear", "factor": 2}})").rope.rope_type, "linear");
  EXPECT_EQ(
      with(R"({"rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]}})").rope.rope_type,
      "default");
  EXPECT_EQ(with(R"({"rope_scaling": {"type": "mrope", "rope_type": "default",
                                      "mrope_section": [16, 24, 24]}})")
                .rope.rope_type,
            "default");
  const std::string su = R"({"original_max_position_embeddings": 2048, "rope_scaling":
      {"type": "su", "rope_type": "longrope", "short_factor": )" +
                         factors(32) + R"(, "long_factor": )" + factors(32) + "}}";
  EXPECT_EQ(with(su).rope.rope_type, "longrope");
  expect_error(
      [] {
        with(R"({"rope_scaling": {"type": "yarn", "rope_type": "linear",
                                              "factor": 2}})");
      },
      ErrorCode::InvalidConfig,
      {"'rope_scaling.type' in /m/config.json is \"yarn\"", "\"linear\""});
  expect_error([] { with(R"({"rope_scaling": {"type": "mrope"}})"); }, ErrorCode::InvalidConfig,
               {"'rope_scaling.mrope_section'", "requires it"});
}

TEST(Rope, UnknownTypeIsNamedWithTheSupportedOnes) {
  expect_error([] { with(R"({"rope_scaling": {"rope_type": "wavy", "factor": 2}})"); },
               ErrorCode::InvalidConfig,
               {"'rope_scaling.rope_type' in /m/config.json is \"wavy\"",
                "default, linear, dynamic, llama3, yarn, longrope"});
  expect_error([] { with(R"({"rope_scaling": {"factor": 2}})"); }, ErrorCode::InvalidConfig,
               {"'rope_scaling.rope_type'", "is missing"});
  expect_error([] { with(R"({"rope_scaling": "linear"})"); }, ErrorCode::InvalidConfig,
               {"'rope_scaling'", "must be an object"});
}

TEST(Rope, ThetaSources) {
  EXPECT_DOUBLE_EQ(with(R"({"rope_theta": 500000})").rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(with(R"({"rotary_emb_base": 20000})").rope.theta, 20000.0);
  // transformers v5: the theta lives in rope_parameters.
  EXPECT_DOUBLE_EQ(
      with(R"({"rope_parameters": {"rope_type": "default", "rope_theta": 1e6}})").rope.theta, 1e6);
  // rope_parameters (v5) wins over a leftover rope_scaling (v4).
  EXPECT_EQ(with(R"({"rope_parameters": {"rope_type": "default", "rope_theta": 5.0},
                     "rope_scaling": {"rope_type": "linear", "factor": 2}})")
                .rope.rope_type,
            "default");
  expect_error([] { with(R"({"rope_theta": -1})"); }, ErrorCode::InvalidConfig,
               {"'rope_theta'", "must be positive"});
}

TEST(Rope, PartialRotarySources) {
  EXPECT_EQ(with(R"({"partial_rotary_factor": 0.5})").rope.rotary_dim, 32);
  EXPECT_EQ(with(R"({"rotary_pct": 0.25})").rope.rotary_dim, 16);
  EXPECT_EQ(with(R"({"rotary_dim": 32})").rope.rotary_dim, 32);
  // transformers v5 may keep it inside rope_parameters.
  EXPECT_EQ(with(R"({"rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.25}})")
                .rope.rotary_dim,
            16);
  // Qwen3-Next style: head_dim 256, factor 0.25.
  EXPECT_EQ(with(R"({"head_dim": 256, "partial_rotary_factor": 0.25})").rope.rotary_dim, 64);
  expect_error([] { with(R"({"partial_rotary_factor": 1.5})"); }, ErrorCode::InvalidConfig,
               {"'partial_rotary_factor'", "is 1.5", "(0, 1]"});
  expect_error([] { with(R"({"rotary_dim": 100})"); }, ErrorCode::InvalidConfig,
               {"'rotary_dim'", "is 100"});
  expect_error([] { with(R"({"rotary_dim": 33})"); }, ErrorCode::InvalidConfig,
               {"gives 33 rotated dimensions", "must be even"});
}

TEST(Rope, SchemeParameters) {
  const RopeConfig yarn = with(R"({"rope_scaling": {"rope_type": "yarn", "factor": 40,
      "original_max_position_embeddings": 4096, "beta_fast": 16, "beta_slow": 2,
      "mscale": 0.707, "mscale_all_dim": 0.707, "attn_factor": 1.5,
      "extrapolation_factor": 0.5, "truncate": false}})")
                              .rope;
  EXPECT_DOUBLE_EQ(yarn.factor, 40.0);
  EXPECT_DOUBLE_EQ(yarn.beta_fast, 16.0);
  EXPECT_DOUBLE_EQ(yarn.beta_slow, 2.0);
  EXPECT_DOUBLE_EQ(*yarn.mscale, 0.707);
  EXPECT_DOUBLE_EQ(*yarn.mscale_all_dim, 0.707);
  EXPECT_DOUBLE_EQ(yarn.attn_factor, 1.5);
  EXPECT_DOUBLE_EQ(yarn.extrapolation_factor, 0.5);
  EXPECT_FALSE(yarn.truncate);
  EXPECT_EQ(yarn.original_max_position_embeddings, 4096);

  const RopeConfig yarn_defaults =
      with(R"({"rope_scaling": {"rope_type": "yarn", "factor": 2}})").rope;
  EXPECT_DOUBLE_EQ(yarn_defaults.beta_fast, 32.0);
  EXPECT_DOUBLE_EQ(yarn_defaults.beta_slow, 1.0);
  EXPECT_TRUE(yarn_defaults.truncate);
  EXPECT_FALSE(yarn_defaults.mscale.has_value());
  EXPECT_FALSE(yarn_defaults.attention_factor.has_value());
  EXPECT_DOUBLE_EQ(*with(R"({"rope_scaling": {"rope_type": "yarn", "factor": 2, "attention_factor": 0.8}})")
                        .rope.attention_factor,
                   0.8);
  EXPECT_EQ(yarn_defaults.original_max_position_embeddings, 4096);  // max_position_embeddings

  const RopeConfig dynamic = with(R"({"rope_scaling": {"type": "dynamic", "factor": 2}})").rope;
  EXPECT_EQ(dynamic.rope_type, "dynamic");
  EXPECT_DOUBLE_EQ(dynamic.factor, 2.0);

  const std::string longrope = R"({"rope_scaling": {"rope_type": "longrope", "factor": 4,
      "original_max_position_embeddings": 1024, "short_mscale": 1.1, "long_mscale": 1.2,
      "short_factor": )" + factors(32) +
                               R"(, "long_factor": )" + factors(32) + "}}";
  const RopeConfig lr = with(longrope).rope;
  EXPECT_DOUBLE_EQ(lr.factor, 4.0);
  EXPECT_EQ(lr.original_max_position_embeddings, 1024);
  EXPECT_DOUBLE_EQ(*lr.short_mscale, 1.1);
  EXPECT_DOUBLE_EQ(*lr.long_mscale, 1.2);
  EXPECT_DOUBLE_EQ(lr.long_factor[31], 32.0);
}

TEST(Rope, InvalidValuesAreRejected) {
  expect_error([] { with(R"({"rope_scaling": {"rope_type": "linear", "factor": 0.5}})"); },
               ErrorCode::InvalidConfig,
               {"'rope_scaling.factor'", "is 0.5", "linear RoPE scaling needs a factor >= 1"});
  expect_error([] { with(R"({"rope_scaling": {"rope_type": "yarn", "factor": 0.9}})"); },
               ErrorCode::InvalidConfig, {"yarn RoPE scaling needs a factor >= 1"});
  expect_error([] { with(R"({"rope_scaling": {"rope_type": "linear"}})"); },
               ErrorCode::InvalidConfig, {"has no 'rope_scaling.factor'"});
  expect_error(
      [] {
        with(R"({"rope_scaling": {"rope_type": "llama3", "factor": 0.5, "low_freq_factor": 1,
                 "high_freq_factor": 4, "original_max_position_embeddings": 8192}})");
      },
      ErrorCode::InvalidConfig, {"llama3 RoPE scaling needs a factor >= 1"});
  expect_error(
      [] {
        with(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 4,
                 "high_freq_factor": 4, "original_max_position_embeddings": 8192}})");
      },
      ErrorCode::InvalidConfig, {"'rope_scaling.high_freq_factor'", "not above low_freq_factor"});
  expect_error(
      [] {
        with(R"({"rope_scaling": {"rope_type": "llama3", "factor": 8, "low_freq_factor": 1,
                 "high_freq_factor": 4}})");
      },
      ErrorCode::InvalidConfig, {"'rope_scaling.original_max_position_embeddings'"});
  expect_error(
      [] {
        with(R"({"original_max_position_embeddings": 2048, "rope_scaling":
                 {"rope_type": "longrope", "short_factor": )" +
             factors(32) + R"(, "long_factor": )" + factors(31) + "}}");
      },
      ErrorCode::InvalidConfig,
      {"'rope_scaling.long_factor'", "has 31 values", "rotary_dim 64 / 2 = 32"});
  expect_error(
      [] {
        with(R"({"rope_scaling": {"rope_type": "longrope", "short_factor": )" + factors(32) +
             R"(, "long_factor": )" + factors(32) + "}}");
      },
      ErrorCode::InvalidConfig, {"'rope_scaling.original_max_position_embeddings'", "missing"});
  expect_error([] { with(R"({"rope_scaling": {"rope_type": "dynamic", "alpha": 1000}})"); },
               ErrorCode::Unsupported, {"'rope_scaling.alpha'"});
}

TEST(Rope, NestedPerLayerTypeBlocks) {
  // transformers v5 Gemma3: one block per layer type.
  const ModelConfig m = with(R"({"model_type": "gemma3_text", "rope_parameters": {
      "full_attention": {"rope_type": "linear", "factor": 8.0, "rope_theta": 1000000.0},
      "sliding_attention": {"rope_type": "default", "rope_theta": 10000.0}}})");
  EXPECT_EQ(m.rope.rope_type, "linear");
  EXPECT_DOUBLE_EQ(m.rope.theta, 1e6);
  EXPECT_DOUBLE_EQ(m.rope_for_layer_type("sliding_attention").theta, 10000.0);
  EXPECT_EQ(m.rope_by_layer_type.size(), 2u);
  EXPECT_EQ(m.max_model_len, 4096);  // gemma3: the factor is not applied again

  // Elsewhere the nested factor scales the length, as vLLM's loop over layer types does.
  const ModelConfig other = with(R"({"rope_parameters": {
      "full_attention": {"rope_type": "linear", "factor": 2.0},
      "sliding_attention": {"rope_type": "default"}}})");
  EXPECT_EQ(other.max_model_len, 8192);
  expect_error(
      [] {
        with(R"({"rope_parameters": {"full_attention": {"rope_type": "bogus"},
                                      "sliding_attention": {"rope_type": "default"}}})");
      },
      ErrorCode::InvalidConfig, {"'rope_parameters.full_attention.rope_type'", "\"bogus\""});
}
