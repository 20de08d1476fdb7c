// Each normalizer and option on hand-written strings.
#include "tokenizer/normalizers.h"

#include <gtest/gtest.h>

#include "common/expect_error.h"
#include "tokenizer/tokenizer_test_util.h"
#include "tokenizer/unicode.h"

namespace pagoda::testing {
namespace {

std::string normalize(const json& j, std::string s) {
  auto n = tok::make_normalizer(tok::JsonAt{j, "test.json", "normalizer"});
  n->normalize(s);
  return s;
}

TEST(Normalizers, UnicodeNormalForms) {
  const std::string composed = "\xC3\xA9", decomposed = "e\xCC\x81",
                    ligature = "\xEF\xAC\x81";  // é, e+◌́, ﬁ
  EXPECT_EQ(normalize({{"type", "NFC"}}, decomposed), composed);
  EXPECT_EQ(normalize({{"type", "NFD"}}, composed), decomposed);
  EXPECT_EQ(normalize({{"type", "NFC"}}, ligature),
            ligature);  // compatibility forms stay under NFC
  EXPECT_EQ(normalize({{"type", "NFKC"}}, ligature + composed), "fi" + composed);
  EXPECT_EQ(normalize({{"type", "NFKD"}}, ligature + composed), "fi" + decomposed);
}

TEST(Normalizers, LowercaseUsesFullPerCharacterMappings) {
  // İ lowercases to i + combining dot (SpecialCasing), final Σ stays σ (no context).
  EXPECT_EQ(normalize({{"type", "Lowercase"}}, "HeLLo \xC4\xB0 \xCE\xA3"),
            "hello i\xCC\x87 \xCF\x83");
}

TEST(Normalizers, StripAndStripAccents) {
  EXPECT_EQ(normalize({{"type", "Strip"}, {"left", true}, {"right", true}}, " \t hi \xE3\x80\x80"),
            "hi");
  EXPECT_EQ(normalize({{"type", "Strip"}, {"left", false}, {"right", true}}, "  hi  "), "  hi");
  EXPECT_EQ(normalize({{"type", "Strip"}, {"left", true}, {"right", false}}, "  hi  "), "hi  ");
  EXPECT_EQ(normalize({{"type", "StripAccents"}}, "e\xCC\x81t\xC3\xA9"),
            "et\xC3\xA9");  // only marks go
  EXPECT_EQ(normalize({{"type", "Sequence"},
                       {"normalizers", {{{"type", "NFD"}}, {{"type", "StripAccents"}}}}},
                      "caf\xC3\xA9"),
            "cafe");
}

TEST(Normalizers, ReplaceWithStringOrRegexAndPrepend) {
  EXPECT_EQ(
      normalize({{"type", "Replace"}, {"pattern", {{"String", " "}}}, {"content", "\xE2\x96\x81"}},
                "a b  c"),
      "a\xE2\x96\x81"
      "b\xE2\x96\x81\xE2\x96\x81"
      "c");
  EXPECT_EQ(normalize({{"type", "Replace"}, {"pattern", {{"Regex", " {2,}"}}}, {"content", " "}},
                      "a  b     c d"),
            "a b c d");
  EXPECT_EQ(normalize({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, "hi"), "\xE2\x96\x81hi");
  EXPECT_EQ(normalize({{"type", "Prepend"}, {"prepend", "\xE2\x96\x81"}}, ""), "");
}

TEST(Normalizers, BertNormalizerCleansPadsChineseStripsAndLowercases) {
  const json bert = {{"type", "BertNormalizer"},
                     {"clean_text", true},
                     {"handle_chinese_chars", true},
                     {"strip_accents", nullptr},
                     {"lowercase", true}};
  // \t becomes a space, \x01 and U+FFFD go, 世界 get spaces around each character, é loses its
  // accent.
  EXPECT_EQ(normalize(bert, "H\xC3\xA9llo\t\xE4\xB8\x96\xE7\x95\x8C\x01\xEF\xBF\xBD"),
            "hello  \xE4\xB8\x96  \xE7\x95\x8C ");
  json keep = bert;
  keep["lowercase"] = false;  // strip_accents follows lowercase when null
  keep["handle_chinese_chars"] = false;
  EXPECT_EQ(normalize(keep, "H\xC3\xA9llo\xE4\xB8\x96"), "H\xC3\xA9llo\xE4\xB8\x96");
  keep["strip_accents"] = true;
  EXPECT_EQ(normalize(keep, "H\xC3\xA9llo"), "Hello");
}

// A double-array trie with the single key "A" -> "a" (darts-clone layout: root at 0 with offset 1,
// the 'A' unit at 1 ^ 0x41 = 64 with a leaf whose value sits at 64 ^ 1 = 65).
std::string tiny_charsmap() {
  std::vector<uint32_t> units(66, 0);
  units[0] = 1u << 10;
  units[64] = (1u << 10) | (1u << 8) | 0x41;
  units[65] = (1u << 31) | 0;  // value: offset 0 in the replacement strings
  std::string blob;
  const uint32_t size = static_cast<uint32_t>(units.size() * 4);
  for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((size >> (8 * k)) & 0xFF));
  for (uint32_t u : units)
    for (int k = 0; k < 4; ++k) blob.push_back(static_cast<char>((u >> (8 * k)) & 0xFF));
  blob += std::string("a\0", 2);
  return blob;
}

std::string base64(const std::string& in) {
  static const char* abc = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int k = 3; k >= 0; --k) out.push_back(abc[(n >> (6 * k)) & 63]);
  }
  if (i < in.size()) {
    uint32_t n = uint8_t(in[i]) << 16;
    if (i + 1 < in.size()) n |= uint8_t(in[i + 1]) << 8;
    out.push_back(abc[(n >> 18) & 63]);
    out.push_back(abc[(n >> 12) & 63]);
    out.push_back(i + 1 < in.size() ? abc[(n >> 6) & 63] : '=');
    out.push_back('=');
  }
  return out;
}

