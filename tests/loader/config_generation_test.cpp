// generation_config.json: sampling defaults, special tokens, absent and malformed files.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>

#include "common/expect_error.h"
#include "pagoda/error.h"
#include "pagoda/generation_config.h"
#include "pagoda/model_config.h"

using namespace pagoda;
using pagoda::testing::expect_error;

namespace {

std::filesystem::path fixture(std::string_view name) {
  return std::filesystem::path(PAGODA_FIXTURES_DIR) / "configs" / name;
}

// A model directory holding a fixture's config.json and, optionally, its generation config.
struct ModelDir {
  std::filesystem::path path;
  explicit ModelDir(std::string_view model) {
    path = std::filesystem::temp_directory_path() /
           ("pagoda_generation_test_" +
            std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
    std::filesystem::copy_file(fixture(std::string(model) + ".json"), path / "config.json");
  }
  ~ModelDir() { std::filesystem::remove_all(path); }
  void add_generation_config(std::string_view model) const {
    std::filesystem::copy_file(fixture(std::string(model) + ".generation_config.json"),
                               path / "generation_config.json");
  }
  void write_generation_config(std::string_view text) const {
    std::ofstream(path / "generation_config.json", std::ios::binary) << text;
  }
};

}  // namespace

TEST(GenerationConfig, ReadsSamplingDefaultsAndTokens) {
  const GenerationConfig g =
      GenerationConfig::from_file(fixture("qwen2_7b_instruct.generation_config.json"));
  EXPECT_TRUE(g.found());
  EXPECT_DOUBLE_EQ(*g.temperature, 0.7);
  EXPECT_DOUBLE_EQ(*g.top_p, 0.8);
  EXPECT_EQ(g.top_k, 20);
  EXPECT_DOUBLE_EQ(*g.repetition_penalty, 1.05);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_FALSE(g.min_p.has_value());
  EXPECT_FALSE(g.max_new_tokens.has_value());
  EXPECT_EQ(g.eos_token_ids, (std::vector<int64_t>{151645, 151643}));
  EXPECT_EQ(g.bos_token_id, 151643);
  EXPECT_EQ(g.pad_token_id, 151643);
}

TEST(GenerationConfig, EosIdsCombineWithConfigJson) {
  ModelDir dir("qwen2_7b_instruct");
  dir.add_generation_config("qwen2_7b_instruct");
  const ModelConfig model = ModelConfig::from_model_dir(dir.path);
  const GenerationConfig g = GenerationConfig::from_model_dir(dir.path);
  // config.json says 151645 (<|im_end|>); generation_config adds 151643 (<|endoftext|>).
  EXPECT_EQ(model.eos_token_ids, (std::vector<int64_t>{151645}));
  EXPECT_EQ(g.all_eos_token_ids(model.eos_token_ids), (std::vector<int64_t>{151645, 151643}));

  const GenerationConfig llama =
      GenerationConfig::from_file(fixture("llama3_1_8b_instruct.generation_config.json"));
  EXPECT_EQ(llama.all_eos_token_ids({128001, 128008, 128009}),
            (std::vector<int64_t>{128001, 128008, 128009}));
  EXPECT_DOUBLE_EQ(*llama.temperature, 0.6);
  EXPECT_DOUBLE_EQ(*llama.top_p, 0.9);
  EXPECT_FALSE(llama.top_k.has_value());
  const GenerationConfig single = GenerationConfig::from_string(R"({"eos_token_id": 2})");
  EXPECT_EQ(single.all_eos_token_ids({1}), (std::vector<int64_t>{1, 2}));
}

TEST(GenerationConfig, AbsentFileGivesEmptyDefaults) {
  ModelDir dir("gemma2_9b");
  const GenerationConfig g = GenerationConfig::from_model_dir(dir.path);
  EXPECT_FALSE(g.found());
  EXPECT_FALSE(g.temperature.has_value());
  EXPECT_FALSE(g.top_k.has_value());
  EXPECT_TRUE(g.eos_token_ids.empty());
  EXPECT_EQ(g.all_eos_token_ids({1}), (std::vector<int64_t>{1}));
  expect_error([&] { GenerationConfig::from_file(dir.path / "generation_config.json"); },
               ErrorCode::NotFound, {"generation_config.json does not exist"});
}

TEST(GenerationConfig, NullsAndExtraKeysAreTolerated) {
  const GenerationConfig g = GenerationConfig::from_string(
      R"({"temperature": null, "top_k": 0, "min_p": 0.05, "max_new_tokens": 512,
          "max_length": 4096, "transformers_version": "4.51.0", "cache_implementation": "hybrid"})");
  EXPECT_FALSE(g.temperature.has_value());
  EXPECT_EQ(g.top_k, 0);
  EXPECT_DOUBLE_EQ(*g.min_p, 0.05);
  EXPECT_EQ(g.max_new_tokens, 512);
}

TEST(GenerationConfig, MalformedFileIsNamed) {
  ModelDir dir("qwen3_8b");
  dir.write_generation_config("{\n  \"temperature\": 0.6,\n  \"top_k\": 20,\n}\n");
  const std::string file = (dir.path / "generation_config.json").string();
  expect_error([&] { GenerationConfig::from_model_dir(dir.path); }, ErrorCode::InvalidFormat,
               {file + " is not valid JSON", "line 4, column 1"});

  dir.write_generation_config(R"({"temperature": "0.6"})");
  expect_error([&] { GenerationConfig::from_model_dir(dir.path); }, ErrorCode::InvalidConfig,
               {"'temperature' in " + file, "must be a number", "the string \"0.6\""});
  dir.write_generation_config(R"({"eos_token_id": ["<eos>"]})");
  expect_error([&] { GenerationConfig::from_model_dir(dir.path); }, ErrorCode::InvalidConfig,
               {"'eos_token_id'", "an integer or a list of integers"});
  dir.write_generation_config(R"({"top_p": 1.5})");
  expect_error([&] { GenerationConfig::from_model_dir(dir.path); }, ErrorCode::InvalidConfig,
               {"'top_p' in " + file, "is 1.5; top_p must be in (0, 1]"});
  dir.write_generation_config(R"({"temperature": -1})");
  expect_error([&] { GenerationConfig::from_model_dir(dir.path); }, ErrorCode::InvalidConfig,
               {"'temperature'", ">= 0"});
  dir.write_generation_config("[]");
  expect_error([&] { GenerationConfig::from_model_dir(dir.path); }, ErrorCode::InvalidConfig,
               {file, "must hold a JSON object"});
  // No option overrides this file, so the fix says to edit it and names no hf_overrides.
  dir.write_generation_config(R"({"top_k": "20"})");
  try {
    GenerationConfig::from_model_dir(dir.path);
    ADD_FAILURE();
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find("hf_overrides"), std::string::npos) << e.what();
  }
}
