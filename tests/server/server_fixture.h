// One server for the whole test binary: the shipped default model (models/kjv-llama, real
// tokenizer, peaked logits) in float32 behind an OpenAIServer on a free port, plus an offline LLM
// on the same engine arguments for the expected outputs, and small HTTP helpers.
#pragma once

#include <httplib.h>

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "pagoda/async_engine.h"
#include "pagoda/engine.h"
#include "server/openai_server.h"

namespace pagoda::testing {

// The chat template the tests serve with (the default model has none of its own).
inline const char* kTestChatTemplate =
    "{% for m in messages %}{{ m['role'] }}: {{ m['content'] }}\n{% endfor %}"
    "{% if add_generation_prompt %}assistant:{% endif %}";

EngineArgs server_test_engine_args();

struct TestServer {
  std::unique_ptr<AsyncEngine> engine;
  std::unique_ptr<server::OpenAIServer> server;
  std::thread thread;
  int port = 0;
  ~TestServer();
};

// Started on first use, stopped at exit.
TestServer& test_server(const std::string& api_key = "");
// The offline engine with the same arguments (for expected outputs).
LLM& offline_llm();

struct HttpResult {
  int status = 0;  // 0: no response (connection failed)
  std::string body;
  nlohmann::json json() const { return nlohmann::json::parse(body); }
};

HttpResult http_post(int port, const std::string& path, const std::string& body,
                     const httplib::Headers& headers = {});
HttpResult http_get(int port, const std::string& path);
// The JSON payloads of an SSE body; fails the test if it does not end with "data: [DONE]".
std::vector<nlohmann::json> sse_events(const std::string& body);

// Greedy sampling of `max_tokens`, as the server builds it from a request with temperature 0.
SamplingParams greedy_params(int64_t max_tokens);

}  // namespace pagoda::testing
