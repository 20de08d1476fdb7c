// A corpus of malformed safetensors files and checkpoints, written byte by byte into a temp dir.
// Each must be rejected with its own message: a distinctive phrase that no other case's message
// contains, plus the names of the files (and tensors) involved.
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <functional>
#include <set>
#include <string>
#include <vector>

#include "pagoda/error.h"
#include "pagoda/safetensors.h"

using namespace pagoda;
namespace fs = std::filesystem;

namespace {

std::string le64(uint64_t n) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[i] = static_cast<char>(n >> (8 * i));
  return s;
}

// A file with this header text and data region.
std::string st(const std::string& header, const std::string& data = "") {
  return le64(header.size()) + header + data;
}

// One tensor entry as JSON text.
std::string entry(const std::string& dtype, const std::string& shape, const std::string& offsets) {
  return "{\"dtype\": " + dtype + ", \"shape\": " + shape + ", \"data_offsets\": " + offsets + "}";
}

void write_file(const fs::path& p, const std::string& bytes) {
  std::ofstream(p, std::ios::binary) << bytes;
}

struct Case {
  std::string name;
  // Creates the case under `dir` and returns the path to open with SafetensorsCheckpoint.
  std::function<fs::path(const fs::path& dir)> build;
  std::string phrase;                 // only this case's message contains it
  std::vector<std::string> mentions;  // file / tensor names the message must name
  ErrorCode code = ErrorCode::InvalidFormat;
};

// A single-file case: "<name>.safetensors" holding `bytes`.
Case file_case(const std::string& name, std::string bytes, std::string phrase,
               std::vector<std::string> mentions = {}, ErrorCode code = ErrorCode::InvalidFormat) {
  mentions.push_back(name + ".safetensors");
  return {name,
          [name, bytes](const fs::path& dir) {
            const fs::path p = dir / (name + ".safetensors");
            write_file(p, bytes);
            return p;
          },
          std::move(phrase), std::move(mentions), code};
}

// A directory case: `files` (name -> bytes) written into "<dir>/<name>/", which is opened.
Case dir_case(const std::string& name, std::vector<std::pair<std::string, std::string>> files,
              std::string phrase, std::vector<std::string> mentions,
              ErrorCode code = ErrorCode::InvalidFormat) {
  return {name,
          [name, files](const fs::path& dir) {
            const fs::path d = dir / name;
            fs::create_directories(d);
            for (const auto& [file, bytes] : files) write_file(d / file, bytes);
            return d;
          },
          std::move(phrase), std::move(mentions), code};
}

const std::string kIndex = "model.safetensors.index.json";
const std::string kF32x1 = entry("\"F32\"", "[1]", "[0, 4]");
const std::string kFourBytes(4, '\x01');

