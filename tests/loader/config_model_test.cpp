// ModelConfig derivations on real config.json shapes (tests/fixtures/configs), checked against
// the values vLLM derives for the same files.
#include <gtest/gtest.h>

#include <filesystem>
#include <functional>

#include "common/expect_error.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

using namespace pagoda;
using pagoda::testing::expect_error;

namespace {

ModelConfig load(std::string_view name, const ModelConfigOptions& options = {}) {
  const auto path = std::filesystem::path(PAGODA_FIXTURES_DIR) / "configs" / name;
  return ModelConfig::from_hf_config(HfConfig::from_file(path), options);
}

}  // namespace

TEST(ModelConfig, Llama31) {
  const ModelConfig m = load("llama3_1_8b_instruct.json");
  EXPECT_EQ(m.architectures, (std::vector<std::string>{"LlamaForCausalLM"}));
  EXPECT_EQ(m.model_type, "llama");
  EXPECT_EQ(m.hidden_size, 4096);
  EXPECT_EQ(m.num_attention_heads, 32);
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_EQ(m.head_size, 128);
  EXPECT_EQ(m.num_hidden_layers, 32);
  EXPECT_EQ(m.vocab_size, 128256);
  EXPECT_EQ(m.intermediate_size, 14336);
  EXPECT_DOUBLE_EQ(*m.norm_eps, 1e-5);
  EXPECT_FALSE(m.tie_word_embeddings);
  EXPECT_EQ(m.num_experts, 0);
  EXPECT_FALSE(m.sliding_window.has_value());
  // llama3 scaling is already part of max_position_embeddings: no further factor.
  EXPECT_EQ(m.derived_max_model_len, 131072);
  EXPECT_EQ(m.max_model_len, 131072);
  EXPECT_EQ(m.rope.rope_type, "llama3");
  EXPECT_DOUBLE_EQ(m.rope.theta, 500000.0);
  EXPECT_DOUBLE_EQ(m.rope.factor, 8.0);
  EXPECT_DOUBLE_EQ(m.rope.low_freq_factor, 1.0);
  EXPECT_DOUBLE_EQ(m.rope.high_freq_factor, 4.0);
  EXPECT_EQ(m.rope.original_max_position_embeddings, 8192);
  EXPECT_EQ(m.rope.head_size, 128);
  EXPECT_EQ(m.rope.rotary_dim, 128);
  EXPECT_EQ(m.rope.max_position_embeddings, 131072);
  EXPECT_EQ(m.config_dtype, DType::BF16);
  EXPECT_EQ(m.dtype, DType::BF16);
  EXPECT_EQ(m.eos_token_ids, (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_EQ(m.bos_token_id, 128000);
  EXPECT_FALSE(m.pad_token_id.has_value());
}

TEST(ModelConfig, Qwen2SlidingWindowSwitchedOff) {
  const ModelConfig m = load("qwen2_7b_instruct.json");
  EXPECT_EQ(m.num_kv_heads, 4);
  EXPECT_EQ(m.head_size, 3584 / 28);
  EXPECT_FALSE(m.sliding_window.has_value());  // sliding_window 131072, use_sliding_window false
  EXPECT_EQ(m.max_window_layers, 28);
  EXPECT_EQ(m.max_model_len, 32768);
  EXPECT_EQ(m.rope.rope_type, "default");
  EXPECT_DOUBLE_EQ(m.rope.theta, 1000000.0);
  EXPECT_DOUBLE_EQ(*m.norm_eps, 1e-6);
  EXPECT_EQ(m.eos_token_ids, (std::vector<int64_t>{151645}));

  ModelConfigOptions on;
  on.hf_overrides = R"({"use_sliding_window": true})";
  EXPECT_EQ(load("qwen2_7b_instruct.json", on).sliding_window, 131072);
}

TEST(ModelConfig, Qwen3NullRopeScalingAndWindow) {
  const ModelConfig m = load("qwen3_8b.json");
  EXPECT_EQ(m.head_size, 128);
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_EQ(m.num_hidden_layers, 36);
  EXPECT_EQ(m.max_model_len, 40960);
  EXPECT_FALSE(m.sliding_window.has_value());
  EXPECT_EQ(m.rope.rope_type, "default");
  EXPECT_DOUBLE_EQ(m.rope.theta, 1000000.0);  // written as the integer 1000000
  EXPECT_EQ(m.rope.rotary_dim, 128);
}

TEST(ModelConfig, Gemma2HeadDimWindowAndFloat32Checkpoint) {
  const ModelConfig m = load("gemma2_9b.json");
  EXPECT_EQ(m.head_size, 256);  // head_dim, not 3584 / 16 = 224
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_EQ(m.sliding_window, 4096);
  EXPECT_EQ(m.max_model_len, 8192);
  EXPECT_TRUE(m.tie_word_embeddings);  // absent: transformers' implicit true
  // A float32 checkpoint runs in the platform's preferred type.
  EXPECT_EQ(m.config_dtype, DType::F32);
  EXPECT_EQ(m.dtype, DType::BF16);

  ModelConfigOptions f32;
  f32.dtype = "float";
  EXPECT_EQ(load("gemma2_9b.json", f32).dtype, DType::F32);
  ModelConfigOptions f16;
  f16.dtype = "half";
  expect_error([&] { load("gemma2_9b.json", f16); }, ErrorCode::InvalidConfig,
               {"model type 'gemma2' does not support float16", "bfloat16 or float32"});
  // A platform whose preferred type is float16 still avoids it for Gemma2.
  ModelConfigOptions fp16_first;
  fp16_first.platform_dtypes = {DType::F16, DType::F32};
  EXPECT_EQ(load("gemma2_9b.json", fp16_first).dtype, DType::F32);
}

TEST(ModelConfig, Phi3LongRope) {
  const ModelConfig m = load("phi3_mini_128k_instruct.json");
  EXPECT_EQ(m.head_size, 96);
  EXPECT_EQ(m.rope.rope_type, "longrope");  // legacy "su"
  EXPECT_EQ(m.rope.rotary_dim, 96);
  ASSERT_EQ(m.rope.short_factor.size(), 48u);
  ASSERT_EQ(m.rope.long_factor.size(), 48u);
  EXPECT_DOUBLE_EQ(m.rope.short_factor.front(), 1.05);
  EXPECT_DOUBLE_EQ(m.rope.long_factor.back(), 64.81001281738281);
  // original_max_position_embeddings is a top-level key in Phi-3.
  EXPECT_EQ(m.rope.original_max_position_embeddings, 4096);
  EXPECT_DOUBLE_EQ(m.rope.factor, 32.0);  // 131072 / 4096
  EXPECT_EQ(m.derived_max_model_len, 131072);
  // vLLM defaults longrope models to the pre-training length; more can be requested.
  EXPECT_EQ(m.max_model_len, 4096);
  ModelConfigOptions longer;
  longer.max_model_len = 131072;
  EXPECT_EQ(load("phi3_mini_128k_instruct.json", longer).max_model_len, 131072);
  EXPECT_EQ(m.sliding_window, 262144);
  EXPECT_EQ(m.eos_token_ids, (std::vector<int64_t>{32000}));
  EXPECT_EQ(m.pad_token_id, 32000);
}

TEST(ModelConfig, MixtralExperts) {
  const ModelConfig m = load("mixtral_8x7b_instruct.json");
  EXPECT_EQ(m.num_experts, 8);
  EXPECT_EQ(m.num_experts_per_tok, 2);
  EXPECT_EQ(m.hf_text_config.get_int("num_local_experts"), 8);
  EXPECT_DOUBLE_EQ(m.hf_config.get_double("router_aux_loss_coef"), 0.02);
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_EQ(m.max_model_len, 32768);
  EXPECT_FALSE(m.sliding_window.has_value());
}

TEST(ModelConfig, LlavaReadsTheTextConfigWithLlamaDefaults) {
  const ModelConfig m = load("llava_1_5_7b.json");
  EXPECT_EQ(m.architectures, (std::vector<std::string>{"LlavaForConditionalGeneration"}));
  EXPECT_EQ(m.model_type, "llava");
  EXPECT_EQ(m.text_model_type, "llama");
  EXPECT_EQ(m.hidden_size, 4096);
  EXPECT_EQ(m.num_attention_heads, 32);
  EXPECT_EQ(m.num_kv_heads, 32);
  EXPECT_EQ(m.head_size, 128);
  EXPECT_EQ(m.num_hidden_layers, 32);
  EXPECT_EQ(m.vocab_size, 32064);
  EXPECT_EQ(m.intermediate_size, 11008);
  EXPECT_DOUBLE_EQ(*m.norm_eps, 1e-5);
  EXPECT_EQ(m.max_model_len, 4096);
  EXPECT_FALSE(m.tie_word_embeddings);
  EXPECT_EQ(m.config_dtype, DType::F16);
  EXPECT_EQ(m.dtype, DType::F16);  // float16 is usable on the platform: kept
  EXPECT_EQ(m.pad_token_id, 32001);
}

TEST(ModelConfig, Gemma3ReadsTheTextConfigAndPerLayerRope) {
  const ModelConfig m = load("gemma3_4b_it.json");
  EXPECT_EQ(m.model_type, "gemma3");
  EXPECT_EQ(m.text_model_type, "gemma3_text");
  EXPECT_EQ(m.hidden_size, 2560);
  EXPECT_EQ(m.num_hidden_layers, 34);
  EXPECT_EQ(m.num_attention_heads, 8);  // Gemma3TextConfig defaults
  EXPECT_EQ(m.num_kv_heads, 4);
  EXPECT_EQ(m.head_size, 256);
  EXPECT_EQ(m.vocab_size, 262208);
  EXPECT_TRUE(m.tie_word_embeddings);
  EXPECT_EQ(m.sliding_window, 1024);
  // Gemma3's max_position_embeddings already includes its linear factor 8: not scaled again.
  EXPECT_EQ(m.max_model_len, 131072);
  EXPECT_EQ(m.rope.rope_type, "linear");
  EXPECT_DOUBLE_EQ(m.rope.factor, 8.0);
  EXPECT_DOUBLE_EQ(m.rope.theta, 1000000.0);
  const RopeConfig& local = m.rope_for_layer_type("sliding_attention");
  EXPECT_EQ(local.rope_type, "default");
  EXPECT_DOUBLE_EQ(local.theta, 10000.0);
  EXPECT_EQ(&m.rope_for_layer_type("unknown_layer"), &m.rope);
  EXPECT_EQ(m.eos_token_ids, (std::vector<int64_t>{1, 106}));
  EXPECT_EQ(m.dtype, DType::BF16);
}

TEST(ModelConfig, Mistral3TextConfig) {
  const ModelConfig m = load("mistral3_small_3_1_24b.json");
  EXPECT_EQ(m.hidden_size, 5120);
  EXPECT_EQ(m.head_size, 128);  // head_dim, not 5120 / 32 = 160
  EXPECT_EQ(m.num_kv_heads, 8);
  EXPECT_FALSE(m.sliding_window.has_value());
  EXPECT_DOUBLE_EQ(m.rope.theta, 1e9);
  EXPECT_EQ(m.max_model_len, 131072);
  EXPECT_EQ(m.dtype, DType::BF16);
}

TEST(ModelConfig, FalconKvHeadRules) {
  const ModelConfig falcon7b = load("falcon_7b.json");
  EXPECT_EQ(falcon7b.num_attention_heads, 71);
  EXPECT_EQ(falcon7b.num_kv_heads, 1);  // multi_query
  EXPECT_EQ(falcon7b.head_size, 64);
  EXPECT_EQ(falcon7b.max_model_len, 2048);  // no length key: the 2048 default
  EXPECT_DOUBLE_EQ(*falcon7b.norm_eps, 1e-5);
  EXPECT_TRUE(falcon7b.tie_word_embeddings);

  const ModelConfig falcon40b = load("falcon_40b_refinedweb.json");
  EXPECT_EQ(falcon40b.num_attention_heads, 128);  // n_head
  EXPECT_EQ(falcon40b.num_hidden_layers, 60);     // n_layer
  EXPECT_EQ(falcon40b.num_kv_heads, 8);           // n_head_kv
  // The new decoder architecture ignores multi_query.
  ModelConfigOptions mq;
  mq.hf_overrides = R"({"multi_query": true, "new_decoder_architecture": true})";
  EXPECT_EQ(load("falcon_40b_refinedweb.json", mq).num_kv_heads, 8);
  mq.hf_overrides = R"({"multi_query": true})";
  EXPECT_EQ(load("falcon_40b_refinedweb.json", mq).num_kv_heads, 1);
}

TEST(ModelConfig, ChatGlmNames) {
  const ModelConfig m = load("chatglm3_6b.json");
  EXPECT_EQ(m.num_kv_heads, 2);           // multi_query_group_num
  EXPECT_EQ(m.num_hidden_layers, 28);     // num_layers
  EXPECT_EQ(m.vocab_size, 65024);         // padded_vocab_size
  EXPECT_EQ(m.intermediate_size, 13696);  // ffn_hidden_size
  EXPECT_DOUBLE_EQ(*m.norm_eps, 1e-5);    // layernorm_epsilon
  EXPECT_EQ(m.max_model_len, 8192);       // seq_length
  EXPECT_EQ(m.head_size, 128);
}

TEST(ModelConfig, PartialRotaryVariants) {
  const ModelConfig phi2 = load("phi2.json");
  EXPECT_EQ(phi2.head_size, 80);
  EXPECT_EQ(phi2.rope.rotary_dim, 32);  // partial_rotary_factor 0.4
  EXPECT_EQ(phi2.num_kv_heads, 32);
  EXPECT_DOUBLE_EQ(*phi2.norm_eps, 1e-5);

  const ModelConfig pythia = load("pythia_160m.json");
  EXPECT_EQ(pythia.head_size, 64);
  EXPECT_EQ(pythia.rope.rotary_dim, 16);         // rotary_pct 0.25
  EXPECT_DOUBLE_EQ(pythia.rope.theta, 10000.0);  // rotary_emb_base

  const ModelConfig gptj = load("gptj_6b.json");
  EXPECT_EQ(gptj.hidden_size, 4096);        // n_embd
  EXPECT_EQ(gptj.num_attention_heads, 16);  // n_head
  EXPECT_EQ(gptj.head_size, 256);
  EXPECT_EQ(gptj.rope.rotary_dim, 64);               // rotary_dim
  EXPECT_EQ(gptj.max_model_len, 2048);               // n_positions
  EXPECT_FALSE(gptj.intermediate_size.has_value());  // n_inner: null
}

TEST(ModelConfig, TransformersV5RopeParametersAndDtype) {
  const ModelConfig m = load("llama3_2_1b_instruct_v5.json");
  EXPECT_EQ(m.config_dtype, DType::BF16);  // "dtype", not "torch_dtype"
  EXPECT_EQ(m.rope.rope_type, "llama3");
  EXPECT_DOUBLE_EQ(m.rope.theta, 500000.0);  // rope_parameters.rope_theta
  EXPECT_DOUBLE_EQ(m.rope.factor, 32.0);
  EXPECT_EQ(m.rope.original_max_position_embeddings, 8192);
  EXPECT_EQ(m.head_size, 64);
  EXPECT_EQ(m.max_model_len, 131072);
  EXPECT_TRUE(m.tie_word_embeddings);
}

TEST(ModelConfig, OverridesApplyBeforeDerivation) {
  // Qwen2.5-style YaRN enabled through hf_overrides, as vLLM's docs recommend.
  ModelConfigOptions yarn;
  yarn.hf_overrides =
      R"({"rope_scaling": {"type": "yarn", "factor": 4.0,
                           "original_max_position_embeddings": 32768}})";
  const ModelConfig m = load("qwen2_7b_instruct.json", yarn);
  EXPECT_EQ(m.rope.rope_type, "yarn");
  EXPECT_EQ(m.derived_max_model_len, 131072);  // original 32768 * factor 4
  EXPECT_EQ(m.max_model_len, 131072);
  EXPECT_NE(m.max_model_len_origin.find("yarn rope factor 4"), std::string::npos)
      << m.max_model_len_origin;

  ModelConfigOptions text;
  text.hf_overrides = R"({"text_config": {"num_hidden_layers": 2, "sliding_window": null}})";
  const ModelConfig g = load("gemma3_4b_it.json", text);
  EXPECT_EQ(g.num_hidden_layers, 2);
  EXPECT_FALSE(g.sliding_window.has_value());

  ModelConfigOptions bad;
  bad.hf_overrides = R"({"text_config": {"num_hidden_layers": 2})";
  expect_error([&] { load("gemma3_4b_it.json", bad); }, ErrorCode::InvalidConfig,
               {"hf_overrides is not valid JSON", "at character 40"});
}

