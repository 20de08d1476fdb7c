// The engine loop on its own thread: client threads submit and read concurrently, aborts from
// another thread end a request with "abort", and a bad request fails only its caller.
#include "pagoda/async_engine.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "pagoda/error.h"
#include "pagoda/safetensors.h"

using namespace pagoda;

namespace {

std::filesystem::path fixture_dir() {
  return std::filesystem::path(PAGODA_FIXTURES_DIR) / "hf" / "qwen2";
}

EngineArgs args() {
  EngineArgs a;
  a.model = fixture_dir().string();
  a.skip_tokenizer_init = true;
  a.dtype = "float32";
  a.max_model_len = 60;
  a.block_size = 4;
  a.num_kv_blocks = 128;
  return a;
}

EngineRequest request(const std::string& id, std::vector<int32_t> prompt, int64_t max_tokens) {
  EngineRequest r;
  r.request_id = id;
  r.prompt = Prompt::from_tokens(std::move(prompt));
  r.params.temperature = 0;
  r.params.max_tokens = max_tokens;
  r.params.ignore_eos = true;
  return r;
}

TEST(AsyncEngine, ConcurrentClientsGetTheirOwnGreedyTokens) {
  const SafetensorsFile expected(fixture_dir() / "expected.safetensors");
  AsyncEngine engine(args());
  std::vector<std::vector<int32_t>> got(4), want(4);
  std::vector<std::thread> clients;
  for (int p = 0; p < 4; ++p) {
    const Tensor ids = expected.get(fmt::format("prompt.{}.input_ids", p));
    const Tensor greedy = expected.get(fmt::format("prompt.{}.greedy", p));
    want[static_cast<size_t>(p)].assign(greedy.data_as<int64_t>(),
                                        greedy.data_as<int64_t>() + greedy.numel());
    std::vector<int32_t> prompt(ids.data_as<int64_t>(), ids.data_as<int64_t>() + ids.numel());
    clients.emplace_back([&, p, prompt] {
      auto stream = engine.generate(request(fmt::format("c{}", p), prompt, 16));
      while (auto out = stream->next())
        for (const auto& c : out->outputs)
          got[static_cast<size_t>(p)].insert(got[static_cast<size_t>(p)].end(), c.token_ids.begin(),
                                             c.token_ids.end());
    });
  }
  for (auto& t : clients) t.join();
  EXPECT_EQ(got, want);
  EXPECT_EQ(engine.core().stats().num_free_kv_blocks, engine.core().stats().num_kv_blocks);
}

TEST(AsyncEngine, AbortFromAnotherThreadEndsTheStream) {
  // A request of 500 tokens, one step each: aborted after its first output, long before its end.
  EngineArgs a = args();
  a.max_model_len = 512;
  a.num_kv_blocks = 200;
  AsyncEngine engine(a);
  auto stream = engine.generate(request("long", {1, 2, 3}, 500));
  ASSERT_TRUE(stream->next().has_value());  // it is running
  std::thread([&] { engine.abort("long"); }).join();
  std::string finish;
  size_t tokens = 0;
  while (auto out = stream->next())
    for (const auto& c : out->outputs) {
      tokens += c.token_ids.size();
      if (c.finished()) finish = c.finish_reason;
    }
  EXPECT_EQ(finish, "abort");
  EXPECT_LT(tokens, 500u);
  EXPECT_FALSE(stream->next().has_value()) << "a finished stream stays finished";
}

TEST(AsyncEngine, BadRequestFailsOnlyItsCaller) {
  AsyncEngine engine(args());
  auto good = engine.generate(request("good", {5, 6, 7}, 8));
  EXPECT_THROW(engine.generate(request("bad", {5, 100000}, 8)), Error);
  EXPECT_THROW(engine.generate(request("good", {5}, 8)), Error) << "duplicate id";
  size_t tokens = 0;
  while (auto out = good->next())
    for (const auto& c : out->outputs) tokens += c.token_ids.size();
  EXPECT_EQ(tokens, 8u);
}

}  // namespace
