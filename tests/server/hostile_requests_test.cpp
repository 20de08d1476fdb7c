// Malformed and hostile requests: each is answered with the expected status and an OpenAI error
// body whose message names the problem, and the server serves a normal request right after.
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <thread>

#include "server_fixture.h"

using namespace pagoda::testing;
using nlohmann::json;

namespace {

struct Hostile {
  std::string name;
  std::string path;
  std::string body;
  int status;
  std::string message_part;  // must appear in error.message
};

std::vector<Hostile> corpus() {
  const std::string c = "/v1/completions", ch = "/v1/chat/completions";
  const std::string msgs = R"("messages": [{"role": "user", "content": "Hi"}])";
  std::vector<Hostile> v = {
      // Not JSON, or not an object.
      {"empty body", c, "", 400, "not valid JSON"},
      {"truncated JSON", c, R"({"prompt": "Hi", "max_tokens": )", 400, "not valid JSON"},
      {"trailing garbage", c, R"({"prompt": "Hi"} xyz)", 400, "not valid JSON"},
      {"single quotes", c, R"({'prompt': 'Hi'})", 400, "not valid JSON"},
      {"JSON array body", c, R"(["prompt", "Hi"])", 422, "must be a JSON object"},
      {"JSON string body", c, R"("Hi")", 422, "must be a JSON object"},
      {"JSON null body", c, "null", 422, "must be a JSON object"},
      {"invalid UTF-8 in a string", c, "{\"prompt\": \"\xff\xfe\"}", 400, "not valid JSON"},
      {"lone surrogate escape", c, R"({"prompt": "\ud800"})", 400, "not valid JSON"},
      // Missing or mistyped required fields.
      {"missing prompt", c, R"({"max_tokens": 5})", 422, "'prompt' is required"},
      {"null prompt", c, R"({"prompt": null})", 422, "'prompt' is required"},
      {"numeric prompt", c, R"({"prompt": 5})", 422, "'prompt' must be"},
      {"object prompt", c, R"({"prompt": {"text": "Hi"}})", 422, "'prompt' must be"},
      {"empty prompt", c, R"({"prompt": ""})", 400, "empty string"},
      {"empty prompt list", c, R"({"prompt": []})", 400, "empty list"},
      {"token id out of vocab", c, R"({"prompt": [1, 2, 999999]})", 400, "outside the vocabulary"},
      {"negative token id", c, R"({"prompt": [1, -5]})", 400, "outside the vocabulary"},
      {"mixed prompt list", c, R"({"prompt": ["Hi", 5]})", 422, "'prompt' must be"},
      {"missing messages", ch, R"({"model": "kjv"})", 422, "'messages' is required"},
      {"messages not a list", ch, R"({"messages": "Hi"})", 422, "'messages' must be a list"},
      {"empty messages", ch, R"({"messages": []})", 400, "'messages' is empty"},
      {"message not an object", ch, R"({"messages": ["Hi"]})", 422, "must be an object"},
      {"message without role", ch, R"({"messages": [{"content": "Hi"}]})", 422, "role is required"},
      {"unknown role", ch, R"({"messages": [{"role": "wizard", "content": "Hi"}]})", 400,
       "expected system"},
      {"message without content", ch, R"({"messages": [{"role": "user"}]})", 422,
       "content is required"},
      {"numeric content", ch, R"({"messages": [{"role": "user", "content": 5}]})", 422,
       "must be a string or a list"},
      {"image content part", ch,
       R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "x"}}]}]})",
       400, "text only"},
      // Wrong types of optional fields.
      {"string max_tokens", c, R"({"prompt": "Hi", "max_tokens": "10"})", 422,
       "'max_tokens' must be an integer"},
      {"fractional max_tokens", c, R"({"prompt": "Hi", "max_tokens": 2.5})", 422,
       "'max_tokens' must be an integer"},
      {"string temperature", c, R"({"prompt": "Hi", "temperature": "hot"})", 422,
       "'temperature' must be a number"},
      {"boolean top_p", c, R"({"prompt": "Hi", "top_p": true})", 422, "'top_p' must be a number"},
      {"string stream", c, R"({"prompt": "Hi", "stream": "yes"})", 422, "'stream' must be true"},
      {"numeric stop", c, R"({"prompt": "Hi", "stop": 5})", 422, "'stop' must be a string"},
      {"stop list with a number", c, R"({"prompt": "Hi", "stop": ["a", 1]})", 422,
       "'stop' must be a string"},
      {"logit_bias not an object", c, R"({"prompt": "Hi", "logit_bias": [1]})", 422,
       "'logit_bias' must be an object"},
      {"logit_bias bad key", c, R"({"prompt": "Hi", "logit_bias": {"abc": 1}})", 400,
       "not a token id"},
      {"logit_bias id out of vocab", c, R"({"prompt": "Hi", "logit_bias": {"9999999": 1}})", 400,
       "outside the vocabulary"},
      {"logit_bias string value", c, R"({"prompt": "Hi", "logit_bias": {"5": "up"}})", 422,
       "must be a number"},
      {"stream_options without stream", c,
       R"({"prompt": "Hi", "stream_options": {"include_usage": true}})", 400, "only allowed"},
      {"numeric model", c, R"({"prompt": "Hi", "model": 7})", 422, "'model' must be a string"},
      // Values out of range.
      {"negative max_tokens", c, R"({"prompt": "Hi", "max_tokens": -1})", 400, "'max_tokens' is -1"},
      {"zero max_tokens", c, R"({"prompt": "Hi", "max_tokens": 0})", 400, "at least 1 token"},
      {"huge max_tokens", c, R"({"prompt": "Hi", "max_tokens": 1000000000})", 400,
       "maximum context length is 512"},
      {"max_tokens beyond int64", c, R"({"prompt": "Hi", "max_tokens": 99999999999999999999})",
       422, "'max_tokens' must be an integer"},
      {"negative temperature", c, R"({"prompt": "Hi", "temperature": -0.5})", 400,
       "'temperature' is -0.5"},
      {"top_p zero", c, R"({"prompt": "Hi", "top_p": 0})", 400, "'top_p' must be in (0, 1]"},
      {"top_p above one", c, R"({"prompt": "Hi", "top_p": 1.5})", 400, "'top_p' is 1.5"},
      {"top_k below -1", c, R"({"prompt": "Hi", "top_k": -7})", 400, "'top_k' is -7"},
      {"min_p above one", c, R"({"prompt": "Hi", "min_p": 2})", 400, "'min_p' is 2"},
      {"presence_penalty out of range", c, R"({"prompt": "Hi", "presence_penalty": 5})", 400,
       "'presence_penalty' is 5"},
      {"frequency_penalty out of range", c, R"({"prompt": "Hi", "frequency_penalty": -3})", 400,
       "'frequency_penalty' is -3"},
      {"repetition_penalty zero", c, R"({"prompt": "Hi", "repetition_penalty": 0})", 400,
       "'repetition_penalty' is 0"},
      {"n zero", c, R"({"prompt": "Hi", "n": 0})", 400, "'n' is 0"},
      {"n above the server limit", c, R"({"prompt": "Hi", "n": 1000})", 400, "'n' is 1000"},
      {"logprobs above the limit", c, R"({"prompt": "Hi", "logprobs": 50})", 400,
       "'logprobs' is 50"},
      {"top_logprobs without logprobs", ch, "{" + msgs + R"(, "top_logprobs": 3})", 400,
       "needs 'logprobs'"},
      {"empty stop string", c, R"({"prompt": "Hi", "stop": [""]})", 400, "empty string"},
      {"too many stop strings", c,
       R"({"prompt": "Hi", "stop": ["a","b","c","d","e","f","g","h","i","j","k","l","m","n","o","p","q"]})",
       400, "at most 16"},
      {"negative min_tokens", c, R"({"prompt": "Hi", "min_tokens": -2})", 400, "'min_tokens' is -2"},
      {"min_tokens above max_tokens", c, R"({"prompt": "Hi", "max_tokens": 2, "min_tokens": 5})",
       400, "min_tokens"},
      {"stop token id out of vocab", c, R"({"prompt": "Hi", "stop_token_ids": [99999999]})", 400,
       "outside the vocabulary"},
      {"best_of", c, R"({"prompt": "Hi", "n": 1, "best_of": 3})", 400, "best_of"},
      {"suffix", c, R"({"prompt": "Hi", "suffix": "end"})", 400, "suffix"},
      {"NaN-like temperature", c, R"({"prompt": "Hi", "temperature": 1e999})", 400,
       "not valid JSON"},
      // Unknown model and routes.
      {"unknown model", c, R"({"prompt": "Hi", "model": "gpt-4"})", 404, "`gpt-4` does not exist"},
      {"unknown chat model", ch, R"({"model": "nope", )" + msgs + "}", 404, "does not exist"},
      {"unknown route", "/v1/engines/foo", R"({})", 404, "no route"},
      {"tokenize without prompt", "/tokenize", R"({})", 422, "is required"},
      {"detokenize bad ids", "/detokenize", R"({"tokens": [1, 1e9]})", 422, "must hold integers"},
      {"detokenize out of vocab", "/detokenize", R"({"tokens": [99999999]})", 400,
       "outside the vocabulary"},
      // Too long.
      {"prompt longer than the context", c,
       json{{"prompt", [] {
               std::string s;
               for (int i = 0; i < 90; ++i) s += "In the beginning God created the heaven. ";
               return s;
             }()},
            {"max_tokens", 1}}
           .dump(),
       400,
       "maximum context length"},
      {"oversized body", c, json{{"prompt", std::string(2 << 20, 'x')}}.dump(), 413,
       "over the server's limit"},
  };
  return v;
}

