#include "server_fixture.h"

#include <gtest/gtest.h>

#include <filesystem>

namespace pagoda::testing {

EngineArgs server_test_engine_args() {
  EngineArgs args;
  args.model = (std::filesystem::path(PAGODA_SOURCE_DIR) / "models/kjv-llama").string();
  args.dtype = "float32";
  args.num_kv_blocks = 1024;
  return args;
}

TestServer::~TestServer() {
  if (server) server->stop();
  if (thread.joinable()) thread.join();
}

namespace {
std::map<std::string, std::unique_ptr<TestServer>>& servers() {
  static std::map<std::string, std::unique_ptr<TestServer>> s;
  return s;
}
}  // namespace

TestServer& test_server(const std::string& api_key) {
  auto& slot = servers()[api_key];
  if (!slot) {
    slot = std::make_unique<TestServer>();
    // Servers with different keys share the first one's engine.
    auto& first = servers().begin()->second;
    if (first.get() == slot.get() || !first->engine)
      slot->engine = std::make_unique<AsyncEngine>(server_test_engine_args());
    AsyncEngine& engine = slot->engine ? *slot->engine : *first->engine;
    server::ServerConfig config;
    config.port = 0;
    config.api_key = api_key;
    config.served_model_names = {"kjv", "default"};
    config.chat_template = kTestChatTemplate;
    config.read_timeout_seconds = 2;
    config.max_request_body_bytes = 1 << 20;
    config.max_n = 8;
    slot->server = std::make_unique<server::OpenAIServer>(engine, config);
    slot->port = slot->server->bind();
    slot->thread = std::thread([s = slot.get()] { s->server->serve(); });
  }
  return *slot;
}

LLM& offline_llm() {
  static LLM llm(server_test_engine_args());
  return llm;
}

HttpResult http_post(int port, const std::string& path, const std::string& body,
                     const httplib::Headers& headers) {
  httplib::Client client("127.0.0.1", port);
  client.set_read_timeout(120, 0);
  auto res = client.Post(path, headers, body, "application/json");
  if (!res) return {};
  return {res->status, res->body};
}

HttpResult http_get(int port, const std::string& path) {
  httplib::Client client("127.0.0.1", port);
  auto res = client.Get(path);
  if (!res) return {};
  return {res->status, res->body};
}

std::vector<nlohmann::json> sse_events(const std::string& body) {
  std::vector<nlohmann::json> events;
  bool done = false;
  size_t pos = 0;
  while (pos < body.size()) {
    size_t end = body.find("\n\n", pos);
    if (end == std::string::npos) end = body.size();
    const std::string event = body.substr(pos, end - pos);
    pos = end + 2;
    if (event.empty() || event[0] == ':') continue;  // keep-alive comments
    EXPECT_EQ(event.rfind("data: ", 0), 0u) << "not an SSE data line: " << event;
    const std::string data = event.substr(6);
    EXPECT_FALSE(done) << "data after [DONE]: " << data;
    if (data == "[DONE]") {
      done = true;
      continue;
    }
    events.push_back(nlohmann::json::parse(data));
  }
  EXPECT_TRUE(done) << "the stream did not end with data: [DONE]";
  return events;
}

SamplingParams greedy_params(int64_t max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  return p;
}

}  // namespace pagoda::testing
