// SafetensorsCheckpoint: sharded (index) and single-file checkpoints, lookup and lazy iteration.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pagoda/error.h"
#include "pagoda/safetensors.h"

using namespace pagoda;
namespace fs = std::filesystem;

namespace {

class Checkpoint : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pagoda_st_ckpt_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

Tensor filled(const Shape& shape, float start) {
  Tensor t = Tensor::empty(shape, DType::F32);
  for (int64_t i = 0; i < t.numel(); ++i)
    t.mutable_data_as<float>()[i] = start + static_cast<float>(i);
  return t;
}

std::vector<std::vector<NamedTensor>> three_shards() {
  return {
      {{"model.embed_tokens.weight", filled({4, 2}, 0)}, {"model.layers.0.w", filled({2}, 100)}},
      {{"model.layers.1.w", filled({3}, 200)}},
      {{"model.norm.weight", filled({2}, 300)},
       {"lm_head.weight", filled({2, 4}, 400).transpose(0, 1)}},
  };
}

TEST_F(Checkpoint, ShardedRoundTripIteratesFileByFileInFileOrder) {
  const auto shards = three_shards();
  const auto files = write_sharded_safetensors(dir_, shards, {{"format", "pt"}});
  EXPECT_EQ(files, (std::vector<std::string>{"model-00001-of-00003.safetensors",
                                             "model-00002-of-00003.safetensors",
                                             "model-00003-of-00003.safetensors"}));
  // The index has HF's layout.
  std::ifstream in(dir_ / "model.safetensors.index.json");
  const auto index = nlohmann::json::parse(in);
  EXPECT_EQ(index["weight_map"]["model.layers.1.w"], "model-00002-of-00003.safetensors");
  EXPECT_EQ(index["metadata"]["total_size"], (8 + 2 + 3 + 2 + 8) * 4);

  const SafetensorsCheckpoint ckpt(dir_);
  ASSERT_TRUE(ckpt.index_path().has_value());
  EXPECT_EQ(ckpt.files().size(), 3u);
  EXPECT_EQ(ckpt.size(), 5u);
  EXPECT_EQ(ckpt.files()[2].metadata().at("format"), "pt");

  std::vector<std::string> expected_order;
  for (const auto& shard : shards)
    for (const auto& [name, t] : shard) expected_order.push_back(name);
  std::vector<std::string> seen;
  for (auto [name, tensor] : ckpt) {
    seen.push_back(name);
    EXPECT_TRUE(tensor.is_read_only());
  }
  EXPECT_EQ(seen, expected_order);
  EXPECT_EQ(ckpt.names(), expected_order);

  for (const auto& shard : shards) {
    for (const auto& [name, expected] : shard) {
      SCOPED_TRACE(name);
      const Tensor got = ckpt.get(name);
      const Tensor e = expected.contiguous();
      ASSERT_EQ(got.shape(), e.shape());
      EXPECT_EQ(std::memcmp(got.data(), e.data(), e.nbytes()), 0);
    }
  }
  EXPECT_EQ(ckpt.get("lm_head.weight").data_as<float>()[1], 404.0f);  // transposed on write
  EXPECT_EQ(ckpt.file_of("model.layers.1.w").path(), dir_ / files[1]);
  EXPECT_EQ(ckpt.find("model.norm.weight")->shape, (Shape{2}));
  static_assert(std::forward_iterator<SafetensorsCheckpoint::iterator>);
}

TEST_F(Checkpoint, TensorsOutliveTheCheckpoint) {
  write_sharded_safetensors(dir_, three_shards());
  Tensor kept;
  {
    const SafetensorsCheckpoint ckpt(dir_);
    kept = ckpt.get("model.layers.1.w");
  }
  EXPECT_EQ(kept.data_as<float>()[2], 202.0f);
}

TEST_F(Checkpoint, OnlyFilesNamedByTheIndexAreOpened) {
  write_sharded_safetensors(dir_, three_shards());
  // A consolidated copy with an extra tensor next to the shards must be ignored.
  const std::vector<NamedTensor> consolidated{{"only_in_consolidated", filled({1}, 0)}};
  write_safetensors(dir_ / "model.safetensors", consolidated);
  write_safetensors(dir_ / "stray.safetensors", consolidated);
  const SafetensorsCheckpoint ckpt(dir_);
  EXPECT_EQ(ckpt.files().size(), 3u);
  EXPECT_FALSE(ckpt.contains("only_in_consolidated"));
}

TEST_F(Checkpoint, EquivalentShardSpellingsOpenOneFile) {
  write_sharded_safetensors(dir_, three_shards());
  std::ofstream(dir_ / "model.safetensors.index.json") << R"({"weight_map": {
      "model.embed_tokens.weight": "./model-00001-of-00003.safetensors",
      "model.layers.0.w": "model-00001-of-00003.safetensors",
      "model.layers.1.w": "sub/../model-00002-of-00003.safetensors"}})";
  // "sub/.." would escape nothing but is still refused: '..' is never allowed.
  EXPECT_THROW(SafetensorsCheckpoint{dir_}, Error);
  std::ofstream(dir_ / "model.safetensors.index.json") << R"({"weight_map": {
      "model.embed_tokens.weight": "./model-00001-of-00003.safetensors",
      "model.layers.0.w": "model-00001-of-00003.safetensors"}})";
  const SafetensorsCheckpoint ckpt(dir_);
  EXPECT_EQ(ckpt.files().size(), 1u);
  EXPECT_EQ(ckpt.size(), 2u);
}

