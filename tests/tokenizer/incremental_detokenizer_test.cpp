// The streaming detokenizer: characters split across tokens are held back, SentencePiece spaces
// come out as a full decode gives them, special tokens are skipped, and over every fixture string
// of every vocabulary the pushed pieces concatenate to decode(ids).
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "tokenizer/tokenizer_test_util.h"

namespace pagoda::testing {
namespace {

namespace fs = std::filesystem;
const fs::path kFixtures = fs::path(PAGODA_FIXTURES_DIR) / "tokenizers";

fs::path test_data() {
  if (const char* env = std::getenv("PAGODA_TEST_DATA"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return fs::path(home ? home : "/root") / ".cache" / "pagoda" / "test-data";
}

std::shared_ptr<const Tokenizer> trained(const std::string& name) {
  return Tokenizer::from_file(kFixtures / "trained" / (name + ".tokenizer.json"));
}

std::shared_ptr<const Tokenizer> from_test_data(const std::string& dir) {
  const fs::path p = test_data() / dir / "tokenizer.json";
  if (!fs::exists(p))
    throw std::runtime_error(p.string() + " is missing: run scripts/fetch-test-data.sh");
  return Tokenizer::from_file(p);
}

std::vector<std::string> stream(const std::shared_ptr<const Tokenizer>& t,
                                std::span<const int32_t> prompt, const std::vector<int32_t>& ids,
                                bool skip = true) {
  IncrementalDetokenizer d(t, prompt, skip);
  std::vector<std::string> out;
  for (int32_t id : ids) out.push_back(d.push(id));
  out.push_back(d.flush());
  return out;
}

std::string join(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts) s += p;
  return s;
}

TEST(IncrementalDetokenizer, HoldsBackCharactersSplitAcrossByteLevelTokens) {
  auto t = from_test_data("tokenizer-llama3");
  // llama.cpp's test ids for " this is 🦙.cpp": the llama is " ðŁ" + "¦" + "Ļ" (4 UTF-8
  // bytes).
  const std::vector<int32_t> ids = {420, 374, 11410, 99, 247, 13, 11055};
  EXPECT_EQ(stream(t, {}, ids), (std::vector<std::string>{" this", " is", "", "",
                                                          " \xF0\x9F\xA6\x99", ".", "cpp", ""}));
  // Cut off mid-character, flush gives what decode gives: U+FFFD.
  const std::vector<int32_t> cut = {420, 11410};
  EXPECT_EQ(join(stream(t, {}, cut)), t->decode(cut));
  EXPECT_EQ(stream(t, {}, cut).back(), " \xEF\xBF\xBD");
}

TEST(IncrementalDetokenizer, HoldsBackByteFallbackPiecesAndAppliesSentencePieceSpaces) {
  auto t = trained("spm-bpe");
  const std::string text = "Hello world \xF0\x9F\xA6\x99!";
  const auto ids = t->encode(text, false);
  const auto pieces = stream(t, {}, ids);
  EXPECT_EQ(join(pieces), t->decode(ids));
  EXPECT_EQ(join(pieces), text);
  // The first token's ▁ is dropped, as decode drops it.
  EXPECT_EQ(pieces.front(), t->decode(std::vector<int32_t>{ids.front()}));
  EXPECT_EQ(pieces.front().substr(0, 1), "H");
  // Every piece is valid UTF-8 on its own: the emoji arrives whole.
  bool emoji_whole = false;
  for (const auto& p : pieces) emoji_whole |= p.find("\xF0\x9F\xA6\x99") != std::string::npos;
  EXPECT_TRUE(emoji_whole);
  // After a prompt the first generated token keeps its space.
  const auto prompt = t->encode("Say", true);
  const auto gen = t->encode("Hello", false);
  EXPECT_EQ(join(stream(t, prompt, gen)), " Hello");
}

TEST(IncrementalDetokenizer, SkipsSpecialTokensOrShowsThem) {
  auto t = trained("unigram");
  const auto eos = t->token_to_id("</s>");
  ASSERT_TRUE(eos.has_value());
  auto ids = t->encode("hello world", false);
  ids.insert(ids.begin() + 1, *eos);
  ids.push_back(*eos);
  EXPECT_EQ(join(stream(t, {}, ids, true)), t->decode(ids, true));
  EXPECT_EQ(join(stream(t, {}, ids, false)), t->decode(ids, false));
  EXPECT_NE(join(stream(t, {}, ids, false)).find("</s>"), std::string::npos);
  EXPECT_EQ(join(stream(t, {}, ids, true)).find("</s>"), std::string::npos);
}

// Over every corpus string of every vocabulary: pushes + flush == decode(ids), with and without
// special tokens.
TEST(IncrementalDetokenizer, ConcatenationEqualsFullDecodeOnEveryFixtureString) {
  std::ifstream in(kFixtures / "corpus.json");
  const json corpus = json::parse(in);
  std::vector<std::pair<std::string, std::shared_ptr<const Tokenizer>>> vocabs = {
      {"wordpiece", trained("wordpiece")},
      {"unigram", trained("unigram")},
      {"spm-bpe", trained("spm-bpe")},
      {"misc-bpe", trained("misc-bpe")}};
  try {
    vocabs.emplace_back("llama3", from_test_data("tokenizer-llama3"));
    vocabs.emplace_back("qwen3", from_test_data("tokenizer-qwen3"));
  } catch (const std::exception& e) {
    FAIL() << e.what();
  }
  for (const auto& [name, t] : vocabs) {
    size_t failures = 0;
    for (const auto& s : corpus) {
      const std::string text = s.get<std::string>();
      if (text.size() > 4000) continue;  // the long strings add time, not coverage
      for (bool skip : {true, false}) {
        const auto ids = t->encode(text, true);
        const std::string want = t->decode(ids, skip);
        const std::string got = join(stream(t, {}, ids, skip));
        if (got != want && ++failures <= 3)
          ADD_FAILURE() << name << " skip=" << skip << " text '" << text.substr(0, 80)
                        << "'\n  got  '" << got << "'\n  want '" << want << "'";
      }
    }
    EXPECT_EQ(failures, 0u) << name;
  }
}

}  // namespace
}  // namespace pagoda::testing
