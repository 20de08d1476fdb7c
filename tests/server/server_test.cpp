// The OpenAI endpoints against the offline engine: the same prompts give the same greedy text,
// streamed or not; n, stop strings, logprobs, echo, usage; the side endpoints; /metrics read by
// an independent Prometheus parser (python3-prometheus-client).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "pagoda/tokenizer.h"
#include "server_fixture.h"

using namespace pagoda;
using namespace pagoda::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> kPrompts = {"In the beginning God", "And God said,",
                                           "Blessed are the", "The LORD is my shepherd;"};

std::string offline_text(const std::string& prompt, const SamplingParams& params) {
  return offline_llm().generate({Prompt::from_text(prompt)}, {params})[0].outputs[0].text;
}

TEST(Server, CompletionsEqualTheOfflineEngine) {
  const int port = test_server().port;
  for (const auto& prompt : kPrompts) {
    const auto r = http_post(port, "/v1/completions",
                             json{{"model", "kjv"}, {"prompt", prompt}, {"max_tokens", 24},
                                  {"temperature", 0}}
                                 .dump());
    ASSERT_EQ(r.status, 200) << r.body;
    const json body = r.json();
    EXPECT_EQ(body["object"], "text_completion");
    EXPECT_EQ(body["model"], "kjv");
    EXPECT_EQ(body["choices"][0]["text"], offline_text(prompt, greedy_params(24))) << prompt;
    EXPECT_EQ(body["choices"][0]["finish_reason"], "length");
    EXPECT_EQ(body["usage"]["completion_tokens"], 24);
    EXPECT_EQ(body["usage"]["prompt_tokens"],
              offline_llm().engine().tokenizer()->encode(prompt).size());
  }
}

TEST(Server, BatchedAndTokenIdPromptsGiveOneChoiceEach) {
  const int port = test_server().port;
  const auto ids = offline_llm().engine().tokenizer()->encode(kPrompts[1]);
  const auto r = http_post(
      port, "/v1/completions",
      json{{"prompt", json::array({kPrompts[0], kPrompts[2]})}, {"max_tokens", 8},
           {"temperature", 0}}
          .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json();
  ASSERT_EQ(body["choices"].size(), 2u);
  EXPECT_EQ(body["choices"][0]["index"], 0);
  EXPECT_EQ(body["choices"][1]["index"], 1);
  EXPECT_EQ(body["choices"][1]["text"], offline_text(kPrompts[2], greedy_params(8)));
  const auto t = http_post(port, "/v1/completions",
                           json{{"prompt", ids}, {"max_tokens", 8}, {"temperature", 0}}.dump());
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.json()["choices"][0]["text"], offline_text(kPrompts[1], greedy_params(8)));
}

TEST(Server, StreamedCompletionAddsUpToTheOfflineText) {
  const int port = test_server().port;
  const auto r = http_post(port, "/v1/completions",
                           json{{"prompt", kPrompts[0]},
                                {"max_tokens", 20},
                                {"temperature", 0},
                                {"stream", true},
                                {"stream_options", {{"include_usage", true}}}}
                               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const auto events = sse_events(r.body);
  ASSERT_GE(events.size(), 3u);
  std::string text;
  for (size_t i = 0; i + 1 < events.size(); ++i) text += events[i]["choices"][0]["text"];
  EXPECT_EQ(text, offline_text(kPrompts[0], greedy_params(20)));
  EXPECT_EQ(events[events.size() - 2]["choices"][0]["finish_reason"], "length");
  EXPECT_TRUE(events.back()["choices"].empty());
  EXPECT_EQ(events.back()["usage"]["completion_tokens"], 20);
}

TEST(Server, ChatEqualsTheOfflineChatStreamedOrNot) {
  const int port = test_server().port;
  const json messages = {{{"role", "system"}, {"content", "Speak as the Preacher."}},
                         {{"role", "user"}, {"content", "What profit hath a man?"}}};
  ChatOptions options;
  options.chat_template = kTestChatTemplate;
  const auto expected = offline_llm().chat({nlohmann::ordered_json::parse(messages.dump())},
                                           {greedy_params(24)}, options)[0];
  const auto r = http_post(
      port, "/v1/chat/completions",
      json{{"messages", messages}, {"max_completion_tokens", 24}, {"temperature", 0}}.dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json body = r.json();
  EXPECT_EQ(body["object"], "chat.completion");
  EXPECT_EQ(body["choices"][0]["message"]["role"], "assistant");
  EXPECT_EQ(body["choices"][0]["message"]["content"], expected.outputs[0].text);
  EXPECT_EQ(body["usage"]["prompt_tokens"], expected.prompt_token_ids.size());

  const auto s = http_post(port, "/v1/chat/completions",
                           json{{"messages", messages},
                                {"max_tokens", 24},
                                {"temperature", 0},
                                {"stream", true}}
                               .dump());
  ASSERT_EQ(s.status, 200) << s.body;
  const auto events = sse_events(s.body);
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0]["choices"][0]["delta"]["role"], "assistant");
  std::string text;
  for (const auto& e : events) {
    EXPECT_EQ(e["object"], "chat.completion.chunk");
    const json& delta = e["choices"][0]["delta"];
    if (delta.contains("content")) text += delta["content"].get<std::string>();
  }
  EXPECT_EQ(text, expected.outputs[0].text);
  EXPECT_EQ(events.back()["choices"][0]["finish_reason"], "length");
}

