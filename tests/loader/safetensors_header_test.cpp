// Header parsing on exact-size heap buffers (so AddressSanitizer catches any read past the end):
// strict JSON, file order, tolerated oddities, and robustness against truncation and corruption.
#include "loader/safetensors_header.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "loader/safetensors_json.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"

using namespace pagoda;

namespace {

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

std::string st(const std::string& header, const std::string& data) {
  return le64(header.size()) + header + data;
}

// Parses a copy of `bytes` in a heap block of exactly that size.
SafetensorsHeader parse(const std::string& bytes) {
  auto buf = std::make_unique<uint8_t[]>(bytes.size());
  std::copy(bytes.begin(), bytes.end(), buf.get());
  return parse_safetensors_header({buf.get(), bytes.size()}, "test.safetensors");
}

// Header JSON order (a, b, c) differs from data order (c, a, b) and from name order.
const std::string kValid =
    st(R"({"__metadata__": {"format": "pt"},)"
       R"( "b": {"dtype": "BF16", "shape": [2, 2], "data_offsets": [16, 24]},)"
       R"( "a": {"dtype": "F32", "shape": [2], "data_offsets": [8, 16]},)"
       R"( "c": {"dtype": "I64", "shape": [], "data_offsets": [0, 8]},)"
       R"( "z": {"dtype": "U8", "shape": [0, 3], "data_offsets": [24, 24]}})",
       std::string(24, '\x05'));

TEST(StrictJson, AcceptsValidJsonAndReportsTheKindOfFailure) {
  EXPECT_EQ(parse_json_strict(R"({"a": {"b": 1}, "c": [1, {"b": 2}]})").status,
            StrictJson::Status::Ok);
  EXPECT_EQ(parse_json_strict(R"({"a": [1, 2)").status, StrictJson::Status::Truncated);
  EXPECT_EQ(parse_json_strict(R"({"a": nope})").status, StrictJson::Status::Syntax);
  EXPECT_EQ(parse_json_strict("{\"a\": \"\xff\"}").status, StrictJson::Status::Syntax);

  const StrictJson top = parse_json_strict(R"({"x": 1, "y": 2, "x": 3})");
  EXPECT_EQ(top.status, StrictJson::Status::DuplicateKey);
  EXPECT_EQ(top.key, "x");
  EXPECT_EQ(top.top_level_key, "");

  const StrictJson nested = parse_json_strict(R"({"x": 1, "t": {"k": [{"q": 1}], "k": 2}})");
  EXPECT_EQ(nested.status, StrictJson::Status::DuplicateKey);
  EXPECT_EQ(nested.key, "k");
  EXPECT_EQ(nested.top_level_key, "t");

  // The same key in sibling objects is fine.
  EXPECT_EQ(parse_json_strict(R"({"a": {"k": 1}, "b": {"k": 2}})").status, StrictJson::Status::Ok);
}

TEST(StrictJson, ExcerptsAreBounded) {
  EXPECT_EQ(text_excerpt("abc", 5), "abc");
  EXPECT_EQ(text_excerpt(std::string(1000, 'x'), 10), std::string(10, 'x') + "...");
  EXPECT_LE(json_excerpt(nlohmann::json(std::vector<int>(10000, 1))).size(), 83u);
}

TEST(SafetensorsHeader, EntriesComeInDataOrderWithTheirFields) {
  const SafetensorsHeader h = parse(kValid);
  ASSERT_EQ(h.tensors.size(), 4u);
  std::vector<std::string> names;
  for (const auto& t : h.tensors) names.push_back(t.name);
  EXPECT_EQ(names, (std::vector<std::string>{"c", "a", "b", "z"}));
  EXPECT_EQ(h.tensors[0].dtype, DType::I64);
  EXPECT_EQ(h.tensors[0].shape, Shape{});
  EXPECT_EQ(h.tensors[2].dtype, DType::BF16);
  EXPECT_EQ(h.tensors[2].shape, (Shape{2, 2}));
  EXPECT_EQ(h.tensors[2].begin, 16u);
  EXPECT_EQ(h.tensors[2].end, 24u);
  EXPECT_EQ(h.metadata.at("format"), "pt");
  EXPECT_EQ(h.data_size, 24u);
  EXPECT_EQ(h.data_offset, kValid.size() - 24);
}

TEST(SafetensorsHeader, ToleratesGapsNullMetadataAndEmptyTensorsSharingAnOffset) {
  // Gap of 4 bytes between a and b, 4 trailing bytes, two empty tensors at one offset.
  const SafetensorsHeader h =
      parse(st(R"({"__metadata__": null,)"
               R"( "a": {"dtype": "U8", "shape": [4], "data_offsets": [0, 4]},)"
               R"( "e1": {"dtype": "F32", "shape": [0], "data_offsets": [2, 2]},)"
               R"( "e2": {"dtype": "F32", "shape": [5, 0], "data_offsets": [2, 2]},)"
               R"( "b": {"dtype": "U8", "shape": [4], "data_offsets": [8, 12]}})",
               std::string(16, 'x')));
  EXPECT_EQ(h.tensors.size(), 4u);
  EXPECT_TRUE(h.metadata.empty());
}

TEST(SafetensorsHeader, AnErrorNamesFileTensorProblemAndFix) {
  try {
    parse(st(R"({"w": {"dtype": "F32", "shape": [3], "data_offsets": [0, 12]}})", "short"));
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidFormat);
    EXPECT_EQ(e.problem(),
              "safetensors file 'test.safetensors': tensor 'w': data_offsets [0, 12] end past the "
              "data region, which holds only 5 bytes");
    EXPECT_NE(e.fix().find("re-download"), std::string::npos);
  }
}

