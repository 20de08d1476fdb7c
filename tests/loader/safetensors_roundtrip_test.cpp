// write_safetensors -> SafetensorsFile round trips: every dtype and shape kind, metadata, file
// order, zero copy, read-only views that outlive the reader.
#include <gtest/gtest.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

#include "pagoda/error.h"
#include "pagoda/safetensors.h"

using namespace pagoda;
namespace fs = std::filesystem;

namespace {

class RoundTrip : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    std::string name = std::string(info->test_suite_name()) + "_" + info->name();
    for (char& c : name)
      if (c == '/') c = '_';
    dir_ = fs::temp_directory_path() / ("pagoda_st_rt_" + std::to_string(::getpid()) + "_" + name);
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

// Deterministic bytes: different per tensor (seed) and per position. Bool stays 0/1.
Tensor patterned(const Shape& shape, DType dtype, int seed) {
  Tensor t = Tensor::empty(shape, dtype);
  auto* p = static_cast<uint8_t*>(t.mutable_data());
  for (size_t i = 0; i < t.nbytes(); ++i)
    p[i] = dtype == DType::Bool ? static_cast<uint8_t>((i + seed) % 2)
                                : static_cast<uint8_t>(i * 31 + seed * 7 + 1);
  return t;
}

void expect_same_bytes(const Tensor& expected, const Tensor& actual) {
  ASSERT_EQ(expected.dtype(), actual.dtype());
  ASSERT_EQ(expected.shape(), actual.shape());
  const Tensor e = expected.contiguous();
  ASSERT_TRUE(actual.is_contiguous());
  if (e.nbytes() > 0) {
    EXPECT_EQ(std::memcmp(e.data(), actual.data(), e.nbytes()), 0);
  }
}

std::string read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

class EveryDType : public RoundTrip, public ::testing::WithParamInterface<DType> {};

TEST_P(EveryDType, ScalarsEmptyNonContiguousAndPlainTensorsRoundTrip) {
  const DType dt = GetParam();
  std::vector<NamedTensor> tensors;
  tensors.emplace_back("scalar", patterned({}, dt, 1));
  tensors.emplace_back("zero_sized", patterned({0}, dt, 2));
  tensors.emplace_back("zero_inner", patterned({2, 0, 3}, dt, 3));
  tensors.emplace_back("matrix", patterned({2, 3}, dt, 4));
  tensors.emplace_back("transposed", patterned({3, 4}, dt, 5).transpose(0, 1));
  tensors.emplace_back("strided", patterned({10}, dt, 6).slice(0, 1, 9, 3));
  ASSERT_FALSE(tensors[4].second.is_contiguous());
  ASSERT_FALSE(tensors[5].second.is_contiguous());

  const fs::path path = dir_ / "all.safetensors";
  write_safetensors(path, tensors);
  const SafetensorsFile file(path);
  ASSERT_EQ(file.size(), tensors.size());
  for (const auto& [name, expected] : tensors) {
    SCOPED_TRACE(name);
    const SafetensorsTensorInfo* info = file.find(name);
    ASSERT_NE(info, nullptr);
    EXPECT_EQ(info->dtype, dt);
    EXPECT_EQ(info->nbytes(), expected.nbytes());
    expect_same_bytes(expected, file.get(name));
  }
  EXPECT_EQ(file.get("scalar").dim(), 0);
  EXPECT_EQ(file.get("scalar").numel(), 1);
  EXPECT_EQ(file.get("zero_inner").shape(), (Shape{2, 0, 3}));
  EXPECT_EQ(file.get("transposed").shape(), (Shape{4, 3}));
}

INSTANTIATE_TEST_SUITE_P(Safetensors, EveryDType,
                         ::testing::Values(DType::F64, DType::F32, DType::F16, DType::BF16,
                                           DType::FP8_E4M3, DType::FP8_E5M2, DType::I64, DType::I32,
                                           DType::I16, DType::I8, DType::U8, DType::Bool),
                         [](const auto& info) { return std::string(dtype_name(info.param)); });

TEST_F(RoundTrip, TypedValuesSurvive) {
  Tensor f = Tensor::empty({3}, DType::F32);
  f.mutable_data_as<float>()[0] = 1.5f;
  f.mutable_data_as<float>()[1] = -2.25f;
  f.mutable_data_as<float>()[2] = 1e30f;
  Tensor b = Tensor::empty({2}, DType::BF16);
  b.mutable_data_as<bf16>()[0] = bf16(3.0f);
  b.mutable_data_as<bf16>()[1] = bf16(-0.5f);
  Tensor i = Tensor::empty({2}, DType::I64);
  i.mutable_data_as<int64_t>()[0] = -(int64_t{1} << 40);
  i.mutable_data_as<int64_t>()[1] = 7;
  const std::vector<NamedTensor> tensors{{"f", f}, {"b", b}, {"i", i}};
  write_safetensors(dir_ / "v.safetensors", tensors);
  const SafetensorsFile file(dir_ / "v.safetensors");
  EXPECT_EQ(file.get("f").data_as<float>()[1], -2.25f);
  EXPECT_EQ(file.get("f").data_as<float>()[2], 1e30f);
  EXPECT_EQ(static_cast<float>(file.get("b").data_as<bf16>()[0]), 3.0f);
  EXPECT_EQ(file.get("i").data_as<int64_t>()[0], -(int64_t{1} << 40));
}

TEST_F(RoundTrip, MetadataRoundTripsAndIsEmptyWhenAbsent) {
  const std::vector<NamedTensor> tensors{{"w", patterned({2}, DType::F32, 1)}};
  write_safetensors(dir_ / "m.safetensors", tensors, {{"format", "pt"}, {"note", "x y"}});
  write_safetensors(dir_ / "none.safetensors", tensors);
  const SafetensorsFile with(dir_ / "m.safetensors");
  EXPECT_EQ(with.metadata(),
            (std::map<std::string, std::string>{{"format", "pt"}, {"note", "x y"}}));
  EXPECT_TRUE(SafetensorsFile(dir_ / "none.safetensors").metadata().empty());
}

TEST_F(RoundTrip, HeaderIsPaddedWithSpacesToEightBytes) {
  const std::vector<NamedTensor> tensors{{"abc", patterned({3}, DType::U8, 1)}};
  write_safetensors(dir_ / "p.safetensors", tensors);
  const std::string raw = read_all(dir_ / "p.safetensors");
  ASSERT_GE(raw.size(), 8u);
  uint64_t n = 0;
  for (int k = 7; k >= 0; --k) n = (n << 8) | static_cast<uint8_t>(raw[k]);
  EXPECT_EQ(n % 8, 0u);
  EXPECT_EQ(raw.size(), 8 + n + 3);
  const std::string header = raw.substr(8, n);
  const size_t close = header.rfind('}');
  ASSERT_NE(close, std::string::npos);
  EXPECT_EQ(header.find_first_not_of(' ', close + 1), std::string::npos);
  EXPECT_EQ(header.rfind("{\"abc\"", 0), 0u) << header;
}

TEST_F(RoundTrip, IterationFollowsFileOrderNotNameOrder) {
  const std::vector<NamedTensor> tensors{{"zeta", patterned({2}, DType::F32, 1)},
                                         {"alpha", patterned({3}, DType::F16, 2)},
                                         {"mid", patterned({}, DType::I8, 3)}};
  write_safetensors(dir_ / "o.safetensors", tensors);
  const SafetensorsFile file(dir_ / "o.safetensors");
  std::vector<std::string> seen;
  uint64_t last_begin = 0;
  for (auto [name, tensor] : file) {
    const auto* info = file.find(name);
    ASSERT_NE(info, nullptr);
    EXPECT_GE(info->begin, last_begin);
    last_begin = info->begin;
    EXPECT_EQ(tensor.shape(), info->shape);
    seen.push_back(name);
  }
  EXPECT_EQ(seen, (std::vector<std::string>{"zeta", "alpha", "mid"}));
  EXPECT_EQ(file.names(), seen);
  static_assert(std::forward_iterator<SafetensorsFile::iterator>);
}

TEST_F(RoundTrip, TensorsAreReadOnlyZeroCopyViews) {
  const std::vector<NamedTensor> tensors{{"a", patterned({4}, DType::F32, 1)},
                                         {"b", patterned({4}, DType::F32, 2)}};
  write_safetensors(dir_ / "z.safetensors", tensors);
  const SafetensorsFile file(dir_ / "z.safetensors");
  Tensor a = file.get("a");
  EXPECT_TRUE(a.is_read_only());
  EXPECT_THROW(a.mutable_data(), Error);
  EXPECT_FALSE(a.storage()->owned());
  // Both views share one storage over the mapping; repeated lookups return the same bytes.
  EXPECT_EQ(a.storage(), file.get("b").storage());
  EXPECT_EQ(a.data(), file.get("a").data());
  EXPECT_EQ(
      static_cast<const uint8_t*>(file.get("b").data()) - static_cast<const uint8_t*>(a.data()),
      16);
  // A clone is writable.
  Tensor c = a.clone();
  c.mutable_data_as<float>()[0] = 1.0f;
  EXPECT_EQ(c.data_as<float>()[0], 1.0f);
}

TEST_F(RoundTrip, ViewsKeepTheMappingAliveAfterReaderAndFileAreGone) {
  const Tensor expected = patterned({64}, DType::I32, 9);
  const std::vector<NamedTensor> tensors{{"w", expected}};
  const fs::path path = dir_ / "k.safetensors";
  write_safetensors(path, tensors);
  Tensor kept;
  {
    const SafetensorsFile file(path);
    kept = file.get("w");
  }
  fs::remove(path);  // the mapping survives unlinking
  ASSERT_FALSE(fs::exists(path));
  expect_same_bytes(expected, kept);
}

TEST_F(RoundTrip, LookupOfAMissingTensorNamesFileAndTensor) {
  const std::vector<NamedTensor> tensors{{"w", patterned({1}, DType::U8, 1)}};
  write_safetensors(dir_ / "l.safetensors", tensors);
  const SafetensorsFile file(dir_ / "l.safetensors");
  EXPECT_FALSE(file.contains("nope"));
  EXPECT_EQ(file.find("nope"), nullptr);
  try {
    file.get("nope");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::NotFound);
    EXPECT_NE(std::string(e.what()).find("'nope'"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("l.safetensors"), std::string::npos) << e.what();
  }
  EXPECT_THROW(file.at(1), Error);
}

TEST_F(RoundTrip, EmptyTensorListIsAValidFile) {
  write_safetensors(dir_ / "e.safetensors", {});
  const SafetensorsFile file(dir_ / "e.safetensors");
  EXPECT_TRUE(file.empty());
  EXPECT_EQ(file.begin(), file.end());
}

TEST_F(RoundTrip, WriterRejectsBadInputWithoutLeavingAFile) {
  const Tensor t = patterned({2}, DType::F32, 1);
  auto expect_error = [&](std::vector<NamedTensor> tensors, ErrorCode code, const char* needle) {
    const fs::path path = dir_ / "bad.safetensors";
    try {
      write_safetensors(path, tensors);
      FAIL() << "no throw for " << needle;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code);
      EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    }
    EXPECT_FALSE(fs::exists(path));
    EXPECT_FALSE(fs::exists(dir_ / "bad.safetensors.partial"));
  };
  expect_error({{"a", t}, {"a", t}}, ErrorCode::InvalidArgument, "given twice");
  expect_error({{"__metadata__", t}}, ErrorCode::InvalidArgument, "reserved");
  expect_error({{"u", Tensor()}}, ErrorCode::InvalidArgument, "undefined");

  try {
    write_safetensors(dir_ / "no_such_dir" / "x.safetensors", {});
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Io);
    EXPECT_NE(std::string(e.what()).find("No such file or directory"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("x.safetensors"), std::string::npos) << e.what();
  }
}

}  // namespace
