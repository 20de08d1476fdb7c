// HfConfig: typed access, error messages, raw JSON, text_config views and hf_overrides.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>

#include "common/expect_error.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

using namespace pagoda;
using pagoda::testing::expect_error;

namespace {

std::filesystem::path fixture(std::string_view name) {
  return std::filesystem::path(PAGODA_FIXTURES_DIR) / "configs" / name;
}

struct TempDir {
  std::filesystem::path path;
  TempDir() {
    path =
        std::filesystem::temp_directory_path() /
        ("pagoda_config_test_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
         "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::remove_all(path);
    std::filesystem::create_directories(path);
  }
  ~TempDir() { std::filesystem::remove_all(path); }
  void write(std::string_view name, std::string_view text) const {
    std::ofstream(path / name, std::ios::binary) << text;
  }
};

const char* kTyped = R"({
  "hidden_size": 4096, "as_float": 8192.0, "eps": 1e-5, "theta": 500000, "name": "llama",
  "flag": true, "ids": [1, 2, 3], "factors": [0.5, 1, 2.5], "architectures": ["LlamaForCausalLM"],
  "eos_token_id": 7, "nothing": null, "nested": {"bits": 4}
})";

}  // namespace

TEST(HfConfig, TypedGettersReadEachJsonType) {
  const HfConfig c = HfConfig::from_string(kTyped, "typed.json");
  EXPECT_EQ(c.get_int("hidden_size"), 4096);
  EXPECT_EQ(c.get_int("as_float"), 8192);  // integral floats are integers
  EXPECT_DOUBLE_EQ(c.get_double("eps"), 1e-5);
  EXPECT_DOUBLE_EQ(c.get_double("theta"), 500000.0);  // integers are numbers
  EXPECT_EQ(c.get_string("name"), "llama");
  EXPECT_TRUE(c.get_bool("flag"));
  EXPECT_EQ(c.get_int_list("ids"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(c.get_double_list("factors"), (std::vector<double>{0.5, 1.0, 2.5}));
  EXPECT_EQ(c.get_string_list("architectures"), (std::vector<std::string>{"LlamaForCausalLM"}));
  EXPECT_EQ(c.find_int_or_int_list("eos_token_id"), (std::vector<int64_t>{7}));
  EXPECT_EQ(c.find_int_or_int_list("ids"), (std::vector<int64_t>{1, 2, 3}));
  EXPECT_EQ(c.architectures(), (std::vector<std::string>{"LlamaForCausalLM"}));
}

TEST(HfConfig, DefaultsApplyToAbsentAndNullKeys) {
  const HfConfig c = HfConfig::from_string(kTyped);
  EXPECT_EQ(c.get_int_or("x", 3), 3);
  EXPECT_EQ(c.get_int_or("nothing", 5), 5);  // null counts as absent
  EXPECT_EQ(c.get_int_or("hidden_size", 3), 4096);
  EXPECT_DOUBLE_EQ(c.get_double_or("x", 0.25), 0.25);
  EXPECT_EQ(c.get_string_or("x", "fallback"), "fallback");
  EXPECT_FALSE(c.get_bool_or("x", false));
  EXPECT_FALSE(c.find_int("x").has_value());
  EXPECT_TRUE(c.has("hidden_size"));
  EXPECT_FALSE(c.has("nothing"));
  EXPECT_FALSE(c.has("x"));
  EXPECT_TRUE(c.find_int_or_int_list("x").empty());
}

TEST(HfConfig, RawJsonReachesModelSpecificKeys) {
  const HfConfig c = HfConfig::from_string(kTyped);
  const nlohmann::json* nested = c.find("nested");
  ASSERT_NE(nested, nullptr);
  EXPECT_EQ(nested->at("bits").get<int>(), 4);
  EXPECT_TRUE(c.json().contains("nothing"));
  EXPECT_EQ(c.find("nothing"), nullptr);
  const auto sub = c.sub_config("nested");
  ASSERT_TRUE(sub.has_value());
  EXPECT_EQ(sub->get_int("bits"), 4);
  EXPECT_EQ(sub->key_prefix(), "nested.");
  EXPECT_FALSE(c.sub_config("x").has_value());
}

TEST(HfConfig, MissingRequiredKeyNamesFileKeyAndFix) {
  const HfConfig c = HfConfig::from_string(R"({"num_attention_heads": 32})", "/m/config.json");
  expect_error([&] { c.get_int("hidden_size"); }, ErrorCode::InvalidConfig,
               {"/m/config.json has no 'hidden_size'", "an integer is required",
                "add \"hidden_size\": <integer> to /m/config.json",
                "hf_overrides='{\"hidden_size\": <integer>}'"});
  expect_error(
      [&] {
        c.get_first_int({"num_hidden_layers", "n_layer", "num_layers"});
      },
      ErrorCode::InvalidConfig, {"has no 'num_hidden_layers'", "'n_layer'", "'num_layers'"});
}

TEST(HfConfig, WrongTypeNamesExpectedTypeAndValueFound) {
  const HfConfig c = HfConfig::from_string(
      R"({"hidden_size": "4096", "eps": "small", "flag": 1, "ids": [1, "2"], "half": 0.5,
          "huge": 9223372036854775808})",
      "/m/config.json");
  expect_error([&] { c.get_int("hidden_size"); }, ErrorCode::InvalidConfig,
               {"'hidden_size' in /m/config.json must be an integer, but it is the string "
                "\"4096\"",
                "write it as <integer> without quotes in /m/config.json"});
  expect_error([&] { c.get_double("eps"); }, ErrorCode::InvalidConfig,
               {"must be a number", "\"small\""});
  expect_error([&] { c.get_bool("flag"); }, ErrorCode::InvalidConfig,
               {"must be a boolean", "the integer 1"});
  expect_error([&] { c.get_int_list("ids"); }, ErrorCode::InvalidConfig,
               {"must be a list of integers", "an array of 2 elements"});
  expect_error([&] { c.get_int("half"); }, ErrorCode::InvalidConfig, {"the number 0.5"});
  expect_error([&] { c.get_int("huge"); }, ErrorCode::InvalidConfig,
               {"9223372036854775808 (beyond the 64-bit integer range)"});
  expect_error([&] { c.get_string("flag"); }, ErrorCode::InvalidConfig,
               {"must be a string, but it is the integer 1"});
}

