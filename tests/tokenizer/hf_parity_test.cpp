// Parity with Hugging Face tokenizers 0.23.2: tests/fixtures/tokenizers/expected/<vocabulary>.json
// holds, for every string of corpus.json, the ids HF encodes (with and without special tokens) and
// the text it decodes. Every case must match. The llama3, qwen3 and gpt2 vocabularies come from
// the test-data directory (scripts/fetch-test-data.sh), which the test requires.
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "pagoda/tokenizer.h"

namespace {

namespace fs = std::filesystem;
using nlohmann::json;

const fs::path kFixtures = fs::path(PAGODA_FIXTURES_DIR) / "tokenizers";

fs::path test_data_dir() {
  if (const char* env = std::getenv("PAGODA_TEST_DATA"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache" / "pagoda" / "test-data";
}

json read_json(const fs::path& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path.string());
  return json::parse(in);
}

std::string escape(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7F) {
      char buf[8];
      std::snprintf(buf, sizeof(buf), "\\x%02X", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out.size() > 200 ? out.substr(0, 200) + "..." : out;
}

// Loads the tokenizer an expected file names ("test-data:...", "test-data-gpt2-files:a,b",
// "fixture:...").
std::shared_ptr<const pagoda::Tokenizer> load(const std::string& spec) {
  const size_t colon = spec.find(':');
  const std::string kind = spec.substr(0, colon), path = spec.substr(colon + 1);
  if (kind == "fixture") return pagoda::Tokenizer::from_file(kFixtures / path);
  const fs::path data = test_data_dir();
  const auto require = [&](const fs::path& p) {
    if (!fs::exists(p))
      throw std::runtime_error(
          p.string() + " is missing: run scripts/fetch-test-data.sh (or set PAGODA_TEST_DATA)");
    return p;
  };
  if (kind == "test-data") return pagoda::Tokenizer::from_file(require(data / path));
  if (kind == "test-data-gpt2-files") {
    const size_t comma = path.find(',');
    return pagoda::Tokenizer::from_gpt2_files(require(data / path.substr(0, comma)),
                                              require(data / path.substr(comma + 1)));
  }
  throw std::runtime_error("unknown tokenizer spec " + spec);
}

class HfParity : public ::testing::TestWithParam<std::string> {};

TEST_P(HfParity, EncodeAndDecodeMatchHuggingFace) {
  const json expected = read_json(kFixtures / "expected" / (GetParam() + ".json"));
  const json corpus = read_json(kFixtures / expected.at("corpus").get<std::string>());
  std::shared_ptr<const pagoda::Tokenizer> tok;
  try {
    tok = load(expected.at("tokenizer").get<std::string>());
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  const auto& cases = expected.at("cases");
  ASSERT_EQ(cases.size(), corpus.size());
  size_t failures = 0;
  for (size_t i = 0; i < cases.size(); ++i) {
    const std::string text = corpus[i].get<std::string>();
    const auto& c = cases[i];
    const auto ids = tok->encode(text, true);
    const auto ids_plain = tok->encode(text, false);
    const auto want_ids = c.at("ids").get<std::vector<int32_t>>();
    const auto want_plain = c.at("ids_no_special").get<std::vector<int32_t>>();
    const std::string decoded = tok->decode(want_plain, false);
    const std::string decoded_skip = tok->decode(want_ids, true);
    const bool ok = ids == want_ids && ids_plain == want_plain &&
                    decoded == c.at("decode").get<std::string>() &&
                    decoded_skip == c.at("decode_skip_special").get<std::string>();
    if (!ok && ++failures <= 5) {
      ADD_FAILURE() << GetParam() << " case " << i << " '" << escape(text) << "'\n  ids      "
                    << ::testing::PrintToString(ids) << "\n  expected "
                    << ::testing::PrintToString(want_ids) << "\n  plain    "
                    << ::testing::PrintToString(ids_plain) << "\n  expected "
                    << ::testing::PrintToString(want_plain) << "\n  decode   '" << escape(decoded)
                    << "'\n  expected '" << escape(c.at("decode").get<std::string>())
                    << "'\n  skip     '" << escape(decoded_skip) << "'\n  expected '"
                    << escape(c.at("decode_skip_special").get<std::string>()) << "'";
    }
  }
  EXPECT_EQ(failures, 0u) << GetParam() << ": " << failures << " of " << cases.size()
                          << " cases differ";
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, HfParity,
                         ::testing::Values("llama3", "qwen3", "gpt2", "wordpiece", "unigram",
                                           "spm-bpe", "misc-bpe"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& ch : n)
                             if (ch == '-') ch = '_';
                           return n;
                         });

}  // namespace
