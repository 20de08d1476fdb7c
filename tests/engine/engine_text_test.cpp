// The engine with a real tokenizer (Llama 3's, from the test data) on dummy weights: text prompts
// are encoded as the tokenizer does, streamed text adds up to the final text and equals the
// tokenizer's decode of the tokens, and stop strings that span token boundaries end the output
// exactly where transformers/vLLM would cut it.
#include <gtest/gtest.h>
#include <unistd.h>

#include <fstream>

#include "common/test_data.h"
#include "pagoda/engine.h"
#include "pagoda/error.h"
#include "pagoda/tokenizer.h"

using namespace pagoda;

namespace {

// A tiny Llama with Llama 3's vocabulary and tokenizer, random weights.
std::filesystem::path make_model_dir() {
  // One directory per process: ctest runs the cases of this suite in parallel processes.
  const auto dir = std::filesystem::temp_directory_path() /
                   ("pagoda_engine_text_model_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  std::ofstream(dir / "config.json") << R"({
    "architectures": ["LlamaForCausalLM"], "model_type": "llama", "hidden_size": 64,
    "intermediate_size": 128, "num_attention_heads": 4, "num_key_value_heads": 2, "head_dim": 16,
    "num_hidden_layers": 2, "vocab_size": 128256, "max_position_embeddings": 256,
    "rms_norm_eps": 1e-5, "rope_theta": 500000.0, "bos_token_id": 128000, "eos_token_id": 128001,
    "tie_word_embeddings": true, "torch_dtype": "float32"})";
  for (const char* file : {"tokenizer.json", "tokenizer_config.json"})
    std::filesystem::copy_file(
        pagoda::testing::require_test_data(std::string("tokenizer-llama3/") + file), dir / file,
        std::filesystem::copy_options::overwrite_existing);
  return dir;
}

EngineArgs args_for(const std::filesystem::path& dir) {
  EngineArgs args;
  args.model = dir.string();
  args.load_format = "dummy";
  args.dtype = "float32";
  args.max_model_len = 128;
  args.num_kv_blocks = 64;
  return args;
}

SamplingParams greedy(int64_t max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

class EngineText : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = make_model_dir();
    llm_ = new LLM(args_for(dir_));
  }
  static void TearDownTestSuite() {
    delete llm_;
    std::filesystem::remove_all(dir_);
  }
  static std::filesystem::path dir_;
  static LLM* llm_;
};
LLM* EngineText::llm_ = nullptr;
std::filesystem::path EngineText::dir_;

TEST_F(EngineText, TextPromptsUseTheTokenizerAndTextMatchesDecode) {
  const auto tokenizer = llm_->engine().tokenizer();
  ASSERT_NE(tokenizer, nullptr);
  const std::vector<std::string> texts = {"Hello, world!", "Le cœur a ses raisons 🦙",
                                          "def f(x):\n    return x"};
  std::vector<Prompt> prompts;
  for (const auto& t : texts) prompts.push_back(Prompt::from_text(t));
  std::map<std::string, std::string> streamed;
  const auto results = llm_->generate(prompts, {greedy(24)}, [&](const RequestOutput& d) {
    for (const auto& c : d.outputs) streamed[d.request_id] += c.text;
  });
  for (size_t i = 0; i < texts.size(); ++i) {
    EXPECT_EQ(results[i].prompt_token_ids, tokenizer->encode(texts[i])) << texts[i];
    const CompletionOutput& c = results[i].outputs.at(0);
    EXPECT_EQ(c.token_ids.size(), 24u);
    EXPECT_EQ(c.text, tokenizer->decode(c.token_ids, true));
    EXPECT_EQ(streamed[results[i].request_id], c.text);
  }
}

TEST_F(EngineText, StopStringsAcrossTokenBoundariesCutTheText) {
  const auto base = llm_->generate({Prompt::from_text("Once upon a time")}, {greedy(40)});
  const std::string full = base[0].outputs[0].text;
  ASSERT_GT(full.size(), 12u) << "dummy weights gave too little text to cut: '" << full << "'";
  // A stop string from the middle of the text, on UTF-8 character boundaries.
  size_t from = full.size() / 2;
  while (from < full.size() && (static_cast<unsigned char>(full[from]) & 0xC0) == 0x80) ++from;
  size_t to = std::min(full.size(), from + 4);
  while (to < full.size() && (static_cast<unsigned char>(full[to]) & 0xC0) == 0x80) ++to;
  const std::string stop = full.substr(from, to - from);
  ASSERT_FALSE(stop.empty());
  const size_t at = full.find(stop);

  SamplingParams cut = greedy(40);
  cut.stop = {stop};
  SamplingParams keep = cut;
  keep.include_stop_str_in_output = true;
  std::map<std::string, std::string> streamed;
  const auto results =
      llm_->generate({Prompt::from_text("Once upon a time"), Prompt::from_text("Once upon a time")},
                     {cut, keep}, [&](const RequestOutput& d) {
                       for (const auto& c : d.outputs) streamed[d.request_id] += c.text;
                     });
  const CompletionOutput& a = results[0].outputs[0];
  EXPECT_EQ(a.text, full.substr(0, at)) << "stop string '" << stop << "'";
  EXPECT_EQ(a.finish_reason, "stop");
  EXPECT_EQ(a.stop_string, stop);
  EXPECT_LT(a.token_ids.size(), 40u);
  const CompletionOutput& b = results[1].outputs[0];
  EXPECT_EQ(b.text, full.substr(0, at + stop.size()));
  // Held-back text never leaks: what was streamed is exactly the final text.
  EXPECT_EQ(streamed[results[0].request_id], a.text);
  EXPECT_EQ(streamed[results[1].request_id], b.text);
}

TEST_F(EngineText, ChatRendersTheTemplateAndEncodesWithoutExtraSpecialTokens) {
  const auto tokenizer = llm_->engine().tokenizer();
  const nlohmann::ordered_json messages =
      nlohmann::ordered_json::array({{{"role", "system"}, {"content", "You are terse."}},
                                     {{"role", "user"}, {"content", "Hi!"}}});
  const auto results = llm_->chat({messages}, {greedy(8)});
  const std::string rendered = ChatFormatter(tokenizer).render(messages);
  EXPECT_NE(rendered.find("<|start_header_id|>user<|end_header_id|>\n\nHi!<|eot_id|>"),
            std::string::npos)
      << rendered;
  const std::string generation_prompt = "<|start_header_id|>assistant<|end_header_id|>\n\n";
  EXPECT_EQ(rendered.substr(rendered.size() - generation_prompt.size()), generation_prompt);
  EXPECT_EQ(results[0].prompt_token_ids, tokenizer->encode(rendered, false));
  EXPECT_EQ(results[0].prompt_token_ids.front(), 128000) << "one BOS, from the template";
  EXPECT_NE(results[0].prompt_token_ids.at(1), 128000);
  EXPECT_EQ(results[0].outputs[0].token_ids.size(), 8u);
}

TEST_F(EngineText, ChatErrorsNameTheProblem) {
  ChatFormatter formatter(llm_->engine().tokenizer());
  EXPECT_THROW(formatter.render(nlohmann::ordered_json::array()), Error);
  EXPECT_THROW(formatter.render(nlohmann::ordered_json::array({{{"content", "no role"}}})), Error);
  ChatOptions options;
  options.chat_template = "{{ raise_exception('custom template refuses') }}";
  try {
    formatter.render(nlohmann::ordered_json::array({{{"role", "user"}, {"content", "x"}}}),
                     options);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("custom template refuses"), std::string::npos) << e.what();
  }
}

}  // namespace