TEST(HfConfig, TextConfigIsTheNestedObjectElseTheTopLevel) {
  const HfConfig plain = HfConfig::from_file(fixture("qwen3_8b.json"));
  EXPECT_FALSE(plain.has_text_config());
  EXPECT_EQ(plain.text_config().get_int("hidden_size"), 4096);
  EXPECT_EQ(plain.text_config().key_prefix(), "");

  const HfConfig mistral3 = HfConfig::from_file(fixture("mistral3_small_3_1_24b.json"));
  ASSERT_TRUE(mistral3.has_text_config());
  const HfConfig text = mistral3.text_config();
  EXPECT_EQ(text.get_int("hidden_size"), 5120);
  EXPECT_EQ(text.model_type(), "mistral");
  EXPECT_EQ(mistral3.model_type(), "mistral3");
  EXPECT_EQ(text.key_prefix(), "text_config.");
  // An explicit null is kept, not replaced by MistralConfig's default window of 4096.
  EXPECT_FALSE(text.has("sliding_window"));
}

TEST(HfConfig, TextConfigGetsTheTextClassDefaultsHuggingFaceOmits) {
  // Llava-1.5's text_config names only what differs from LlamaConfig's defaults.
  const HfConfig text = HfConfig::from_file(fixture("llava_1_5_7b.json")).text_config();
  EXPECT_EQ(text.get_int("hidden_size"), 4096);
  EXPECT_EQ(text.get_int("num_attention_heads"), 32);
  EXPECT_EQ(text.get_int("intermediate_size"), 11008);
  EXPECT_EQ(text.get_int("vocab_size"), 32064);  // written in the file, not the default 32000
  EXPECT_EQ(text.get_int("max_position_embeddings"), 4096);

  // Without a model_type, the composite's own text class is implied.
  const HfConfig implied =
      HfConfig::from_string(R"({"model_type": "llava", "text_config": {"vocab_size": 100}})")
          .text_config();
  EXPECT_EQ(implied.model_type(), "llama");
  EXPECT_EQ(implied.get_int("num_hidden_layers"), 32);
}

TEST(HfConfig, NestedKeyErrorsNameTheFullPathAndANestedOverride) {
  const HfConfig c = HfConfig::from_string(
      R"({"model_type": "x", "text_config": {"hidden_size": [4096]}})", "/m/config.json");
  expect_error([&] { c.text_config().get_int("hidden_size"); }, ErrorCode::InvalidConfig,
               {"'text_config.hidden_size' in /m/config.json must be an integer",
                "hf_overrides='{\"text_config\": {\"hidden_size\": <integer>}}'"});
  expect_error(
      [&] { c.text_config().get_int("num_attention_heads"); }, ErrorCode::InvalidConfig,
      {"has no 'text_config.num_attention_heads'", "the 'text_config' object in /m/config.json"});
  expect_error([] { HfConfig::from_string(R"({"text_config": 3})").text_config(); },
               ErrorCode::InvalidConfig, {"'text_config'", "must be an object"});
}

