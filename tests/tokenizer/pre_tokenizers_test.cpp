// Each pre-tokenizer, behaviour and option on hand-written strings.
#include "tokenizer/pre_tokenizers.h"

#include <gtest/gtest.h>

#include "common/expect_error.h"
#include "tokenizer/pattern.h"
#include "tokenizer/tokenizer_test_util.h"

namespace pagoda::testing {
namespace {

using Words = std::vector<std::string>;

Words split(const json& j, const std::string& s, bool at_start = true) {
  auto p = tok::make_pre_tokenizer(tok::JsonAt{j, "test.json", "pre_tokenizer"});
  std::vector<tok::Piece> pieces{{s, at_start}};
  p->pre_tokenize(pieces);
  Words out;
  for (const auto& piece : pieces) out.push_back(piece.text);
  return out;
}

json split_regex(const std::string& re, const std::string& behavior, bool invert = false) {
  return {
      {"type", "Split"}, {"pattern", {{"Regex", re}}}, {"behavior", behavior}, {"invert", invert}};
}

TEST(PreTokenizers, SplitBehaviours) {
  EXPECT_EQ(split(split_regex("\\d+", "Removed"), "ab12cd3"), (Words{"ab", "cd"}));
  EXPECT_EQ(split(split_regex("\\d+", "Isolated"), "ab12cd3"), (Words{"ab", "12", "cd", "3"}));
  EXPECT_EQ(split(split_regex("\\d+", "MergedWithPrevious"), "ab12cd3"), (Words{"ab12", "cd3"}));
  EXPECT_EQ(split(split_regex("\\d+", "MergedWithNext"), "ab12cd3"), (Words{"ab", "12cd", "3"}));
  EXPECT_EQ(split(split_regex("\\d", "Contiguous"), "ab12cd3"), (Words{"ab", "12", "cd", "3"}));
  EXPECT_EQ(split(split_regex("\\d+", "Removed", true), "ab12cd3"), (Words{"12", "3"}));
  const json dash = {{"type", "Split"},
                     {"pattern", {{"String", "-"}}},
                     {"behavior", "Contiguous"},
                     {"invert", false}};
  EXPECT_EQ(split(dash, "a-b--c"), (Words{"a", "-", "b", "--", "c"}));
  EXPECT_EQ(split(split_regex("x", "Isolated"), ""), Words{});
}

TEST(PreTokenizers, ByteLevelMapsBytesAndSplitsLikeGpt2) {
  const json bl = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"use_regex", true}};
  // Ġ is the stand-in of ' ', Ċ of '\n'.
  EXPECT_EQ(split(bl, "Hello world\n"), (Words{"\xC4\xA0Hello", "\xC4\xA0world", "\xC4\x8A"}));
  EXPECT_EQ(split(bl, "it's 42"), (Words{"\xC4\xA0it", "'s",
                                         "\xC4\xA0"
                                         "42"}));
  json no_prefix = bl;
  no_prefix["add_prefix_space"] = false;
  EXPECT_EQ(split(no_prefix, "Hello  world"), (Words{"Hello", "\xC4\xA0", "\xC4\xA0world"}));
  json no_regex = no_prefix;
  no_regex["use_regex"] = false;
  EXPECT_EQ(split(no_regex, "a b\xC3\xA9"), (Words{"a\xC4\xA0"
                                                   "b\xC3\x83\xC2\xA9"}));
  // U+0085 is whitespace to Oniguruma: "\s+(?!\S)" keeps it with the spaces.
  EXPECT_EQ(split(no_prefix, "a \xC2\x85 b").size(), 3u);
}

