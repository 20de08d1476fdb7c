// Load: 1,000 requests at concurrency 64 (streaming and not, four lengths, eight prompts) all
// answered, each equal to the offline engine's greedy output; and 200 streams whose clients hang
// up mid-way leave every KV block free.
#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <mutex>
#include <thread>

#include "server_fixture.h"

using namespace pagoda;
using namespace pagoda::testing;
using nlohmann::json;

namespace {

const std::vector<std::string> kPrompts = {
    "In the beginning God",   "And God said,",        "Blessed are the",
    "The LORD is my shepherd;", "For God so loved the world,", "And it came to pass, when",
    "Now the serpent was",    "Thus saith the LORD"};
const std::vector<int64_t> kLengths = {4, 9, 17, 32};

TEST(ServerLoad, ThousandMixedRequestsAtConcurrency64EqualOfflineResults) {
  const int port = test_server().port;
  // Expected: every (prompt, length) pair, offline, in one batch.
  std::vector<Prompt> prompts;
  std::vector<SamplingParams> params;
  for (const auto& p : kPrompts)
    for (int64_t len : kLengths) {
      prompts.push_back(Prompt::from_text(p));
      params.push_back(greedy_params(len));
    }
  const auto offline = offline_llm().generate(prompts, params);
  const auto expected = [&](size_t prompt, size_t length) -> const CompletionOutput& {
    return offline[prompt * kLengths.size() + length].outputs[0];
  };

  constexpr int kRequests = 1000, kConcurrency = 64;
  std::atomic<int> next{0}, errors{0}, mismatches{0};
  std::mutex log_mutex;
  std::vector<std::string> failures;
  const auto fail = [&](std::string what) {
    std::lock_guard lock(log_mutex);
    if (failures.size() < 5) failures.push_back(std::move(what));
  };
  std::vector<std::thread> clients;
  for (int c = 0; c < kConcurrency; ++c)
    clients.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_read_timeout(300, 0);
      for (int i = next++; i < kRequests; i = next++) {
        const size_t prompt = static_cast<size_t>(i) % kPrompts.size();
        const size_t length = static_cast<size_t>(i / 8) % kLengths.size();
        const bool stream = i % 3 != 0;
        const json request = {{"prompt", kPrompts[prompt]},
                              {"max_tokens", kLengths[length]},
                              {"temperature", 0},
                              {"stream", stream}};
        auto res = client.Post("/v1/completions", request.dump(), "application/json");
        if (!res || res->status != 200) {
          ++errors;
          fail("request " + std::to_string(i) + ": " +
               (res ? std::to_string(res->status) + " " + res->body : "no response"));
          continue;
        }
        std::string text, finish;
        if (stream) {
          for (const json& e : sse_events(res->body)) {
            text += e["choices"][0]["text"].get<std::string>();
            if (!e["choices"][0]["finish_reason"].is_null())
              finish = e["choices"][0]["finish_reason"];
          }
        } else {
          const json body = json::parse(res->body);
          text = body["choices"][0]["text"];
          finish = body["choices"][0]["finish_reason"];
        }
        const CompletionOutput& want = expected(prompt, length);
        if (text != want.text || finish != want.finish_reason) {
          ++mismatches;
          fail("request " + std::to_string(i) + " got '" + text + "' (" + finish + "), expected '" +
               want.text + "' (" + want.finish_reason + ")");
        }
      }
    });
  for (auto& t : clients) t.join();
  for (const auto& f : failures) ADD_FAILURE() << f;
  EXPECT_EQ(errors, 0);
  EXPECT_EQ(mismatches, 0);
}

TEST(ServerLoad, TwoHundredStreamsAbortedMidWayFreeEveryBlock) {
  TestServer& server = test_server();
  const int port = server.port;
  constexpr int kStreams = 200;
  std::atomic<int> cut{0};
  std::vector<std::thread> clients;
  for (int i = 0; i < kStreams; ++i)
    clients.emplace_back([&, i] {
      httplib::Client client("127.0.0.1", port);
      httplib::Request req;
      req.method = "POST";
      req.path = "/v1/completions";
      req.headers = {{"Content-Type", "application/json"}};
      req.body = json{{"prompt", kPrompts[static_cast<size_t>(i) % kPrompts.size()]},
                      {"max_tokens", 400},
                      {"temperature", 0.8},
                      {"seed", i},
                      {"ignore_eos", true},
                      {"stream", true}}
                     .dump();
      int events = 0;
      req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
        for (size_t k = 0; k + 5 < n; ++k)
          if (std::string_view(data + k, 6) == "data: ") ++events;
        // Hang up after a few tokens: the request is still far from its 400.
        if (events >= 3) {
          ++cut;
          return false;
        }
        return true;
      };
      client.send(req);
    });
  for (auto& t : clients) t.join();
  EXPECT_EQ(cut, kStreams) << "every client saw tokens before hanging up";
  AsyncEngine& engine = *server.engine;
  ASSERT_TRUE(engine.wait_until_idle(60)) << engine.num_live_requests() << " requests still live";
  // The loop publishes stats after each step; one more step may be needed for the last abort.
  EngineStats stats = engine.stats();
  for (int i = 0; i < 100 && stats.num_free_kv_blocks != stats.num_kv_blocks; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    stats = engine.stats();
  }
  EXPECT_EQ(stats.num_running, 0);
  EXPECT_EQ(stats.num_waiting, 0);
  EXPECT_EQ(stats.num_free_kv_blocks, stats.num_kv_blocks);
  const auto metrics = http_get(port, "/metrics").body;
  EXPECT_NE(metrics.find("pagoda:kv_cache_usage_perc{model_name=\"kjv\"} 0\n"), std::string::npos)
      << metrics;
}

}  // namespace