std::vector<Case> corpus() {
  std::vector<Case> c;
  // ---- the length prefix
  c.push_back(file_case("empty", "", "is empty (0 bytes)"));
  c.push_back(
      file_case("short", std::string("\x02\x00\x00", 3), "fewer than the 8-byte header length"));
  c.push_back(file_case("header_len_zero", le64(0) + "{}", "header length 0 is too small"));
  c.push_back(file_case("header_len_past_eof", le64(1000) + "{}",
                        "header length 1000 is larger than the 2 bytes"));
  c.push_back(
      file_case("header_len_insane", le64(200'000'000) + "{}", "exceeds the 100000000-byte limit"));
  // ---- the JSON
  c.push_back(file_case("not_json", st("hello, world"), "the header is not valid JSON"));
  c.push_back(file_case("truncated_json", st("{\"a\": {\"dtype\": \"F32\""),
                        "the header JSON ends before it is complete"));
  c.push_back(file_case("top_level_array", st("[1, 2]"),
                        "the header must be a JSON object mapping tensor names to entries, but it "
                        "is a JSON array"));
  c.push_back(file_case("duplicate_tensor",
                        st("{\"a\": " + kF32x1 + ", \"a\": " + kF32x1 + "}", kFourBytes),
                        "tensor name 'a' appears twice", {"'a'"}));
  c.push_back(file_case(
      "duplicate_key_in_entry",
      st(R"({"w": {"dtype": "F32", "dtype": "F16", "shape": [1], "data_offsets": [0, 4]}})",
         kFourBytes),
      "has the key \"dtype\" twice", {"'w'"}));
  // ---- an entry's keys
  c.push_back(file_case("entry_not_object", st(R"({"w": 5})"),
                        "entry must be a JSON object with \"dtype\"", {"'w'"}));
  c.push_back(file_case("missing_dtype",
                        st(R"({"w": {"shape": [1], "data_offsets": [0, 4]}})", kFourBytes),
                        "missing key \"dtype\"", {"'w'"}));
  c.push_back(file_case("missing_shape",
                        st(R"({"w": {"dtype": "F32", "data_offsets": [0, 4]}})", kFourBytes),
                        "missing key \"shape\"", {"'w'"}));
  c.push_back(file_case("missing_data_offsets",
                        st(R"({"w": {"dtype": "F32", "shape": [1]}})", kFourBytes),
                        "missing key \"data_offsets\"", {"'w'"}));
  c.push_back(file_case(
      "unexpected_key",
      st(R"({"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4], "foo": 1}})", kFourBytes),
      "unexpected key \"foo\"", {"'w'"}));
  // ---- dtype
  c.push_back(file_case("unknown_dtype",
                        st("{\"w\": " + entry("\"F17\"", "[1]", "[0, 4]") + "}", kFourBytes),
                        "unknown dtype \"F17\"", {"'w'"}));
  c.push_back(file_case("dtype_not_string",
                        st("{\"w\": " + entry("4", "[1]", "[0, 4]") + "}", kFourBytes),
                        "\"dtype\" must be a string", {"'w'"}));
  // ---- shape
  c.push_back(file_case("shape_not_array",
                        st("{\"w\": " + entry("\"F32\"", "\"1\"", "[0, 4]") + "}", kFourBytes),
                        "\"shape\" must be an array", {"'w'"}));
  c.push_back(file_case("negative_dim",
                        st("{\"w\": " + entry("\"F32\"", "[2, -1]", "[0, 4]") + "}", kFourBytes),
                        "has a negative dimension -1", {"'w'"}));
  c.push_back(file_case(
      "dim_not_integer", st("{\"w\": " + entry("\"F32\"", "[2.5]", "[0, 4]") + "}", kFourBytes),
      "shape dimension 0 must be a non-negative integer, but it is 2.5", {"'w'"}));
  c.push_back(file_case(
      "dim_too_large",
      st("{\"w\": " + entry("\"U8\"", "[18446744073709551615]", "[0, 4]") + "}", kFourBytes),
      "beyond the largest size", {"'w'"}));
  c.push_back(file_case(
      "shape_overflow",
      st("{\"w\": " + entry("\"F32\"", "[4294967296, 4294967296, 2]", "[0, 4]") + "}", kFourBytes),
      "overflows 64 bits", {"'w'"}));
  c.push_back(file_case(
      "rank_too_large",
      st("{\"w\": " + entry("\"U8\"", "[1, 1, 1, 1, 1, 1, 1, 1, 1]", "[0, 1]") + "}", "x"),
      "shape has 9 dimensions", {"'w'"}, ErrorCode::Unsupported));
  c.push_back(
      file_case("size_mismatch",
                st("{\"w\": " + entry("\"F32\"", "[2, 3]", "[0, 20]") + "}", std::string(20, 'x')),
                "needs 24 bytes but data_offsets [0, 20] span 20", {"'w'"}));
  // ---- data_offsets
  c.push_back(file_case("offsets_not_array",
                        st("{\"w\": " + entry("\"F32\"", "[1]", "4") + "}", kFourBytes),
                        "\"data_offsets\" must be an array [begin, end]", {"'w'"}));
  c.push_back(file_case("offsets_wrong_length",
                        st("{\"w\": " + entry("\"F32\"", "[1]", "[0, 4, 8]") + "}", kFourBytes),
                        "must have exactly 2 entries", {"'w'"}));
  c.push_back(file_case("offset_not_integer",
                        st("{\"w\": " + entry("\"F32\"", "[1]", "[0, \"4\"]") + "}", kFourBytes),
                        "data_offsets[1] must be a non-negative integer", {"'w'"}));
  c.push_back(
      file_case("begin_after_end",
                st("{\"w\": " + entry("\"F32\"", "[1]", "[8, 4]") + "}", std::string(8, 'x')),
                "begin after they end", {"'w'"}));
  c.push_back(
      file_case("offsets_past_eof",
                st("{\"w\": " + entry("\"F32\"", "[4]", "[0, 16]") + "}", std::string(8, 'x')),
                "end past the data region, which holds only 8 bytes", {"'w'"}));
  c.push_back(file_case("overlapping",
                        st("{\"a\": " + entry("\"F32\"", "[2]", "[0, 8]") +
                               ", \"b\": " + entry("\"F32\"", "[2]", "[4, 12]") + "}",
                           std::string(12, 'x')),
                        "overlap those of tensor 'a'", {"'b'"}));
  // ---- __metadata__
  c.push_back(file_case("metadata_not_object", st(R"({"__metadata__": [1]})"),
                        "\"__metadata__\" must be a JSON object of strings"));
  c.push_back(file_case("metadata_value_not_string", st(R"({"__metadata__": {"format": 1}})"),
                        "\"__metadata__\" value for key \"format\" must be a string"));

  // ---- checkpoint directories and index files
  const std::string shard_w = st("{\"w\": " + kF32x1 + "}", kFourBytes);
  const std::string shard_vw =
      st("{\"v\": " + kF32x1 + ", \"w\": " + entry("\"F32\"", "[1]", "[4, 8]") + "}",
         kFourBytes + kFourBytes);
  c.push_back(dir_case(
      "index_missing_shard",
      {{kIndex, R"({"weight_map": {"w": "a.safetensors", "v": "gone.safetensors"}})"},
       {"a.safetensors", shard_w}},
      "to shard 'gone.safetensors', which does not exist", {kIndex, "'v'"}, ErrorCode::NotFound));
  c.push_back(dir_case("index_bad_json", {{kIndex, R"({"weight_map": {"w": )"}},
                       "the index is not valid JSON", {kIndex}));
  c.push_back(dir_case("index_without_weight_map", {{kIndex, R"({"metadata": {"total_size": 4}})"}},
                       "the index has no \"weight_map\"", {kIndex}));
  c.push_back(dir_case("index_weight_map_not_object", {{kIndex, R"({"weight_map": ["w"]})"}},
                       "\"weight_map\" must be an object", {kIndex}));
  c.push_back(dir_case("index_weight_map_empty", {{kIndex, R"({"weight_map": {}})"}},
                       "\"weight_map\" is empty", {kIndex}));
  c.push_back(dir_case("index_file_not_string", {{kIndex, R"({"weight_map": {"w": 3}})"}},
                       "must be a file name string", {kIndex, "'w'"}));
  c.push_back(
      dir_case("index_duplicate_tensor",
               {{kIndex, R"({"weight_map": {"w": "a.safetensors", "w": "b.safetensors"}})"}},
               "tensor 'w' appears twice in weight_map", {kIndex}));
  c.push_back(dir_case("index_tensor_absent_from_shard",
                       {{kIndex, R"({"weight_map": {"w": "a.safetensors", "v": "a.safetensors"}})"},
                        {"a.safetensors", shard_w}},
                       "but that shard does not contain it", {kIndex, "'v'", "a.safetensors"}));
  c.push_back(dir_case("index_tensor_in_two_shards",
                       {{kIndex, R"({"weight_map": {"w": "a.safetensors", "v": "b.safetensors"}})"},
                        {"a.safetensors", shard_w},
                        {"b.safetensors", shard_vw}},
                       "is in two shards", {kIndex, "'w'", "a.safetensors", "b.safetensors"}));
  c.push_back(dir_case("index_shard_escapes_with_dotdot",
                       {{kIndex, R"({"weight_map": {"w": "../a.safetensors"}})"}},
                       "to '../a.safetensors', a path that escapes", {kIndex, "'w'"}));
  c.push_back(dir_case("index_shard_absolute",
                       {{kIndex, R"({"weight_map": {"w": "/etc/passwd"}})"}},
                       "to '/etc/passwd', a path that escapes", {kIndex, "'w'"}));
  c.push_back(dir_case("no_weights", {{"pytorch_model.bin", "x"}, {"config.json", "{}"}},
                       "no safetensors weights in",
                       {"model.safetensors.index.json", "model.safetensors", "pytorch_model.bin"},
                       ErrorCode::NotFound));
  c.push_back({"path_missing",
               [](const fs::path& dir) { return dir / "no_such_model"; },
               "model path",
               {"no_such_model"},
               ErrorCode::NotFound});
  return c;
}

