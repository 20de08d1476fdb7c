// Added tokens as added_vocabulary.rs splits them: raw vs normalized matching, leftmost-longest,
// single_word, lstrip/rstrip, special tokens in decode.
#include <gtest/gtest.h>

#include "tokenizer/tokenizer_test_util.h"

namespace pagoda::testing {
namespace {

const json kWs = {{"type", "WhitespaceSplit"}};
const json kLower = {{"type", "Lowercase"}};

// Vocabulary: 0 [UNK], 1 hi, 2 a, 3 b; added tokens from id 10.
json model() {
  return word_level({"[UNK]", "hi", "a", "b"});
}

TEST(AddedTokens, SpecialTokensAreSplitBeforeNormalization) {
  auto t = make_tokenizer(
      tokenizer_doc(model(), kLower, kWs, nullptr, nullptr, {added_token("<BOS>", 10, true)}));
  EXPECT_EQ(t->encode("<BOS>HI"), ids({10, 1}));
  EXPECT_EQ(t->encode("<bos>"), ids({0}));  // normalized=false: matched in the raw text only
  EXPECT_TRUE(t->is_special(10));
  EXPECT_FALSE(t->is_special(1));
  EXPECT_EQ(t->decode(ids({10, 1}), true), "hi");
  EXPECT_EQ(t->decode(ids({10, 1}), false), "<BOS> hi");
  EXPECT_EQ(t->token_to_id("<BOS>"), 10);
  EXPECT_EQ(t->id_to_token(10), "<BOS>");
  EXPECT_EQ(t->vocab_size(), 11);
  EXPECT_EQ(t->id_to_token(7), std::nullopt);
  EXPECT_EQ(t->decode(ids({7, 1, -3, 99})), "hi");  // unknown ids are skipped
}

TEST(AddedTokens, NormalizedTokensMatchTheNormalizedText) {
  auto t = make_tokenizer(
      tokenizer_doc(model(), kLower, kWs, nullptr, nullptr, {added_token("HeLLo", 10, false)}));
  EXPECT_EQ(t->encode("HELLO hi"), ids({10, 1}));
  EXPECT_EQ(t->encode("hello"), ids({10}));
  // tokenizers 0.23 decodes a normalized added token as its normalized form.
  EXPECT_EQ(t->decode(ids({10})), "hello");
  EXPECT_EQ(t->id_to_token(10), "HeLLo");
}

TEST(AddedTokens, LeftmostLongestMatch) {
  auto t =
      make_tokenizer(tokenizer_doc(model(), nullptr, kWs, nullptr, nullptr,
                                   {added_token("<a>", 10, true), added_token("<a><b>", 11, true),
                                    added_token("b>", 12, true)}));
  EXPECT_EQ(t->encode("<a><b>"), ids({11}));
  EXPECT_EQ(t->encode("<a><b"), ids({10, 0}));
  EXPECT_EQ(t->encode("x<a>hi"), ids({0, 10, 1}));
}

TEST(AddedTokens, SingleWordOnlyMatchesWholeWords) {
  auto t = make_tokenizer(tokenizer_doc(model(), nullptr, kWs, nullptr, nullptr,
                                        {added_token("[C]", 10, false, {{"single_word", true}})}));
  EXPECT_EQ(t->encode("a [C] b"), ids({2, 10, 3}));
  EXPECT_EQ(t->encode("[C]"), ids({10}));
  EXPECT_EQ(t->encode("a[C] b"), ids({0, 3}));  // "a[C]" is one word, unknown
  EXPECT_EQ(t->encode("a [C]b"), ids({2, 0}));
}

TEST(AddedTokens, LstripAndRstripAbsorbSurroundingSpaces) {
  const std::string m = "\xE2\x96\x81";
  const json meta = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "always"}, {"split", true}};
  const json vocab = word_level({"[UNK]", m + "a", m + "b", m, "a", "b"});
  auto l = make_tokenizer(tokenizer_doc(vocab, nullptr, meta, nullptr, nullptr,
                                        {added_token("<m>", 10, true, {{"lstrip", true}})}));
  // The spaces before <m> belong to it; " b" after it keeps its space.
  EXPECT_EQ(l->encode("a   <m> b"), ids({1, 10, 2}));
  auto r = make_tokenizer(tokenizer_doc(vocab, nullptr, meta, nullptr, nullptr,
                                        {added_token("<m>", 10, true, {{"rstrip", true}})}));
  EXPECT_EQ(r->encode("a <m>  b"), ids({1, 3, 10, 2}));  // "a " -> ▁a ▁; the text after <m> is "b"
}

TEST(AddedTokens, MetaspaceFirstPrependsOnlyAtTheStartOfTheText) {
  const std::string m = "\xE2\x96\x81";
  const json meta = {
      {"type", "Metaspace"}, {"replacement", m}, {"prepend_scheme", "first"}, {"split", true}};
  const json vocab = word_level({"[UNK]", m + "a", "a"});
  auto t = make_tokenizer(
      tokenizer_doc(vocab, nullptr, meta, nullptr, nullptr, {added_token("<s>", 10, true)}));
  EXPECT_EQ(t->encode("a<s>a"), ids({1, 10, 2}));
  EXPECT_EQ(t->encode("<s>a"), ids({10, 2}));
}

}  // namespace
}  // namespace pagoda::testing
