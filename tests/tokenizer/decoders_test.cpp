// Each decoder and post-processor with hand-computed results.
#include "tokenizer/decoders.h"

#include <gtest/gtest.h>

#include "common/expect_error.h"
#include "tokenizer/tokenizer_test_util.h"

namespace pagoda::testing {
namespace {

using Tokens = std::vector<std::string>;

Tokens chain(const json& j, Tokens tokens) {
  auto d = tok::make_decoder(tok::JsonAt{j, "test.json", "decoder"});
  d->decode_chain(tokens);
  return tokens;
}

const std::string kM = "\xE2\x96\x81";  // ▁

TEST(Decoders, ByteLevelRestoresBytesAndRepairsUtf8) {
  EXPECT_EQ(chain({{"type", "ByteLevel"}}, {"\xC4\xA0hello", "\xC4\x8A"}), Tokens{" hello\n"});
  // Ã alone is byte 0xC3: an incomplete character becomes U+FFFD.
  EXPECT_EQ(chain({{"type", "ByteLevel"}}, {"a", "\xC3\x83"}), Tokens{"a\xEF\xBF\xBD"});
  // A token with characters outside the byte map keeps its own UTF-8.
  EXPECT_EQ(chain({{"type", "ByteLevel"}}, {"<|\xE2\x82\xAC|>", "\xC4\xA0x"}),
            Tokens{"<|\xE2\x82\xAC|> x"});
}

TEST(Decoders, MetaspaceDropsTheFirstTokensSpaceUnlessNever) {
  const json ms = {
      {"type", "Metaspace"}, {"replacement", kM}, {"prepend_scheme", "always"}, {"split", true}};
  EXPECT_EQ(chain(ms, {kM + "Hello", kM + "world"}), (Tokens{"Hello", " world"}));
  json never = ms;
  never["prepend_scheme"] = "never";
  EXPECT_EQ(chain(never, {kM + "Hello", kM + "world"}), (Tokens{" Hello", " world"}));
}

TEST(Decoders, ByteFallbackFuseStripReplace) {
  EXPECT_EQ(chain({{"type", "ByteFallback"}}, {"<0xE2>", "<0x82>", "<0xAC>", "a"}),
            (Tokens{"\xE2\x82\xAC", "a"}));
  EXPECT_EQ(chain({{"type", "ByteFallback"}}, {"<0xE2>", "<0x82>", "b", "<0x41>"}),
            (Tokens{"\xEF\xBF\xBD", "\xEF\xBF\xBD", "b", "A"}));  // one U+FFFD per invalid byte
  EXPECT_EQ(chain({{"type", "Fuse"}}, {"a", "b", "c"}), Tokens{"abc"});
  EXPECT_EQ(
      chain({{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}, {" a", "  b ", "c"}),
      (Tokens{"a", " b ", "c"}));
  EXPECT_EQ(chain({{"type", "Strip"}, {"content", " "}, {"start", 0}, {"stop", 2}}, {"a   "}),
            Tokens{"a "});
  EXPECT_EQ(chain({{"type", "Replace"}, {"pattern", {{"String", kM}}}, {"content", " "}},
                  {kM + "a" + kM + "b"}),
            Tokens{" a b"});
  // Llama-2's chain: spaces back, bytes to text, one string, the leading space stripped.
  const json llama2 = {{"type", "Sequence"},
                       {"decoders",
                        {{{"type", "Replace"}, {"pattern", {{"String", kM}}}, {"content", " "}},
                         {{"type", "ByteFallback"}},
                         {{"type", "Fuse"}},
                         {{"type", "Strip"}, {"content", " "}, {"start", 1}, {"stop", 0}}}}};
  EXPECT_EQ(chain(llama2, {kM + "Hi", "<0xF0>", "<0x9F>", "<0xA6>", "<0x99>", kM + "there"}),
            Tokens{"Hi\xF0\x9F\xA6\x99 there"});
}

TEST(Decoders, WordPieceCtcAndBpeDecoder) {
  EXPECT_EQ(chain({{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}},
                  {"un", "##aff", "able", ".", "do", "n't"}),
            (Tokens{"un", "aff", " able", ".", " do", "n't"}));
  EXPECT_EQ(chain({{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", false}}, {"a", "."}),
            (Tokens{"a", " ."}));
  EXPECT_EQ(chain({{"type", "CTC"},
                   {"pad_token", "<pad>"},
                   {"word_delimiter_token", "|"},
                   {"cleanup", true}},
                  {"<pad>", "h", "h", "<pad>", "e", "|", "l", "l", "<pad>", "l", "o"}),
            (Tokens{"h", "e", " ", "l", "l", "o"}));
  EXPECT_EQ(chain({{"type", "BPEDecoder"}, {"suffix", "</w>"}}, {"hel", "lo</w>", "wor", "ld</w>"}),
            (Tokens{"hel", "lo ", "wor", "ld"}));
}

TEST(Decoders, UnknownTypeIsAnError) {
  expect_error(
      [] {
        chain({{"type", "Reverse"}}, {});
      },
      ErrorCode::Unsupported, {"Reverse", "test.json", "decoder"});
  expect_error(
      [] {
        chain({{"type", "Strip"}, {"content", "ab"}, {"start", 1}, {"stop", 0}}, {});
      },
      ErrorCode::InvalidFormat, {"decoder.content", "a single character"});
}

TEST(PostProcessors, TemplateBertRobertaAndSequence) {
  const json model = word_level({"[UNK]", "[CLS]", "[SEP]", "a", "b"});
  const json ws = {{"type", "WhitespaceSplit"}};
  const json tmpl = {{"type", "TemplateProcessing"},
                     {"single",
                      {{{"SpecialToken", {{"id", "[CLS]"}, {"type_id", 0}}}},
                       {{"Sequence", {{"id", "A"}, {"type_id", 0}}}},
                       {{"SpecialToken", {{"id", "[SEP]"}, {"type_id", 0}}}}}},
                     {"pair", json::array()},
                     {"special_tokens",
                      {{"[CLS]", {{"id", "[CLS]"}, {"ids", {1}}, {"tokens", {"[CLS]"}}}},
                       {"[SEP]", {{"id", "[SEP]"}, {"ids", {2}}, {"tokens", {"[SEP]"}}}}}}};
  auto t = make_tokenizer(tokenizer_doc(model, nullptr, ws, tmpl));
  EXPECT_EQ(t->encode("a b"), ids({1, 3, 4, 2}));
  EXPECT_EQ(t->encode("a b", false), ids({3, 4}));
  EXPECT_EQ(t->encode(""), ids({1, 2}));
  const json bert = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 2}}, {"cls", {"[CLS]", 1}}};
  EXPECT_EQ(make_tokenizer(tokenizer_doc(model, nullptr, ws, bert))->encode("b"), ids({1, 4, 2}));
  const json roberta = {{"type", "RobertaProcessing"},
                        {"sep", {"[SEP]", 2}},
                        {"cls", {"[CLS]", 1}},
                        {"trim_offsets", true},
                        {"add_prefix_space", false}};
  const json seq = {{"type", "Sequence"},
                    {"processors", {{{"type", "ByteLevel"}, {"trim_offsets", false}}, roberta}}};
  EXPECT_EQ(make_tokenizer(tokenizer_doc(model, nullptr, ws, seq))->encode("a"), ids({1, 3, 2}));
  json bad = tmpl;
  bad["single"][0]["SpecialToken"]["id"] = "[BOS]";
  expect_error([&] { make_tokenizer(tokenizer_doc(model, nullptr, ws, bad)); },
               ErrorCode::InvalidFormat, {"test.json", "[BOS]", "special_tokens"});
}

}  // namespace
}  // namespace pagoda::testing
