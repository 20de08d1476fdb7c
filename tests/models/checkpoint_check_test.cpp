// `pagoda check` catches each of a set of deliberately broken checkpoints, made from the Llama
// fixture by removing, adding, reshaping tensors or breaking the config.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "pagoda/checkpoint_check.h"
#include "pagoda/safetensors.h"

using namespace pagoda;
namespace fs = std::filesystem;

namespace {

const fs::path kLlama = fs::path(PAGODA_FIXTURES_DIR) / "hf" / "llama";

class BrokenCheckpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pagoda_check_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
    fs::copy_file(kLlama / "config.json", dir_ / "config.json");
    SafetensorsCheckpoint original(kLlama);
    for (auto [name, tensor] : original) tensors_.emplace_back(name, tensor);
  }
  void TearDown() override { fs::remove_all(dir_); }

  void write_tensors() { write_safetensors(dir_ / "model.safetensors", tensors_); }
  void edit_config(const std::function<void(nlohmann::json&)>& edit) {
    std::ifstream in(dir_ / "config.json");
    nlohmann::json j = nlohmann::json::parse(in);
    edit(j);
    std::ofstream(dir_ / "config.json") << j.dump(2);
  }
  static bool contains(const std::vector<std::string>& items, const std::string& part) {
    for (const auto& i : items)
      if (i.find(part) != std::string::npos) return true;
    return false;
  }

  fs::path dir_;
  std::vector<NamedTensor> tensors_;
};

TEST_F(BrokenCheckpoint, IntactCheckpointPasses) {
  write_tensors();
  const CheckReport r = check_checkpoint(dir_);
  EXPECT_TRUE(r.ok()) << format_check_report(r);
  EXPECT_EQ(r.architecture, "LlamaForCausalLM");
  EXPECT_EQ(r.num_checkpoint_tensors, tensors_.size());
}

TEST_F(BrokenCheckpoint, MissingTensorIsReportedWithItsShape) {
  std::erase_if(tensors_, [](const NamedTensor& t) { return t.first == "model.layers.1.mlp.down_proj.weight"; });
  write_tensors();
  const CheckReport r = check_checkpoint(dir_);
  EXPECT_FALSE(r.ok());
  EXPECT_TRUE(contains(r.missing, "model.layers.1.mlp.down_proj.weight [64, 128]")) << format_check_report(r);
}

TEST_F(BrokenCheckpoint, UnexpectedTensorIsReported) {
  tensors_.emplace_back("model.layers.0.mlp.extra_proj.weight", Tensor::zeros({4, 4}, DType::F32));
  write_tensors();
  const CheckReport r = check_checkpoint(dir_);
  EXPECT_TRUE(contains(r.unexpected, "model.layers.0.mlp.extra_proj.weight [4, 4]")) << format_check_report(r);
}

TEST_F(BrokenCheckpoint, WrongShapeIsReportedAndCheckingGoesOn) {
  for (auto& [name, t] : tensors_) {
    if (name == "model.layers.0.self_attn.k_proj.weight") t = Tensor::zeros({16, 64}, DType::F32);
    if (name == "model.norm.weight") t = Tensor::zeros({65}, DType::F32);
  }
  write_tensors();
  const CheckReport r = check_checkpoint(dir_);
  EXPECT_TRUE(contains(r.mismatched, "model.layers.0.self_attn.k_proj.weight")) << format_check_report(r);
  EXPECT_TRUE(contains(r.mismatched, "model.norm.weight")) << format_check_report(r);
  EXPECT_TRUE(contains(r.mismatched, "[65]"));
}

TEST_F(BrokenCheckpoint, UnusedConfigKeysAreListed) {
  write_tensors();
  edit_config([](nlohmann::json& j) { j["use_fancy_attention"] = true; });
  const CheckReport r = check_checkpoint(dir_);
  EXPECT_TRUE(r.ok()) << format_check_report(r);  // informational, not a failure
  EXPECT_TRUE(contains(r.unused_config_keys, "use_fancy_attention")) << format_check_report(r);
  EXPECT_FALSE(contains(r.unused_config_keys, "hidden_size"));
  EXPECT_FALSE(contains(r.unused_config_keys, "rms_norm_eps"));
  EXPECT_FALSE(contains(r.unused_config_keys, "transformers_version"));
}

TEST_F(BrokenCheckpoint, UnknownArchitectureNamesTheNearestSupported) {
  write_tensors();
  edit_config([](nlohmann::json& j) { j["architectures"] = {"LlamaForCausalLMM"}; });
  const CheckReport r = check_checkpoint(dir_);
  ASSERT_EQ(r.errors.size(), 1u);
  EXPECT_NE(r.errors[0].find("did you mean 'LlamaForCausalLM'"), std::string::npos) << r.errors[0];
}

TEST_F(BrokenCheckpoint, ConfigThatDisagreesWithTheWeights) {
  write_tensors();
  edit_config([](nlohmann::json& j) { j["intermediate_size"] = 96; });
  const CheckReport r = check_checkpoint(dir_);
  EXPECT_TRUE(contains(r.mismatched, "gate_proj")) << format_check_report(r);
}

TEST_F(BrokenCheckpoint, MissingConfigKeyAndTruncatedWeights) {
  write_tensors();
  edit_config([](nlohmann::json& j) { j.erase("hidden_size"); });
  CheckReport r = check_checkpoint(dir_);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find("hidden_size"), std::string::npos) << r.errors[0];

  fs::copy_file(kLlama / "config.json", dir_ / "config.json", fs::copy_options::overwrite_existing);
  fs::resize_file(dir_ / "model.safetensors", fs::file_size(dir_ / "model.safetensors") / 2);
  r = check_checkpoint(dir_);
  ASSERT_FALSE(r.errors.empty());
  EXPECT_NE(r.errors[0].find("model.safetensors"), std::string::npos) << r.errors[0];
}

}  // namespace