TEST(Normalizers, PrecompiledCharsmapRewritesGraphemesAsSentencePieceDoes) {
  const json j = {{"type", "Precompiled"}, {"precompiled_charsmap", base64(tiny_charsmap())}};
  EXPECT_EQ(normalize(j, "xAyA"), "xaya");
  // A grapheme shorter than 6 bytes is looked up whole, and the lookup takes the shortest key that
  // prefixes it: "A" + combining acute becomes "a", the accent dropped (spm_precompiled's quirk).
  EXPECT_EQ(normalize(j, "A\xCC\x81z"), "az");
  EXPECT_EQ(normalize(j, "\xE4\xB8\x96"), "\xE4\xB8\x96");
  EXPECT_EQ(normalize({{"type", "Precompiled"}, {"precompiled_charsmap", nullptr}}, "A"), "A");
  expect_error(
      [] {
        normalize({{"type", "Precompiled"}, {"precompiled_charsmap", base64("\xFF\xFF\xFF\x7F")}},
                  "A");
      },
      ErrorCode::InvalidFormat, {"test.json", "precompiled_charsmap"});
  expect_error(
      [] {
        normalize({{"type", "Precompiled"}, {"precompiled_charsmap", "!!"}}, "A");
      },
      ErrorCode::InvalidFormat, {"base64"});
}

TEST(Normalizers, GraphemeBoundaries) {
  EXPECT_EQ(tok::grapheme_boundaries("a\r\nb"), (std::vector<size_t>{0, 1, 3, 4}));
  EXPECT_EQ(tok::grapheme_boundaries(""), (std::vector<size_t>{0}));
  // e + combining acute is one grapheme; so is woman + ZWJ + laptop.
  EXPECT_EQ(tok::grapheme_boundaries("e\xCC\x81x"), (std::vector<size_t>{0, 3, 4}));
  EXPECT_EQ(tok::grapheme_boundaries("\xF0\x9F\x91\xA9\xE2\x80\x8D\xF0\x9F\x92\xBB!"),
            (std::vector<size_t>{0, 11, 12}));
}

TEST(Normalizers, UnknownTypeNamesTheTypeAndFile) {
  expect_error(
      [] {
        normalize({{"type", "Fancy"}}, "a");
      },
      ErrorCode::Unsupported, {"Fancy", "test.json", "normalizer"});
  expect_error(
      [] {
        normalize({{"type", "Replace"}, {"pattern", {{"Regex", "("}}}, {"content", ""}}, "a");
      },
      ErrorCode::InvalidFormat, {"test.json", "("});
}

}  // namespace
}  // namespace pagoda::testing