TEST(ModelConfig, RequestedMaxModelLen) {
  ModelConfigOptions shorter;
  shorter.max_model_len = 8192;
  EXPECT_EQ(load("llama3_1_8b_instruct.json", shorter).max_model_len, 8192);

  ModelConfigOptions longer;
  longer.max_model_len = 200000;
  expect_error([&] { load("llama3_1_8b_instruct.json", longer); }, ErrorCode::InvalidConfig,
               {"requested max_model_len 200000", "maximum 131072",
                "max_position_embeddings=131072", "allow_long_max_model_len"});
  longer.allow_long_max_model_len = true;
  EXPECT_EQ(load("llama3_1_8b_instruct.json", longer).max_model_len, 200000);

  ModelConfigOptions zero;
  zero.max_model_len = 0;
  expect_error([&] { load("llama3_1_8b_instruct.json", zero); }, ErrorCode::InvalidConfig,
               {"max_model_len is 0"});

  ModelConfigOptions no_window;
  no_window.disable_sliding_window = true;
  const ModelConfig capped = load("gemma2_9b.json", no_window);
  EXPECT_EQ(capped.max_model_len, 4096);
  EXPECT_FALSE(capped.sliding_window.has_value());
}

TEST(ModelConfig, MaxLenTakesTheSmallestKeyAndModelMaxLength) {
  const char* base = R"({"hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1,
                         "vocab_size": 10, "max_position_embeddings": 4096, "seq_length": 2048})";
  EXPECT_EQ(ModelConfig::from_json_string(base).max_model_len, 2048);
  ModelConfigOptions cohere;
  cohere.hf_overrides = R"({"model_max_length": 131072})";
  EXPECT_EQ(ModelConfig::from_json_string(base, cohere).max_model_len, 131072);
  ModelConfigOptions dynamic;
  dynamic.hf_overrides = R"({"rope_scaling": {"rope_type": "dynamic", "factor": 2.0}})";
  EXPECT_EQ(ModelConfig::from_json_string(base, dynamic).max_model_len, 4096);
}

