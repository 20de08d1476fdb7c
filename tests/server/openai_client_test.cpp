// The official OpenAI client (the npm `openai` package from the test data) against the server:
// tests/server/openai_client_test.mjs runs completions, chat, streaming, n, stop strings and
// logprobs and compares them with the offline engine's outputs written here.
#include <gtest/gtest.h>
#include <unistd.h>

#include <array>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "common/test_data.h"
#include "server_fixture.h"

using namespace pagoda;
using namespace pagoda::testing;
using nlohmann::json;

namespace {

TEST(OpenAIClient, OfficialNodeClientGetsTheOfflineEngineOutputs) {
  const auto package = require_test_data("openai/package");
  ASSERT_TRUE(std::filesystem::exists(package / "index.mjs"));
  const int port = test_server().port;

  const std::string prompt = "And it came to pass, when";
  const int max_tokens = 20;
  const auto completion = offline_llm().generate({Prompt::from_text(prompt)}, {greedy_params(max_tokens)})[0];
  const std::string text = completion.outputs[0].text;
  const std::string stop = text.substr(8, 4);
  SamplingParams lp = greedy_params(5);
  lp.logprobs = 2;
  const auto with_logprobs = offline_llm().generate({Prompt::from_text(prompt)}, {lp})[0];
  json logprobs = json::array();
  for (const auto& position : with_logprobs.outputs[0].logprobs) logprobs.push_back(position[0].logprob);
  ChatOptions options;
  options.chat_template = kTestChatTemplate;
  const std::string user = "Who begat Enoch?";
  const auto chat = offline_llm().chat({nlohmann::ordered_json::array({{{"role", "user"}, {"content", user}}})},
                                       {greedy_params(max_tokens)}, options)[0];

  const json expected = {{"prompt", prompt},
                         {"max_tokens", max_tokens},
                         {"completion", text},
                         {"stop", stop},
                         {"completion_before_stop", text.substr(0, text.find(stop))},
                         {"logprobs", logprobs},
                         {"chat_user", user},
                         {"chat", chat.outputs[0].text}};
  const auto path = std::filesystem::temp_directory_path() /
                    ("pagoda_openai_expected_" + std::to_string(getpid()) + ".json");
  std::ofstream(path) << expected.dump();

  const std::string command = "node " + std::string(PAGODA_SOURCE_DIR) +
                              "/tests/server/openai_client_test.mjs " + package.string() +
                              " http://127.0.0.1:" + std::to_string(port) + "/v1 " +
                              path.string() + " 2>&1";
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  std::array<char, 4096> buf{};
  size_t n;
  while ((n = fread(buf.data(), 1, buf.size(), pipe)) > 0) out.append(buf.data(), n);
  const int status = pclose(pipe);
  std::filesystem::remove(path);
  EXPECT_EQ(status, 0) << out;
  EXPECT_EQ(out.find("FAIL"), std::string::npos) << out;
  EXPECT_NE(out.find("ok   streamed chat content"), std::string::npos) << out;
}

}  // namespace