TEST(Server, NSeededSamplesStopStringsAndEcho) {
  const int port = test_server().port;
  // n = 3 with a seed: three choices, reproducible.
  const json request = {{"prompt", kPrompts[0]}, {"max_tokens", 12}, {"n", 3}, {"seed", 7},
                        {"temperature", 1.0}};
  const auto a = http_post(port, "/v1/completions", request.dump());
  const auto b = http_post(port, "/v1/completions", request.dump());
  ASSERT_EQ(a.status, 200) << a.body;
  ASSERT_EQ(a.json()["choices"].size(), 3u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(a.json()["choices"][i]["index"], i);
    EXPECT_EQ(a.json()["choices"][i]["text"], b.json()["choices"][i]["text"]);
  }
  EXPECT_EQ(a.json()["usage"]["completion_tokens"], 36);

  // A stop string from the greedy text ends the output just before it.
  const std::string full = offline_text(kPrompts[0], greedy_params(24));
  const std::string stop = full.substr(10, 5);
  const auto s = http_post(port, "/v1/completions",
                           json{{"prompt", kPrompts[0]}, {"max_tokens", 24}, {"temperature", 0},
                                {"stop", stop}}
                               .dump());
  ASSERT_EQ(s.status, 200) << s.body;
  EXPECT_EQ(s.json()["choices"][0]["text"], full.substr(0, full.find(stop)));
  EXPECT_EQ(s.json()["choices"][0]["finish_reason"], "stop");
  EXPECT_EQ(s.json()["choices"][0]["stop_reason"], stop);

  // echo puts the prompt in front; with max_tokens 0 the prompt is all there is.
  const auto e = http_post(port, "/v1/completions",
                           json{{"prompt", kPrompts[1]}, {"max_tokens", 5}, {"temperature", 0},
                                {"echo", true}}
                               .dump());
  ASSERT_EQ(e.status, 200) << e.body;
  EXPECT_EQ(e.json()["choices"][0]["text"], kPrompts[1] + offline_text(kPrompts[1], greedy_params(5)));
  const auto z = http_post(port, "/v1/completions",
                           json{{"prompt", kPrompts[1]}, {"max_tokens", 0}, {"echo", true}}.dump());
  ASSERT_EQ(z.status, 200) << z.body;
  EXPECT_EQ(z.json()["choices"][0]["text"], kPrompts[1]);
  EXPECT_EQ(z.json()["usage"]["completion_tokens"], 0);
}

TEST(Server, LogprobsInEachEndpointsFormat) {
  const int port = test_server().port;
  SamplingParams p = greedy_params(6);
  p.logprobs = 3;
  const auto expected = offline_llm().generate({Prompt::from_text(kPrompts[2])}, {p})[0];
  const auto r = http_post(port, "/v1/completions",
                           json{{"prompt", kPrompts[2]}, {"max_tokens", 6}, {"temperature", 0},
                                {"logprobs", 3}}
                               .dump());
  ASSERT_EQ(r.status, 200) << r.body;
  const json lp = r.json()["choices"][0]["logprobs"];
  ASSERT_EQ(lp["tokens"].size(), 6u);
  ASSERT_EQ(lp["token_logprobs"].size(), 6u);
  ASSERT_EQ(lp["top_logprobs"].size(), 6u);
  for (size_t i = 0; i < 6; ++i) {
    EXPECT_NEAR(lp["token_logprobs"][i].get<double>(), expected.outputs[0].logprobs[i][0].logprob,
                1e-4);
    EXPECT_GE(lp["top_logprobs"][i].size(), 3u);
    EXPECT_LE(lp["token_logprobs"][i].get<double>(), 0.0);
  }
  // Text offsets advance by each token's text.
  EXPECT_EQ(lp["text_offset"][1].get<int64_t>() - lp["text_offset"][0].get<int64_t>(),
            static_cast<int64_t>(lp["tokens"][0].get<std::string>().size()));

  const auto c = http_post(
      port, "/v1/chat/completions",
      json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}}, {"max_tokens", 4},
           {"temperature", 0}, {"logprobs", true}, {"top_logprobs", 2}}
          .dump());
  ASSERT_EQ(c.status, 200) << c.body;
  const json content = c.json()["choices"][0]["logprobs"]["content"];
  ASSERT_EQ(content.size(), 4u);
  for (const auto& t : content) {
    EXPECT_EQ(t["top_logprobs"].size(), 2u);
    EXPECT_TRUE(t["bytes"].is_array());
    EXPECT_LE(t["logprob"].get<double>(), 0.0);
  }
}