TEST(SafetensorsHeader, EveryTruncationIsRejected) {
  for (size_t len = 0; len < kValid.size(); ++len) {
    SCOPED_TRACE(len);
    EXPECT_THROW(parse(kValid.substr(0, len)), Error);
  }
  EXPECT_NO_THROW(parse(kValid));
}

// Random corruption never crashes or reads out of bounds: it is either rejected with a
// pagoda::Error or yields entries that lie inside the data region without overlapping.
TEST(SafetensorsHeader, CorruptedBytesAreRejectedOrStillConsistent) {
  std::mt19937 rng(1234);
  std::uniform_int_distribution<size_t> pos(0, kValid.size() - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  const std::string interesting = "{}[],:\"0123456789-. e";
  std::uniform_int_distribution<size_t> pick(0, interesting.size() - 1);
  int accepted = 0, rejected = 0;
  const LogLevel before = log_level();
  set_log_level(LogLevel::Error);  // corrupt offsets may leave gaps, which only warn
  for (int iter = 0; iter < 3000; ++iter) {
    std::string bytes = kValid;
    const int edits = 1 + iter % 3;
    for (int e = 0; e < edits; ++e)
      bytes[pos(rng)] = iter % 2 ? static_cast<char>(byte(rng)) : interesting[pick(rng)];
    try {
      const SafetensorsHeader h = parse(bytes);
      ++accepted;
      uint64_t last_end = 0;
      for (const auto& t : h.tensors) {
        ASSERT_LE(t.begin, t.end);
        ASSERT_LE(t.end, h.data_size);
        ASSERT_LE(h.data_offset + h.data_size, bytes.size());
        if (t.nbytes() == 0) continue;
        ASSERT_GE(t.begin, last_end);
        last_end = t.end;
      }
    } catch (const Error& e) {
      ++rejected;
      ASSERT_NE(std::string(e.what()).find("test.safetensors"), std::string::npos) << e.what();
    }
  }
  set_log_level(before);
  EXPECT_GT(rejected, 0);
  EXPECT_GT(accepted, 0);  // e.g. edits inside the data region or the metadata text
}

}  // namespace