class Malformed : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() / ("pagoda_st_malformed_" + std::to_string(::getpid()));
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path dir_;
};

TEST_F(Malformed, EveryCaseIsRejectedWithItsOwnMessage) {
  const std::vector<Case> cases = corpus();
  ASSERT_GE(cases.size(), 20u);
  std::vector<std::string> messages;
  for (const Case& c : cases) {
    SCOPED_TRACE(c.name);
    const fs::path path = c.build(dir_);
    std::string message;
    try {
      SafetensorsCheckpoint ckpt(path);
      ADD_FAILURE() << "accepted";
    } catch (const Error& e) {
      message = e.what();
      EXPECT_EQ(e.code(), c.code) << message;
      EXPECT_FALSE(e.fix().empty()) << message;
    }
    EXPECT_NE(message.find(c.phrase), std::string::npos)
        << "want: " << c.phrase << "\ngot:  " << message;
    for (const auto& m : c.mentions)
      EXPECT_NE(message.find(m), std::string::npos)
          << "want mention: " << m << "\ngot: " << message;
    messages.push_back(message);
  }
  // Distinct messages: no case's phrase appears in another case's message.
  for (size_t i = 0; i < cases.size(); ++i)
    for (size_t j = 0; j < cases.size(); ++j)
      if (i != j) {
        EXPECT_EQ(messages[j].find(cases[i].phrase), std::string::npos)
            << "phrase of " << cases[i].name << " also in " << cases[j].name << ": " << messages[j];
      }
}

TEST_F(Malformed, CaseNamesAreUnique) {
  std::set<std::string> names;
  for (const Case& c : corpus()) EXPECT_TRUE(names.insert(c.name).second) << c.name;
}

}  // namespace
