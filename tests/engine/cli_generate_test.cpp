// `pagoda generate` as a user runs it: token-id prompts in, JSON out, equal to transformers' greedy
// continuations; and bad input ends with a clear error and exit status 1, not a crash.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>

#include "pagoda/safetensors.h"

namespace {

struct RunResult {
  int status;
  std::string out;
};

// Runs the CLI; stderr (logs, the summary line) is kept only when asked.
RunResult run(const std::string& args, bool with_stderr = true) {
  const std::string command =
      std::string(PAGODA_CLI) + " " + args + (with_stderr ? " 2>&1" : " 2>/dev/null");
  FILE* pipe = popen(command.c_str(), "r");
  if (!pipe) return {-1, ""};
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, out};
}

std::string fixture(const std::string& name) {
  return (std::filesystem::path(PAGODA_FIXTURES_DIR) / "hf" / name).string();
}

std::string ids_arg(const pagoda::Tensor& ids) {
  std::string s;
  for (int64_t i = 0; i < ids.numel(); ++i) {
    if (i) s.push_back(',');
    s.append(std::to_string(ids.data_as<int64_t>()[i]));
  }
  return s;
}

TEST(CliGenerate, JsonOutputOfABatchEqualsTransformersGreedy) {
  const pagoda::SafetensorsFile expected(std::filesystem::path(fixture("llama")) /
                                         "expected.safetensors");
  std::string prompts;
  for (int p = 0; p < 4; ++p)
    prompts += " --prompt-token-ids " +
               ids_arg(expected.get("prompt." + std::to_string(p) + ".input_ids"));
  const RunResult r =
      run("generate " + fixture("llama") +
              " --skip-tokenizer-init --dtype float32 --max-model-len 60 --num-kv-blocks 64"
              " --temperature 0 --max-tokens 16 --ignore-eos --logprobs 2 --output json" +
              prompts,
          /*with_stderr=*/false);
  ASSERT_EQ(r.status, 0) << r.out;
  const nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 4u);
  for (int p = 0; p < 4; ++p) {
    const pagoda::Tensor want = expected.get("prompt." + std::to_string(p) + ".greedy");
    const auto& out = j[static_cast<size_t>(p)]["outputs"][0];
    std::vector<int64_t> got = out["token_ids"];
    EXPECT_EQ(
        got, std::vector<int64_t>(want.data_as<int64_t>(), want.data_as<int64_t>() + want.numel()));
    EXPECT_EQ(out["finish_reason"], "length");
    ASSERT_EQ(out["logprobs"].size(), 16u);
    EXPECT_EQ(out["logprobs"][0].size(), 3u);  // chosen + top 2
  }
}

TEST(CliGenerate, BadInputIsAClearErrorWithExitStatus1) {
  RunResult r =
      run("generate " + fixture("llama") + " --skip-tokenizer-init --prompt-token-ids 1,x");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("'x' is not a token id"), std::string::npos) << r.out;
  r = run("generate " + fixture("llama") +
          " --skip-tokenizer-init --max-model-len 60 --num-kv-blocks 64 "
          "--prompt-token-ids 1,2 --top-p 0");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("top_p"), std::string::npos) << r.out;
  r = run("generate /nonexistent/model --prompt hi");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("/nonexistent/model"), std::string::npos) << r.out;
  r = run("generate " + fixture("llama") + " --prompt hi");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("--skip-tokenizer-init"), std::string::npos) << r.out;
}

// The README's main job: no MODEL runs the shipped default model, whose greedy text equals
// transformers' (tests/fixtures/default_model); PAGODA_DEFAULT_MODEL pointing nowhere is an error.
TEST(CliGenerate, WithoutAModelRunsTheDefaultModel) {
  std::ifstream in(std::filesystem::path(PAGODA_FIXTURES_DIR) / "default_model/greedy.json");
  const auto fixture = nlohmann::json::parse(in);
  const auto& first = fixture["cases"][0];
  const std::string prompt = first["prompt"];
  RunResult r = run("generate --prompt '" + prompt + "' --temperature 0 --dtype float32 --max-tokens " +
                        std::to_string(fixture["max_new_tokens"].get<int>()),
                    /*with_stderr=*/false);
  EXPECT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find(first["output_text"].get<std::string>()), std::string::npos) << r.out;

  setenv("PAGODA_DEFAULT_MODEL", "/nonexistent/dir", 1);  // inherited by the child
  r = run("generate --prompt hi");
  unsetenv("PAGODA_DEFAULT_MODEL");
  EXPECT_EQ(r.status, 1) << r.out;
  EXPECT_NE(r.out.find("PAGODA_DEFAULT_MODEL"), std::string::npos) << r.out;
}

}  // namespace