TEST(ModelConfig, DtypeRequests) {
  ModelConfigOptions o;
  o.dtype = "BFloat16";
  EXPECT_EQ(load("llava_1_5_7b.json", o).dtype, DType::BF16);
  o.dtype = "float32";
  EXPECT_EQ(load("llava_1_5_7b.json", o).dtype, DType::F32);
  o.dtype = "fp12";
  expect_error([&] { load("llava_1_5_7b.json", o); }, ErrorCode::InvalidConfig,
               {"unknown dtype 'fp12'", "auto, bfloat16, float16, half, float32, float"});
  ModelConfigOptions gpu_without_bf16;
  gpu_without_bf16.platform_dtypes = {DType::F16, DType::F32};
  EXPECT_EQ(load("llama3_1_8b_instruct.json", gpu_without_bf16).dtype, DType::F16);
  gpu_without_bf16.dtype = "bfloat16";
  expect_error([&] { load("llama3_1_8b_instruct.json", gpu_without_bf16); }, ErrorCode::Unsupported,
               {"dtype bfloat16 is not supported by the platform"});
  // No dtype in the config: the checkpoint's, else float32 -> the preferred type.
  const char* bare = R"({"hidden_size": 64, "num_attention_heads": 4, "num_hidden_layers": 1,
                         "vocab_size": 10})";
  EXPECT_FALSE(ModelConfig::from_json_string(bare).config_dtype.has_value());
  EXPECT_EQ(ModelConfig::from_json_string(bare).dtype, DType::BF16);
  ModelConfigOptions weights;
  weights.weights_dtype = DType::F16;
  EXPECT_EQ(ModelConfig::from_json_string(bare, weights).dtype, DType::F16);
  ModelConfigOptions int_dtype;
  int_dtype.hf_overrides = R"({"torch_dtype": "int8"})";
  expect_error([&] { ModelConfig::from_json_string(bare, int_dtype); }, ErrorCode::InvalidConfig,
               {"'torch_dtype'", "\"int8\", which is not a floating-point dtype"});
}

