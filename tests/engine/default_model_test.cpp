// The shipped default model (models/kjv-llama, trained by tools/default_model) through the whole
// engine, text in and text out, against transformers' greedy continuations of the same prompts
// (tests/fixtures/default_model/greedy.json, written by tools/default_model/make_fixture.py).
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "common/logprobs_close.h"
#include "pagoda/engine.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

const std::filesystem::path kModelDir = std::filesystem::path(PAGODA_SOURCE_DIR) / "models/kjv-llama";

nlohmann::json load_fixture() {
  std::ifstream in(std::filesystem::path(PAGODA_FIXTURES_DIR) / "default_model/greedy.json");
  return nlohmann::json::parse(in);
}

EngineArgs args_with_dtype(const std::string& dtype) {
  EngineArgs args;
  args.model = kModelDir.string();
  args.dtype = dtype;
  args.num_kv_blocks = 128;
  return args;
}

SamplingParams greedy(int64_t max_tokens, int64_t logprobs = 0) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  if (logprobs > 0) p.logprobs = logprobs;
  return p;
}

std::vector<Prompt> text_prompts(const nlohmann::json& fixture) {
  std::vector<Prompt> prompts;
  for (const auto& c : fixture["cases"]) prompts.push_back(Prompt::from_text(c["prompt"]));
  return prompts;
}

TEST(DefaultModel, Float32GreedyEqualsTransformersTextInTextOut) {
  const nlohmann::json fixture = load_fixture();
  ASSERT_GE(fixture["cases"].size(), 8u);
  LLM llm(args_with_dtype("float32"));
  const auto results = llm.generate(text_prompts(fixture), {greedy(fixture["max_new_tokens"])});
  ASSERT_EQ(results.size(), fixture["cases"].size());
  for (size_t i = 0; i < results.size(); ++i) {
    const auto& c = fixture["cases"][i];
    const std::string prompt = c["prompt"];
    EXPECT_EQ(results[i].prompt_token_ids, c["prompt_token_ids"].get<std::vector<int32_t>>())
        << prompt;
    const CompletionOutput& out = results[i].outputs.at(0);
    EXPECT_EQ(out.token_ids, c["output_token_ids"].get<std::vector<int32_t>>()) << prompt;
    EXPECT_EQ(out.text, c["output_text"].get<std::string>()) << prompt;
    EXPECT_EQ(out.finish_reason, "length");
  }
}

// In bf16 (the checkpoint's dtype, what `pagoda generate` runs by default) rounding may change a
// near-tie, so the check is vLLM's check_logprobs_close: up to the first divergence the tokens are
// equal, and there transformers' token is among Pagoda's top 5.
TEST(DefaultModel, Bfloat16GreedyIsCloseToTransformers) {
  const nlohmann::json fixture = load_fixture();
  LLM llm(args_with_dtype("bfloat16"));
  const auto results =
      llm.generate(text_prompts(fixture), {greedy(fixture["max_new_tokens"], /*logprobs=*/5)});
  int identical = 0;
  for (size_t i = 0; i < results.size(); ++i) {
    const auto expected = fixture["cases"][i]["output_token_ids"].get<std::vector<int32_t>>();
    const CompletionOutput& out = results[i].outputs.at(0);
    if (expect_logprobs_close(out, expected, fixture["cases"][i]["prompt"].get<std::string>()))
      ++identical;
  }
  // Most continuations should not diverge at all; a wholesale failure is a bug, not rounding.
  EXPECT_GE(identical, static_cast<int>(results.size()) / 2);
}

}  // namespace