void expect_server_still_serves(int port) {
  const auto ok = http_post(port, "/v1/completions",
                            json{{"prompt", "In the beginning"}, {"max_tokens", 2}}.dump());
  ASSERT_EQ(ok.status, 200) << ok.body;
}

TEST(HostileRequests, EachGetsItsStatusAndAClearMessage) {
  const int port = test_server().port;
  const auto cases = corpus();
  ASSERT_GE(cases.size(), 50u);
  for (const Hostile& h : cases) {
    SCOPED_TRACE(h.name);
    const auto r = http_post(port, h.path, h.body);
    EXPECT_EQ(r.status, h.status) << r.body;
    json body;
    ASSERT_NO_THROW(body = json::parse(r.body)) << "not JSON: " << r.body;
    ASSERT_TRUE(body.contains("error")) << r.body;
    const json& e = body["error"];
    EXPECT_TRUE(e["message"].is_string());
    EXPECT_TRUE(e.contains("type") && e.contains("param") && e.contains("code")) << r.body;
    EXPECT_NE(e["message"].get<std::string>().find(h.message_part), std::string::npos)
        << "message: " << e["message"] << "\nexpected to contain: " << h.message_part;
  }
  expect_server_still_serves(port);
}

TEST(HostileRequests, WrongMethodAndGarbageRequestLine) {
  const int port = test_server().port;
  httplib::Client client("127.0.0.1", port);
  auto r = client.Get("/v1/completions");
  ASSERT_TRUE(r);
  EXPECT_TRUE(r->status == 404 || r->status == 405) << r->status;
  EXPECT_NE(r->body.find("error"), std::string::npos);
  expect_server_still_serves(port);
}

// A client that opens a connection and sends half a request, then nothing: it is dropped after
// the read timeout (2 s here) while other clients are served meanwhile.
TEST(HostileRequests, SlowClientIsDroppedWithoutBlockingOthers) {
  const int port = test_server().port;
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  ASSERT_GE(fd, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  const char partial[] = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{\"pro";
  ASSERT_GT(write(fd, partial, sizeof partial - 1), 0);
  expect_server_still_serves(port);  // while the slow client hangs
  const auto start = std::chrono::steady_clock::now();
  timeval tv{10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  char buf[512];
  ssize_t n;
  while ((n = read(fd, buf, sizeof buf)) > 0) {
  }
  const double waited =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  EXPECT_EQ(n, 0) << "the server should close the slow connection";
  EXPECT_LT(waited, 8.0);
  close(fd);
  expect_server_still_serves(port);
}

}  // namespace
