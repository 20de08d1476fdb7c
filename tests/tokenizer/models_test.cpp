// The four models on hand-built vocabularies, each option with hand-computed ids.
#include <gtest/gtest.h>

#include "common/expect_error.h"
#include "tokenizer/tokenizer_test_util.h"

namespace pagoda::testing {
namespace {

json bpe(json vocab, json merges, json extra = json::object()) {
  json m{{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}};
  for (auto& [k, v] : extra.items()) m[k] = v;
  return m;
}

const json kWs = {{"type", "WhitespaceSplit"}};

TEST(BpeModel, AppliesMergesByRankLeftmostFirst) {
  const json vocab = {{"a", 0}, {"b", 1}, {"c", 2}, {"ab", 3}, {"bc", 4}, {"abc", 5}};
  // "b c" ranks before "a b": abc -> a bc; "a bc" is no merge, so it stays [a, bc].
  auto t1 = make_tokenizer(tokenizer_doc(bpe(vocab, {"b c", "a b", "ab c"}), nullptr, kWs));
  EXPECT_EQ(t1->encode("abc"), ids({0, 4}));
  // "a b" first, then "ab c".
  auto t2 = make_tokenizer(tokenizer_doc(bpe(vocab, {"a b", "b c", "ab c"}), nullptr, kWs));
  EXPECT_EQ(t2->encode("abc"), ids({5}));
  // Merges as [a, b] pairs behave the same; equal ranks resolve leftmost first: "aaa" -> aa a.
  const json v2 = {{"a", 0}, {"aa", 1}};
  auto t3 =
      make_tokenizer(tokenizer_doc(bpe(v2, json::array({json::array({"a", "a"})})), nullptr, kWs));
  EXPECT_EQ(t3->encode("aaa"), ids({1, 0}));
  EXPECT_EQ(t3->encode("aaaa"), ids({1, 1}));
  EXPECT_EQ(t3->encode("aaa aaa"), ids({1, 0, 1, 0}));  // the second word comes from the cache
}

TEST(BpeModel, ByteFallbackUnkAndFuseUnk) {
  const json vocab = {{"<unk>", 0}, {"a", 1}, {"<0xC3>", 2}, {"<0xA9>", 3}};
  auto fallback = make_tokenizer(
      tokenizer_doc(bpe(vocab, json::array(), {{"unk_token", "<unk>"}, {"byte_fallback", true}})));
  EXPECT_EQ(fallback->encode("a\xC3\xA9"), ids({1, 2, 3}));        // é has its two byte tokens
  EXPECT_EQ(fallback->encode("ab"), ids({1, 0}));                  // 'b' has none: unk
  EXPECT_EQ(fallback->decode(ids({1, 2, 3})), "a <0xC3> <0xA9>");  // no decoder: joined by spaces
  auto unfused = make_tokenizer(tokenizer_doc(bpe(vocab, json::array(), {{"unk_token", "<unk>"}})));
  EXPECT_EQ(unfused->encode("xya"), ids({0, 0, 1}));
  auto fused = make_tokenizer(
      tokenizer_doc(bpe(vocab, json::array(), {{"unk_token", "<unk>"}, {"fuse_unk", true}})));
  EXPECT_EQ(fused->encode("xya"), ids({0, 1}));
  // Without unk_token unknown characters vanish, as in tokenizers.
  auto no_unk = make_tokenizer(tokenizer_doc(bpe(vocab, json::array())));
  EXPECT_EQ(no_unk->encode("xa"), ids({1}));
}

TEST(BpeModel, ContinuingSubwordPrefixAndEndOfWordSuffix) {
  const json vocab = {{"a", 0},  {"##b", 1},       {"##c</w>", 2}, {"a##b", 3},
                      {"ab", 4}, {"ab##c</w>", 5}, {"abc</w>", 6}};
  // With prefix "##": merged token = a + b-without-prefix = "ab".
  auto t = make_tokenizer(
      tokenizer_doc(bpe(vocab, {"a ##b", "ab ##c</w>"},
                        {{"continuing_subword_prefix", "##"}, {"end_of_word_suffix", "</w>"}}),
                    nullptr, kWs));
  EXPECT_EQ(t->encode("abc"), ids({6}));
  EXPECT_EQ(t->encode("ab"),
            ids({0}));  // "b" is last, so it needs "##b</w>", which is unknown: dropped
  EXPECT_EQ(t->encode("abx"), ids({4}));  // a + ##b merge into "ab"; "##x</w>" is unknown
}

TEST(BpeModel, IgnoreMergesTakesWholeWordsFromTheVocabulary) {
  const json vocab = {{"a", 0}, {"b", 1}, {"ab", 2}, {"ba", 3}, {"aba", 4}};
  // The merges would give ab a; ignore_merges takes "aba" directly.
  auto t =
      make_tokenizer(tokenizer_doc(bpe(vocab, {"a b"}, {{"ignore_merges", true}}), nullptr, kWs));
  EXPECT_EQ(t->encode("aba"), ids({4}));
  EXPECT_EQ(t->encode("abab"), ids({2, 2}));
  auto merged = make_tokenizer(tokenizer_doc(bpe(vocab, {"a b"}), nullptr, kWs));
  EXPECT_EQ(merged->encode("aba"), ids({2, 0}));
}

TEST(BpeModel, MergeWithUnknownTokenIsAnError) {
  expect_error(
      [] {
        make_tokenizer(tokenizer_doc(bpe({{"a", 0}, {"b", 1}}, {"a b"})));
      },
      ErrorCode::InvalidFormat, {"test.json", "model.merges[0]", "'ab'"});
  expect_error(
      [] {
        make_tokenizer(tokenizer_doc(bpe({{"a", 0}}, {"a"})));
      },
      ErrorCode::InvalidFormat, {"test.json", "model.merges[0]"});
}

TEST(WordPieceModel, GreedyLongestMatchWithContinuationPrefix) {
  const json vocab = {{"[UNK]", 0}, {"un", 1},   {"##aff", 2}, {"##able", 3},
                      {"una", 4},   {"##ff", 5}, {"##a", 6}};
  const json model = {{"type", "WordPiece"},
                      {"vocab", vocab},
                      {"unk_token", "[UNK]"},
                      {"continuing_subword_prefix", "##"},
                      {"max_input_chars_per_word", 12}};
  auto t = make_tokenizer(tokenizer_doc(model, nullptr, kWs));
  // Longest first: "una" then "##ff" then "##able".
  EXPECT_EQ(t->encode("unaffable"), ids({4, 5, 3}));
  EXPECT_EQ(t->encode("unx"), ids({0}));            // any unmatched part: the whole word is unk
  EXPECT_EQ(t->encode("unaaaaaaaaaaa"), ids({0}));  // 13 characters > 12
  EXPECT_EQ(t->encode("unaaaaaaaaaa"), ids({4, 6, 6, 6, 6, 6, 6, 6, 6, 6}));
}

TEST(WordLevelModel, LooksUpWordsAndFallsBackToUnk) {
  auto t = make_tokenizer(tokenizer_doc(word_level({"[UNK]", "hello", "world"}), nullptr, kWs));
  EXPECT_EQ(t->encode("hello big world"), ids({1, 0, 2}));
  json no_unk = word_level({"hello"});
  no_unk.erase("unk_token");
  auto t2 = make_tokenizer(tokenizer_doc(no_unk, nullptr, kWs));
  expect_error([&] { t2->encode("bye"); }, ErrorCode::InvalidArgument, {"bye", "unk"});
}

json unigram(json pieces, json extra = json::object()) {
  json m{{"type", "Unigram"}, {"unk_id", 0}, {"vocab", pieces}};
  for (auto& [k, v] : extra.items()) m[k] = v;
  return m;
}

TEST(UnigramModel, ViterbiPicksTheBestScoringSegmentation) {
  const json pieces =
      json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}), json::array({"b", -1.0}),
                   json::array({"ab", -1.5}), json::array({"abc", -4.0}), json::array({"c", -2.0}),
                   json::array({"bc", -1.2})});
  auto t = make_tokenizer(tokenizer_doc(unigram(pieces)));
  EXPECT_EQ(t->encode("ab"), ids({3}));      // -1.5 beats a + b = -2
  EXPECT_EQ(t->encode("abc"), ids({1, 6}));  // a + bc = -2.2 beats ab + c = -3.5 and abc = -4
  // Unknown characters score min - 10 each and consecutive ones fuse into one unk.
  EXPECT_EQ(t->encode("xya"), ids({0, 1}));
  EXPECT_EQ(t->encode("axyb"), ids({1, 0, 2}));
}

TEST(UnigramModel, ByteFallbackForPiecesOutsideTheVocabulary) {
  const json pieces = json::array({json::array({"<unk>", 0.0}), json::array({"a", -1.0}),
                                   json::array({"<0xC3>", -5.0}), json::array({"<0xA9>", -5.0})});
  auto t = make_tokenizer(tokenizer_doc(unigram(pieces, {{"byte_fallback", true}})));
  EXPECT_EQ(t->encode("a\xC3\xA9"), ids({1, 2, 3}));
  EXPECT_EQ(t->encode("az"), ids({1, 0}));  // 'z' has no byte token (<0x7A>): unk
}

TEST(UnigramModel, UnkIdOutsideTheVocabularyIsAnError) {
  expect_error(
      [] {
        make_tokenizer(
            tokenizer_doc(unigram(json::array({json::array({"a", 0.0})}), {{"unk_id", 3}})));
      },
      ErrorCode::InvalidFormat, {"test.json", "unk_id 3"});
}

}  // namespace
}  // namespace pagoda::testing