TEST(HfConfig, OverridesMergeObjectsAndReplaceRopeBlocks) {
  const HfConfig base = HfConfig::from_file(fixture("gemma3_4b_it.json"));
  const HfConfig c = base.with_overrides(
      R"({"text_config": {"num_hidden_layers": 2}, "architectures": ["Custom"],
          "eos_token_id": null})");
  EXPECT_EQ(c.text_config().get_int("num_hidden_layers"), 2);
  EXPECT_EQ(c.text_config().get_int("hidden_size"), 2560);  // untouched sibling kept
  EXPECT_EQ(c.architectures(), (std::vector<std::string>{"Custom"}));
  EXPECT_FALSE(c.has("eos_token_id"));
  EXPECT_EQ(base.text_config().get_int("num_hidden_layers"), 34);  // the original is unchanged

  const HfConfig llama =
      HfConfig::from_file(fixture("llama3_1_8b_instruct.json"))
          .with_overrides(R"({"rope_scaling": {"type": "linear", "factor": 2}})");
  const auto rope = llama.sub_config("rope_scaling");
  ASSERT_TRUE(rope.has_value());
  EXPECT_FALSE(rope->has("rope_type"));  // replaced whole, no llama3 leftovers
  EXPECT_FALSE(rope->has("low_freq_factor"));
  EXPECT_EQ(rope->get_string("type"), "linear");
}

TEST(HfConfig, BadOverridesNameThePosition) {
  const HfConfig c = HfConfig::from_string(R"({"hidden_size": 8})");
  expect_error([&] { c.with_overrides(R"({"max_position_embeddings": 8192,})"); },
               ErrorCode::InvalidConfig,
               {"hf_overrides is not valid JSON", "at character 33", "line 1, column 34"});
  expect_error([&] { c.with_overrides(R"({"a": tru})"); }, ErrorCode::InvalidConfig,
               {"hf_overrides", "character 9"});
  expect_error([&] { c.with_overrides("[1, 2]"); }, ErrorCode::InvalidConfig,
               {"hf_overrides must be a JSON object", "an array of 2 elements"});
  EXPECT_EQ(c.with_overrides("  ").get_int("hidden_size"), 8);  // blank means none
}

TEST(HfConfig, FilesAndDirectoriesReportWhatIsWrong) {
  TempDir dir;
  expect_error([&] { HfConfig::from_model_dir(dir.path); }, ErrorCode::NotFound,
               {"has no config.json", "Hugging Face model snapshot"});
  dir.write("params.json", "{}");
  expect_error([&] { HfConfig::from_model_dir(dir.path); }, ErrorCode::NotFound,
               {"Mistral-format"});
  dir.write("config.json", "{\n  \"hidden_size\": 8,\n  \"vocab_size\": \n}\n");
  expect_error([&] { HfConfig::from_model_dir(dir.path); }, ErrorCode::InvalidFormat,
               {"config.json is not valid JSON", "line 4, column 1"});
  dir.write("config.json", "[1]");
  expect_error([&] { HfConfig::from_model_dir(dir.path); }, ErrorCode::InvalidConfig,
               {"must hold a JSON object"});
  dir.write("config.json", R"({"hidden_size": 8})");
  EXPECT_EQ(HfConfig::from_model_dir(dir.path).get_int("hidden_size"), 8);
  expect_error([&] { HfConfig::from_file(dir.path / "nope.json"); }, ErrorCode::NotFound,
               {"nope.json does not exist"});
}

TEST(HfConfig, HostileInputIsRejectedWithoutCrashing) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  expect_error([&] { HfConfig::from_string(deep); }, ErrorCode::InvalidFormat, {"deeper than"});
  expect_error([] { HfConfig::from_string(""); }, ErrorCode::InvalidFormat, {"not valid JSON"});
  expect_error([] { HfConfig::from_string("{\"a\": 1"); }, ErrorCode::InvalidFormat,
               {"not valid JSON"});
  expect_error([] { HfConfig::from_string("{\"a\": 1e999}").get_double("a"); },
               ErrorCode::InvalidFormat, {"not valid JSON"});
}