TEST_F(Checkpoint, SingleFileDirectoryAndFilePath) {
  const std::vector<NamedTensor> tensors{{"b", filled({2}, 1)}, {"a", filled({1}, 5)}};
  write_safetensors(dir_ / "model.safetensors", tensors);
  for (const fs::path& p : {dir_, dir_ / "model.safetensors"}) {
    SCOPED_TRACE(p.string());
    const SafetensorsCheckpoint ckpt(p);
    EXPECT_FALSE(ckpt.index_path().has_value());
    EXPECT_EQ(ckpt.directory(), dir_);
    EXPECT_EQ(ckpt.names(), (std::vector<std::string>{"b", "a"}));
    EXPECT_EQ(ckpt.get("a").data_as<float>()[0], 5.0f);
  }
}

TEST_F(Checkpoint, ShardTensorsMissingFromTheIndexAreStillServed) {
  write_sharded_safetensors(dir_, three_shards());
  // Rewrite shard 2 with an extra tensor the index does not list.
  const std::vector<NamedTensor> shard2{{"model.layers.1.w", filled({3}, 200)},
                                        {"extra.bias", filled({1}, 7)}};
  write_safetensors(dir_ / "model-00002-of-00003.safetensors", shard2);
  const SafetensorsCheckpoint ckpt(dir_);
  EXPECT_EQ(ckpt.get("extra.bias").data_as<float>()[0], 7.0f);
  EXPECT_EQ(ckpt.size(), 6u);
}

TEST_F(Checkpoint, MissingTensorNamesTheCheckpoint) {
  write_sharded_safetensors(dir_, three_shards());
  const SafetensorsCheckpoint ckpt(dir_);
  try {
    ckpt.get("model.layers.9.w");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("'model.layers.9.w'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find(dir_.string()), std::string::npos) << e.what();
  }
  EXPECT_THROW(ckpt.file_of("nope"), Error);
  EXPECT_THROW(ckpt.at(ckpt.size()), Error);
}

TEST_F(Checkpoint, ShardWriterRejectsATensorInTwoShards) {
  const std::vector<std::vector<NamedTensor>> shards{{{"w", filled({1}, 0)}},
                                                     {{"w", filled({1}, 1)}}};
  try {
    write_sharded_safetensors(dir_ / "out", shards);
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("two shards"), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(dir_ / "out" / "model.safetensors.index.json"));
}

}  // namespace