TEST(ModelConfig, BadShapesAreNamed) {
  expect_error(
      [] {
        ModelConfig::from_json_string(R"({"num_attention_heads": 4, "num_hidden_layers": 1,
                                          "vocab_size": 10})",
                                      {}, "/m/config.json");
      },
      ErrorCode::InvalidConfig,
      {"/m/config.json has no 'hidden_size'", "'n_embd'", "add \"hidden_size\": <integer>"});
  expect_error(
      [] {
        ModelConfig::from_json_string(R"({"hidden_size": "4096", "num_attention_heads": 4,
                                          "num_hidden_layers": 1, "vocab_size": 10})");
      },
      ErrorCode::InvalidConfig,
      {"'hidden_size'", "must be an integer, but it is the string \"4096\""});
  expect_error(
      [] {
        ModelConfig::from_json_string(R"({"hidden_size": 64, "num_attention_heads": 0,
                                          "num_hidden_layers": 1, "vocab_size": 10})");
      },
      ErrorCode::InvalidConfig, {"'num_attention_heads'", "is 0; it must be positive"});
  expect_error(
      [] {
        ModelConfig::from_json_string(R"({"hidden_size": 64, "num_attention_heads": 6,
                                          "num_hidden_layers": 1, "vocab_size": 10})");
      },
      ErrorCode::InvalidConfig, {"hidden size 64 does not divide into 6 attention heads"});
  expect_error(
      [] {
        ModelConfig::from_json_string(R"({"hidden_size": 64, "num_attention_heads": 4,
                                          "num_key_value_heads": 3, "num_hidden_layers": 1,
                                          "vocab_size": 10})");
      },
      ErrorCode::InvalidConfig, {"'num_key_value_heads'", "split evenly"});
  expect_error(
      [] {
        ModelConfig::from_json_string(R"({"hidden_size": 64, "num_attention_heads": 4,
                                          "num_hidden_layers": 1, "vocab_size": 10,
                                          "sliding_window": 0})");
      },
      ErrorCode::InvalidConfig, {"'sliding_window'", "null for full attention"});
  ModelConfigOptions huge_factor;
  huge_factor.hf_overrides = R"({"rope_scaling": {"rope_type": "linear", "factor": 1e300}})";
  expect_error([&] { load("qwen3_8b.json", huge_factor); }, ErrorCode::InvalidConfig,
               {"implausible maximum length", "linear rope factor 1e+300"});
}
