// Loading: tokenizer.json errors name the file and key; model directories with
// tokenizer_config.json, special_tokens_map.json, chat templates, or GPT-2 vocab.json + merges.txt.
#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "common/expect_error.h"
#include "tokenizer/tokenizer_test_util.h"

namespace pagoda::testing {
namespace {

namespace fs = std::filesystem;

class TempDir {
 public:
  TempDir() {
    path_ = fs::temp_directory_path() /
            ("pagoda_tok_" + std::to_string(::testing::UnitTest::GetInstance()->random_seed()) +
             "_" + ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(path_);
    fs::create_directories(path_);
  }
  ~TempDir() { fs::remove_all(path_); }
  const fs::path& path() const { return path_; }
  void write(const std::string& name, const std::string& text) const {
    std::ofstream(path_ / name) << text;
  }

 private:
  fs::path path_;
};

TEST(TokenizerLoading, MalformedJsonNamesTheFile) {
  expect_error([] { Tokenizer::from_json("{\"model\": ", "broken.json"); },
               ErrorCode::InvalidFormat, {"broken.json", "not valid JSON"});
  expect_error([] { Tokenizer::from_json("{}", "empty.json"); }, ErrorCode::InvalidFormat,
               {"empty.json", "'model'"});
  expect_error([] { Tokenizer::from_file("/nonexistent/tokenizer.json"); }, ErrorCode::Io,
               {"/nonexistent/tokenizer.json"});
}

TEST(TokenizerLoading, WrongValueNamesTheKey) {
  json doc = tokenizer_doc(word_level({"[UNK]", "a"}));
  doc["model"]["vocab"]["a"] = "one";
  expect_error([&] { make_tokenizer(doc); }, ErrorCode::InvalidFormat,
               {"test.json", "model.vocab.a", "\"one\""});
  json bpe = tokenizer_doc({{"type", "BPE"}, {"vocab", {{"a", 0}}}, {"merges", {42}}});
  expect_error([&] { make_tokenizer(bpe); }, ErrorCode::InvalidFormat,
               {"test.json", "model.merges[0]"});
  json added =
      tokenizer_doc(word_level({"a"}), nullptr, nullptr, nullptr, nullptr, {{{"content", "x"}}});
  expect_error([&] { make_tokenizer(added); }, ErrorCode::InvalidFormat,
               {"test.json", "added_tokens[0].id"});
  json huge = tokenizer_doc(word_level({"a"}));
  huge["model"]["vocab"]["b"] = 2000000000;
  expect_error([&] { make_tokenizer(huge); }, ErrorCode::InvalidFormat, {"'b'", "2000000000"});
  json model = tokenizer_doc({{"type", "Transformer"}});
  expect_error([&] { make_tokenizer(model); }, ErrorCode::Unsupported,
               {"test.json", "model type 'Transformer'"});
}

TEST(TokenizerLoading, DirectoryWithConfigAndChatTemplates) {
  TempDir dir;
  dir.write("tokenizer.json",
            tokenizer_doc(word_level({"[UNK]", "<s>", "</s>", "hi"}), nullptr,
                          {{"type", "WhitespaceSplit"}}, nullptr, nullptr,
                          {added_token("<s>", 1, true), added_token("</s>", 2, true)})
                .dump());
  dir.write(
      "tokenizer_config.json",
      json{{"bos_token", {{"content", "<s>"}, {"lstrip", false}}},
           {"eos_token", "</s>"},
           {"add_bos_token", true},
           {"clean_up_tokenization_spaces", true},
           {"model_max_length", 4096},
           {"chat_template",
            {{{"name", "default"}, {"template", "A"}}, {{"name", "tool_use"}, {"template", "T"}}}}}
          .dump());
  dir.write("special_tokens_map.json", json{{"pad_token", "</s>"}, {"eos_token", "<s>"}}.dump());
  dir.write("chat_template.jinja", "{{ messages }}");
  auto t = Tokenizer::from_directory(dir.path());
  const TokenizerConfig& c = t->config();
  EXPECT_EQ(c.bos_token, "<s>");
  EXPECT_EQ(c.eos_token, "</s>");  // tokenizer_config.json wins over special_tokens_map.json
  EXPECT_EQ(c.pad_token, "</s>");
  EXPECT_EQ(c.unk_token, std::nullopt);
  EXPECT_EQ(c.add_bos_token, true);
  EXPECT_EQ(c.add_eos_token, std::nullopt);
  EXPECT_TRUE(c.clean_up_tokenization_spaces);
  EXPECT_EQ(c.model_max_length, 4096);
  EXPECT_EQ(c.chat_templates.at("default"), "{{ messages }}");
  EXPECT_EQ(c.chat_templates.at("tool_use"), "T");
  EXPECT_EQ(t->bos_token_id(), 1);
  EXPECT_EQ(t->eos_token_id(), 2);
  EXPECT_EQ(t->encode("<s>hi</s>"), ids({1, 3, 2}));
}

TEST(TokenizerLoading, Gpt2VocabAndMergesFiles) {
  TempDir dir;
  // Byte-level alphabet: Ġ is ' '.
  dir.write("vocab.json", json{{"h", 0},
                               {"i", 1},
                               {"\xC4\xA0", 2},
                               {"hi", 3},
                               {"\xC4\xA0h", 4},
                               {"\xC4\xA0hi", 5},
                               {"<|endoftext|>", 6}}
                              .dump());
  dir.write("merges.txt", "#version: 0.2\n\xC4\xA0 h\n\xC4\xA0h i\nh i\n");
  auto t = Tokenizer::from_directory(dir.path());
  EXPECT_EQ(t->encode("hi hi"), ids({3, 5}));
  EXPECT_EQ(t->decode(ids({3, 5})), "hi hi");
  EXPECT_EQ(t->eos_token_id(), 6);
  dir.write("merges.txt", "#version: 0.2\nh i x\n");
  expect_error([&] { Tokenizer::from_directory(dir.path()); }, ErrorCode::InvalidFormat,
               {"line 2", "h i x"});
}

TEST(TokenizerLoading, DirectoryWithoutTokenizerFiles) {
  TempDir dir;
  expect_error([&] { Tokenizer::from_directory(dir.path()); }, ErrorCode::NotFound,
               {"tokenizer.json"});
}

TEST(TokenizerEncoding, ConcurrentEncodesAgreeWithSequentialOnes) {
  auto t = Tokenizer::from_file(fs::path(PAGODA_FIXTURES_DIR) / "tokenizers" / "trained" /
                                "spm-bpe.tokenizer.json");
  std::ifstream in(fs::path(PAGODA_FIXTURES_DIR) / "tokenizers" / "corpus.json");
  const json corpus = json::parse(in);
  std::vector<std::vector<int32_t>> want;
  for (const auto& s : corpus) want.push_back(t->encode(s.get<std::string>()));
  // A fresh tokenizer, so the threads fill its word cache together.
  auto fresh = Tokenizer::from_file(fs::path(PAGODA_FIXTURES_DIR) / "tokenizers" / "trained" /
                                    "spm-bpe.tokenizer.json");
  std::atomic<int> mismatches{0};
  std::vector<std::thread> threads;
  for (int k = 0; k < 4; ++k) {
    threads.emplace_back([&, k] {
      for (size_t i = 0; i < corpus.size(); ++i) {
        const size_t j = (i + static_cast<size_t>(k) * 97) % corpus.size();
        if (fresh->encode(corpus[j].get<std::string>()) != want[j]) ++mismatches;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(mismatches.load(), 0);
}

TEST(TokenizerEncoding, RandomBytesAndIdsNeverBreakAnything) {
  std::mt19937 rng(1234);
  for (const char* name : {"wordpiece", "unigram", "spm-bpe", "misc-bpe"}) {
    auto t = Tokenizer::from_file(fs::path(PAGODA_FIXTURES_DIR) / "tokenizers" / "trained" /
                                  (std::string(name) + ".tokenizer.json"));
    for (int round = 0; round < 100; ++round) {
      std::string bytes(rng() % 64, '\0');
      for (char& c : bytes) c = static_cast<char>(rng() % 256);
      const auto ids = t->encode(bytes);
      for (int32_t id : ids) EXPECT_TRUE(id >= 0 && id < t->vocab_size()) << name;
      std::vector<int32_t> random_ids(rng() % 32);
      for (int32_t& id : random_ids) {
        id = static_cast<int32_t>(rng() % (t->vocab_size() + 50)) - 10;
        // ByteFallback turns a whole run of <0xXX> tokens into U+FFFD once any byte of it is
        // invalid, which a stream cannot foresee; such runs are tested with valid UTF-8 elsewhere.
        const auto tok = t->id_to_token(id);
        if (tok && tok->size() == 6 && tok->rfind("<0x", 0) == 0) id = -1;
      }
      const std::string text = t->decode(random_ids, round % 2 == 0);
      IncrementalDetokenizer d(t, {}, round % 2 == 0);
      std::string streamed;
      for (int32_t id : random_ids) streamed += d.push(id);
      streamed += d.flush();
      EXPECT_EQ(streamed, text) << name << " " << ::testing::PrintToString(random_ids);
    }
  }
}

TEST(TokenizerEncoding, InvalidUtf8IsRepairedNotRejected) {
  auto t = make_tokenizer(tokenizer_doc(word_level({"[UNK]", "a", "\xEF\xBF\xBD"}), nullptr,
                                        {{"type", "WhitespaceSplit"}}));
  EXPECT_EQ(t->encode("a \xFF"), ids({1, 2}));
}

}  // namespace
}  // namespace pagoda::testing