TEST(PreTokenizers, MetaspacePrependSchemesAndSplit) {
  const std::string m = "\xE2\x96\x81";
  json ms = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "always"}, {"split", true}};
  EXPECT_EQ(split(ms, "hi there"), (Words{m + "hi", m + "there"}));
  EXPECT_EQ(split(ms, "hi", false), (Words{m + "hi"}));
  ms["split"] = false;
  EXPECT_EQ(split(ms, "hi there"), (Words{m + "hi" + m + "there"}));
  ms["split"] = true;
  ms["prepend_scheme"] = "first";
  EXPECT_EQ(split(ms, "hi there", true), (Words{m + "hi", m + "there"}));
  EXPECT_EQ(split(ms, "hi there", false), (Words{"hi", m + "there"}));  // not at the text's start
  ms["prepend_scheme"] = "never";
  EXPECT_EQ(split(ms, "hi there"), (Words{"hi", m + "there"}));
  ms["prepend_scheme"] = "sometimes";
  expect_error([&] { split(ms, "x"); }, ErrorCode::InvalidFormat,
               {"test.json", "pre_tokenizer.prepend_scheme"});
}

TEST(PreTokenizers, WhitespaceBertDigitsPunctuationSequence) {
  EXPECT_EQ(split({{"type", "Whitespace"}}, "Hello, world!! x_1"),
            (Words{"Hello", ",", "world", "!!", "x_1"}));
  EXPECT_EQ(split({{"type", "WhitespaceSplit"}},
                  " a  b\tc\xE3\x80\x80"
                  "d"),
            (Words{"a", "b", "c", "d"}));
  EXPECT_EQ(split({{"type", "BertPreTokenizer"}},
                  "Hi, there!\xE3\x80\x82"
                  "ok"),
            (Words{"Hi", ",", "there", "!", "\xE3\x80\x82", "ok"}));
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", true}}, "a123b"),
            (Words{"a", "1", "2", "3", "b"}));
  EXPECT_EQ(split({{"type", "Digits"}, {"individual_digits", false}}, "a123b4"),
            (Words{"a", "123", "b", "4"}));
  EXPECT_EQ(split({{"type", "Punctuation"}, {"behavior", "Isolated"}}, "a.b"),
            (Words{"a", ".", "b"}));
  EXPECT_EQ(split({{"type", "Punctuation"}, {"behavior", "MergedWithPrevious"}}, "a.b,"),
            (Words{"a.", "b,"}));
  const json seq = {
      {"type", "Sequence"},
      {"pretokenizers",
       {{{"type", "WhitespaceSplit"}}, {{"type", "Digits"}, {"individual_digits", true}}}}};
  EXPECT_EQ(split(seq, "ab12 c"), (Words{"ab", "1", "2", "c"}));
}

TEST(PreTokenizers, PatternsFollowOnigurumaClassesAndEmptyMatches) {
  EXPECT_EQ(
      tok::oniguruma_to_pcre2(R"(\s+(?!\S)|[^\s\w]|\w\d)"),
      R"([\s\x{85}]+(?![^\s\x{85}])|[^\s\x{85}\p{L}\p{M}\p{N}\p{Pc}]|[\p{L}\p{M}\p{N}\p{Pc}]\d)");
  EXPECT_EQ(tok::oniguruma_to_pcre2(R"([]\s]\\s)"), R"([]\s\x{85}]\\s)");
  // Oniguruma's \w has combining marks: the accent stays in the word.
  EXPECT_EQ(split({{"type", "Whitespace"}}, "e\xCC\x81t\xC3\xA9 x"),
            (Words{"e\xCC\x81t\xC3\xA9", "x"}));
  // Empty matches advance one character and leave no empty pieces.
  EXPECT_EQ(split(split_regex("x*", "Isolated"), "ab\xC3\xA9"), (Words{"a", "b", "\xC3\xA9"}));
}

TEST(PreTokenizers, UnknownTypeAndBadBehaviourAreErrors) {
  expect_error(
      [] {
        split({{"type", "Magic"}}, "a");
      },
      ErrorCode::Unsupported, {"Magic", "test.json"});
  expect_error([] { split(split_regex("a", "Sideways"), "a"); }, ErrorCode::InvalidFormat,
               {"test.json", "pre_tokenizer.behavior"});
}

}  // namespace
}  // namespace pagoda::testing