TEST(Server, ModelsHealthVersionTokenize) {
  const int port = test_server().port;
  const auto m = http_get(port, "/v1/models");
  ASSERT_EQ(m.status, 200);
  EXPECT_EQ(m.json()["data"][0]["id"], "kjv");
  EXPECT_EQ(m.json()["data"][1]["id"], "default");
  EXPECT_EQ(m.json()["data"][0]["max_model_len"], 512);
  EXPECT_EQ(http_get(port, "/health").status, 200);
  EXPECT_TRUE(http_get(port, "/version").json().contains("version"));

  const auto ids = offline_llm().engine().tokenizer()->encode(kPrompts[3]);
  const auto t = http_post(port, "/tokenize", json{{"prompt", kPrompts[3]}}.dump());
  ASSERT_EQ(t.status, 200) << t.body;
  EXPECT_EQ(t.json()["tokens"].get<std::vector<int32_t>>(), ids);
  EXPECT_EQ(t.json()["count"], ids.size());
  const auto d = http_post(port, "/detokenize", json{{"tokens", ids}}.dump());
  ASSERT_EQ(d.status, 200) << d.body;
  EXPECT_EQ(d.json()["prompt"], "<s>" + kPrompts[3]);
  const auto chat = http_post(
      port, "/tokenize",
      json{{"messages", {{{"role", "user"}, {"content", "Hi"}}}}}.dump());
  ASSERT_EQ(chat.status, 200) << chat.body;
  EXPECT_EQ(chat.json()["tokens"].get<std::vector<int32_t>>(),
            offline_llm().engine().tokenizer()->encode("user: Hi\nassistant:", false));
}

TEST(Server, ApiKeyIsRequiredOnV1RoutesWhenSet) {
  const int port = test_server("secret").port;
  const std::string body = json{{"prompt", "Hi"}, {"max_tokens", 2}}.dump();
  auto r = http_post(port, "/v1/completions", body);
  EXPECT_EQ(r.status, 401) << r.body;
  EXPECT_EQ(r.json()["error"]["code"], "invalid_api_key");
  r = http_post(port, "/v1/completions", body, {{"Authorization", "Bearer wrong"}});
  EXPECT_EQ(r.status, 401);
  r = http_post(port, "/v1/completions", body, {{"Authorization", "Bearer secret"}});
  EXPECT_EQ(r.status, 200) << r.body;
  EXPECT_EQ(http_get(port, "/health").status, 200) << "only /v1 routes need the key";
}

// /metrics through python3-prometheus-client's text parser: every family parses, and the
// counters agree with what this test sent.
TEST(Server, MetricsParseAsPrometheusText) {
  const int port = test_server().port;
  ASSERT_EQ(http_post(port, "/v1/completions",
                      json{{"prompt", "In the"}, {"max_tokens", 3}, {"temperature", 0}}.dump())
                .status,
            200);
  const auto m = http_get(port, "/metrics");
  ASSERT_EQ(m.status, 200);
  const auto dir = std::filesystem::temp_directory_path();
  const auto text_path = dir / ("pagoda_metrics_" + std::to_string(getpid()) + ".txt");
  std::ofstream(text_path) << m.body;
  const std::string command =
      // Debian's python3, where python3-prometheus-client is installed (another python3 may come
      // first on PATH).
      "/usr/bin/python3 -c \"import json, sys\n"
      "from prometheus_client.parser import text_string_to_metric_families\n"
      "out = {}\n"
      "for fam in text_string_to_metric_families(open(sys.argv[1]).read()):\n"
      "    for s in fam.samples:\n"
      "        out[s.name + ('{' + ','.join(k + '=' + v for k, v in sorted(s.labels.items()) if k != 'model_name') + '}')] = s.value\n"
      "    out['#type:' + fam.name] = fam.type\n"
      "print(json.dumps(out))\" " +
      text_path.string();
  FILE* pipe = popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, pipe)) > 0) out.append(buf, n);
  ASSERT_EQ(pclose(pipe), 0) << "the Prometheus parser rejected /metrics:\n" << m.body;
  std::filesystem::remove(text_path);
  const json parsed = json::parse(out);
  EXPECT_EQ(parsed["#type:pagoda:time_to_first_token_seconds"], "histogram");
  EXPECT_EQ(parsed["#type:pagoda:prompt_tokens"], "counter");
  EXPECT_EQ(parsed["#type:pagoda:kv_cache_usage_perc"], "gauge");
  EXPECT_GE(parsed["pagoda:time_to_first_token_seconds_count{}"].get<double>(), 1.0);
  EXPECT_GE(parsed["pagoda:generation_tokens_total{}"].get<double>(), 3.0);
  EXPECT_GE(parsed["pagoda:http_requests_total{status=200}"].get<double>(), 1.0);
  EXPECT_EQ(parsed["pagoda:kv_cache_blocks_total{}"].get<double>(), 1023.0);
  EXPECT_TRUE(parsed.contains("pagoda:prefix_cache_hit_rate{}"));
  EXPECT_TRUE(parsed.contains("pagoda:num_requests_waiting{}"));
  EXPECT_TRUE(parsed.contains("pagoda:inter_token_latency_seconds_bucket{le=+Inf}"));
}

}  // namespace
