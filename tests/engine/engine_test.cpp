// The engine end to end on the Hugging Face fixtures (tests/fixtures/hf): batched greedy
// generation equals transformers' greedy continuations token for token, for every registered
// architecture that has a fixture, with prefix caching on and off, with a token budget that
// chunks every prompt, and with a KV pool so small that requests are preempted and recomputed.
// Also KV block accounting after finished, aborted and preempted requests, and request
// validation.
#include "pagoda/engine.h"

#include <gtest/gtest.h>

#include <filesystem>

#include "common/expect_error.h"
#include "pagoda/layers/attention.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/model_config.h"
#include "pagoda/model_registry.h"
#include "pagoda/safetensors.h"

using namespace pagoda;

namespace {

std::filesystem::path fixture_dir(const std::string& name) {
  return std::filesystem::path(PAGODA_FIXTURES_DIR) / "hf" / name;
}

struct Fixture {
  std::vector<std::vector<int32_t>> prompts;
  std::vector<std::vector<int32_t>> greedy;
};

Fixture load_fixture(const std::string& name) {
  const SafetensorsFile expected(fixture_dir(name) / "expected.safetensors");
  Fixture f;
  for (int p = 0; p < 4; ++p) {
    const std::string key = "prompt." + std::to_string(p);
    const Tensor ids = expected.get(key + ".input_ids");
    const Tensor greedy = expected.get(key + ".greedy");
    f.prompts.emplace_back(ids.data_as<int64_t>(), ids.data_as<int64_t>() + ids.numel());
    f.greedy.emplace_back(greedy.data_as<int64_t>(), greedy.data_as<int64_t>() + greedy.numel());
  }
  return f;
}

EngineArgs base_args(const std::string& name) {
  EngineArgs args;
  args.model = fixture_dir(name).string();
  args.skip_tokenizer_init = true;
  args.dtype = "float32";
  args.max_model_len = 60;  // 40-token prompt + 16 generated
  args.block_size = 4;
  args.num_kv_blocks = 256;
  return args;
}

SamplingParams greedy_params(int64_t max_tokens) {
  SamplingParams p;
  p.temperature = 0;
  p.max_tokens = max_tokens;
  p.ignore_eos = true;
  return p;
}

std::vector<Prompt> as_prompts(const std::vector<std::vector<int32_t>>& ids) {
  std::vector<Prompt> out;
  for (const auto& p : ids) out.push_back(Prompt::from_tokens(p));
  return out;
}

struct Variant {
  std::string name;
  bool prefix_caching = true;
  int64_t max_num_batched_tokens = 2048;
  std::optional<int64_t> num_kv_blocks;
  bool duplicate_prompts = false;  // every prompt twice, so the prefix cache has something to hit
};

struct ParityCase {
  std::string fixture;
  Variant variant;
};

class EngineGreedyParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(EngineGreedyParity, BatchedGreedyEqualsTransformers) {
  const ParityCase& c = GetParam();
  const Fixture f = load_fixture(c.fixture);
  EngineArgs args = base_args(c.fixture);
  args.enable_prefix_caching = c.variant.prefix_caching;
  args.max_num_batched_tokens = c.variant.max_num_batched_tokens;
  if (c.variant.num_kv_blocks) args.num_kv_blocks = c.variant.num_kv_blocks;
  LLM llm(args);

  std::vector<std::vector<int32_t>> prompts = f.prompts, want = f.greedy;
  if (c.variant.duplicate_prompts) {
    prompts.insert(prompts.end(), f.prompts.begin(), f.prompts.end());
    want.insert(want.end(), f.greedy.begin(), f.greedy.end());
  }
  const auto results = llm.generate(as_prompts(prompts), {greedy_params(16)});
  ASSERT_EQ(results.size(), prompts.size());
  for (size_t i = 0; i < results.size(); ++i) {
    ASSERT_EQ(results[i].outputs.size(), 1u);
    EXPECT_EQ(results[i].outputs[0].token_ids, want[i]) << "prompt " << i;
    EXPECT_EQ(results[i].outputs[0].finish_reason, "length");
    EXPECT_TRUE(results[i].finished);
  }
  const EngineStats stats = llm.engine().stats();
  EXPECT_EQ(stats.num_free_kv_blocks, stats.num_kv_blocks) << "every block is free again";
  if (c.variant.num_kv_blocks) {
    EXPECT_GT(stats.num_preemptions, 0) << "the small pool should have forced preemption";
  }
  if (c.variant.max_num_batched_tokens < 16) {
    // 4 prompts of 1..40 tokens + 15 decode steps cannot fit in few steps with a tiny budget.
    EXPECT_GT(stats.num_steps, 40 / c.variant.max_num_batched_tokens);
  }
  if (c.variant.duplicate_prompts && c.variant.prefix_caching) {
    EXPECT_GT(stats.prefix_cache_hits, 0);
  }
  if (!c.variant.prefix_caching) {
    EXPECT_EQ(stats.prefix_cache_hits, 0);
  }
}

std::vector<ParityCase> parity_cases() {
  const std::vector<Variant> variants = {
      {"default", true, 2048, std::nullopt, false},
      {"prefix_cache_hits", true, 2048, std::nullopt, true},
      {"no_prefix_caching", false, 2048, std::nullopt, true},
      {"chunked_budget_7", true, 7, std::nullopt, false},
      {"chunked_budget_3_dup", true, 3, std::nullopt, true},
      {"preemption", true, 2048, 16, false},
      {"preemption_no_prefix_caching", false, 64, 16, true},
  };
  std::vector<ParityCase> out;
  // Every registered architecture with a transformers fixture.
  for (const std::string fixture : {"llama", "qwen2", "qwen3"})
    for (const Variant& v : variants) out.push_back({fixture, v});
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, EngineGreedyParity, ::testing::ValuesIn(parity_cases()),
                         [](const auto& info) {
                           return info.param.fixture + "_" + info.param.variant.name;
                         });

// Greedy tokens by re-running the whole sequence through the contiguous attention path (no KV
// cache): the reference for engine runs that have no transformers fixture.
std::vector<int32_t> rerun_greedy(const std::string& fixture, const std::string& overrides,
                                  std::vector<int32_t> seq, int64_t steps) {
  ModelConfigOptions options;
  options.dtype = "float32";
  options.hf_overrides = overrides;
  const ModelConfig config = ModelConfig::from_model_dir(fixture_dir(fixture), options);
  ParameterSet parameters;
  AttentionRegistry attention;
  ModelInitContext ctx;
  ctx.config = &config;
  ctx.parameters = &parameters;
  ctx.attention = &attention;
  ctx.dtype = DType::F32;
  auto model = ModelRegistry::global().resolve(config.architectures).factory(ctx);
  const SafetensorsCheckpoint checkpoint(fixture_dir(fixture));
  CheckpointWeights weights(checkpoint);
  model->load_weights(weights);
  std::vector<int32_t> out;
  for (int64_t step = 0; step < steps; ++step) {
    const auto n = static_cast<int64_t>(seq.size());
    std::vector<int64_t> ids(seq.begin(), seq.end()), pos(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) pos[static_cast<size_t>(i)] = i;
    ForwardContext fc = ForwardContext::single_sequence(n);
    const Tensor hidden = model->forward(Tensor::from_blob(ids.data(), {n}, DType::I64),
                                         Tensor::from_blob(pos.data(), {n}, DType::I64), fc);
    const Tensor logits = model->compute_logits(hidden.slice(0, n - 1, n).contiguous());
    const float* row = logits.data_as<float>();
    int32_t best = 0;
    for (int32_t v = 1; v < logits.size(1); ++v)
      if (row[v] > row[best]) best = v;
    out.push_back(best);
    seq.push_back(best);
  }
  return out;
}

// A sliding window (every layer, Mistral style, through hf_overrides) on a block size smaller
// than the window: the KV cache frees blocks that fell out of the window, and the tokens still
// equal a full re-run with windowed attention.
TEST(EngineSlidingWindow, FreedOutOfWindowBlocksDoNotChangeTokens) {
  const Fixture f = load_fixture("llama");
  const std::string overrides = R"({"sliding_window": 6})";
  EngineArgs args = base_args("llama");
  args.hf_overrides = overrides;
  args.num_kv_blocks = 24;
  args.max_num_batched_tokens = 5;  // chunks the prompts too
  LLM llm(args);
  const auto results = llm.generate(as_prompts(f.prompts), {greedy_params(16)});
  for (size_t i = 0; i < f.prompts.size(); ++i)
    EXPECT_EQ(results[i].outputs[0].token_ids, rerun_greedy("llama", overrides, f.prompts[i], 16))
        << "prompt " << i;
  EXPECT_EQ(llm.engine().stats().num_free_kv_blocks, llm.engine().stats().num_kv_blocks);
  // The four sequences end at 123 tokens together, more than the 92-token pool: only freeing the
  // blocks behind the window let them all run without preemption.
  EXPECT_EQ(llm.engine().stats().num_preemptions, 0);
  // Without the window the tokens differ (so the window really was applied).
  EXPECT_NE(results[3].outputs[0].token_ids, f.greedy[3]);
}

TEST(EngineFixtures, EveryFixtureArchitectureIsRegistered) {
  for (const std::string fixture : {"llama", "qwen2", "qwen3"}) {
    const ModelConfig config = ModelConfig::from_model_dir(fixture_dir(fixture));
    EXPECT_TRUE(ModelRegistry::global().is_supported(config.architectures.at(0))) << fixture;
  }
}

// Finished, aborted (queued, mid-prompt, mid-decode) and preempted requests: every block returns.
TEST(EngineBlocks, AllBlocksFreeAfterMixedFinishAbortAndPreemption) {
  const Fixture f = load_fixture("llama");
  EngineArgs args = base_args("llama");
  args.num_kv_blocks = 16;
  args.max_num_batched_tokens = 8;
  EngineCore engine(args);
  int64_t added = 0;
  auto add = [&](const std::vector<int32_t>& prompt, int64_t max_tokens) {
    EngineRequest r;
    r.request_id = std::to_string(added++);
    r.prompt = Prompt::from_tokens(prompt);
    r.params = greedy_params(max_tokens);
    engine.add_request(r);
    return r.request_id;
  };
  std::vector<std::string> ids;
  for (int round = 0; round < 3; ++round)
    for (const auto& p : f.prompts) ids.push_back(add(p, 12 + round));
  std::map<std::string, std::string> finish;
  int64_t step = 0;
  while (engine.has_unfinished_requests()) {
    if (step == 0) engine.abort_request(ids[11]);  // still queued
    if (step == 3) engine.abort_request(ids[3]);   // mid-prompt (40 tokens, budget 8)
    if (step == 20) engine.abort_request(ids[0]);  // decoding or waiting after preemption
    for (const RequestOutput& out : engine.step())
      if (out.finished) finish[out.request_id] = out.outputs.at(0).finish_reason;
    ASSERT_LT(++step, 2000) << "the engine did not finish";
  }
  EXPECT_EQ(finish.size(), ids.size());
  EXPECT_EQ(finish[ids[11]], "abort");
  EXPECT_EQ(finish[ids[3]], "abort");
  EXPECT_GT(engine.stats().num_preemptions, 0);
  EXPECT_EQ(engine.stats().num_free_kv_blocks, engine.stats().num_kv_blocks);
  EXPECT_EQ(engine.stats().num_running + engine.stats().num_waiting, 0);
}

TEST(EngineRequests, BadRequestsAreRefusedWithoutHarmingOthers) {
  const Fixture f = load_fixture("qwen3");
  EngineCore engine(base_args("qwen3"));
  EngineRequest good;
  good.request_id = "good";
  good.prompt = Prompt::from_tokens(f.prompts[1]);
  good.params = greedy_params(16);
  engine.add_request(good);

  EngineRequest bad = good;
  bad.request_id = "empty";
  bad.prompt = Prompt::from_tokens({});
  pagoda::testing::expect_error([&] { engine.add_request(bad); }, ErrorCode::InvalidArgument,
                                {"empty prompt"});
  bad.request_id = "vocab";
  bad.prompt = Prompt::from_tokens({1, 2, 100000});
  pagoda::testing::expect_error([&] { engine.add_request(bad); }, ErrorCode::InvalidArgument,
                                {"outside the vocabulary"});
  bad.request_id = "long";
  bad.prompt = Prompt::from_tokens(std::vector<int32_t>(61, 3));
  pagoda::testing::expect_error([&] { engine.add_request(bad); }, ErrorCode::InvalidArgument,
                                {"max_model_len"});
  bad.request_id = "text";
  bad.prompt = Prompt::from_text("hello");
  pagoda::testing::expect_error([&] { engine.add_request(bad); }, ErrorCode::InvalidArgument,
                                {"no tokenizer"});
  bad = good;
  pagoda::testing::expect_error([&] { engine.add_request(bad); }, ErrorCode::InvalidArgument,
                                {"already in use"});
  bad.request_id = "params";
  bad.params.top_p = 0;
  pagoda::testing::expect_error([&] { engine.add_request(bad); }, ErrorCode::InvalidArgument,
                                {"top_p"});

  std::vector<int32_t> tokens;
  while (engine.has_unfinished_requests())
    for (const auto& out : engine.step())
      for (const auto& c : out.outputs)
        tokens.insert(tokens.end(), c.token_ids.begin(), c.token_ids.end());
  EXPECT_EQ(tokens, f.greedy[1]);
}

TEST(EngineRequests, StreamedDeltasAddUpToTheFinalOutput) {
  const Fixture f = load_fixture("qwen2");
  LLM llm(base_args("qwen2"));
  std::map<std::string, std::vector<int32_t>> streamed;
  std::map<std::string, int64_t> deltas_with_prompt;
  int64_t deltas = 0;
  const auto results =
      llm.generate(as_prompts(f.prompts), {greedy_params(16)}, [&](const RequestOutput& d) {
        ++deltas;
        if (!d.prompt_token_ids.empty()) ++deltas_with_prompt[d.request_id];
        for (const auto& c : d.outputs)
          streamed[d.request_id].insert(streamed[d.request_id].end(), c.token_ids.begin(),
                                        c.token_ids.end());
      });
  EXPECT_GE(deltas, 16 * 4);
  for (size_t i = 0; i < results.size(); ++i) {
    const RequestOutput& r = results[i];
    EXPECT_EQ(streamed[r.request_id], r.outputs[0].token_ids);
    EXPECT_EQ(deltas_with_prompt[r.request_id], 1) << "the prompt comes with the first delta only";
    EXPECT_EQ(r.prompt_token_ids, f.prompts[i]);
  }
}

TEST(EngineSampling, SeededSamplingReproducesAndNGivesNSequences) {
  const Fixture f = load_fixture("llama");
  SamplingParams p;
  p.temperature = 1.0;
  p.top_k = 50;
  p.seed = 1234;
  p.n = 3;
  p.max_tokens = 12;
  p.ignore_eos = true;
  std::vector<RequestOutput> first, second;
  {
    LLM llm(base_args("llama"));
    first = llm.generate(as_prompts(f.prompts), {p});
  }
  {
    EngineArgs args = base_args("llama");
    args.max_num_batched_tokens = 5;  // a different batching must not change seeded samples
    LLM llm(args);
    second = llm.generate(as_prompts(f.prompts), {p});
  }
  ASSERT_EQ(first.size(), second.size());
  for (size_t i = 0; i < first.size(); ++i) {
    ASSERT_EQ(first[i].outputs.size(), 3u);
    for (size_t k = 0; k < 3; ++k) {
      EXPECT_EQ(first[i].outputs[k].token_ids, second[i].outputs[k].token_ids);
      EXPECT_EQ(first[i].outputs[k].token_ids.size(), 12u);
    }
    EXPECT_NE(first[i].outputs[0].token_ids, first[i].outputs[1].token_ids)
        << "samples of one request draw from different generators";
  }
}

TEST(EngineSampling, StopTokensMaxTokensAndMinTokens) {
  const Fixture f = load_fixture("llama");
  LLM llm(base_args("llama"));
  const std::vector<int32_t>& want = f.greedy[2];
  SamplingParams stop = greedy_params(16);
  stop.stop_token_ids = {want[5]};
  SamplingParams min_tokens = stop;
  min_tokens.min_tokens = 8;  // the stop token is masked for the first 8 tokens
  const auto results = llm.generate(as_prompts({f.prompts[2], f.prompts[2]}), {stop, min_tokens});
  const auto& a = results[0].outputs[0];
  const size_t first_stop =
      static_cast<size_t>(std::find(want.begin(), want.end(), want[5]) - want.begin());
  EXPECT_EQ(a.token_ids, std::vector<int32_t>(want.begin(),
                                              want.begin() + static_cast<int64_t>(first_stop) + 1));
  EXPECT_EQ(a.finish_reason, "stop");
  ASSERT_TRUE(a.stop_token.has_value());
  EXPECT_EQ(*a.stop_token, want[5]);
  const auto& b = results[1].outputs[0];
  EXPECT_GE(b.token_ids.size(), 8u);
  for (size_t i = 0; i + 1 < std::min<size_t>(b.token_ids.size(), 8); ++i)
    EXPECT_NE(b.token_ids[i], want[5]);
}

TEST(EngineSampling, LogprobsAndPromptLogprobs) {
  const Fixture f = load_fixture("qwen3");
  LLM llm(base_args("qwen3"));
  SamplingParams p = greedy_params(6);
  p.logprobs = 3;
  p.prompt_logprobs = 2;
  const auto results = llm.generate(as_prompts({f.prompts[3]}), {p});
  const auto& c = results[0].outputs[0];
  ASSERT_EQ(c.logprobs.size(), 6u);
  for (size_t i = 0; i < c.logprobs.size(); ++i) {
    ASSERT_EQ(c.logprobs[i].size(), 4u);  // the chosen token + top 3
    EXPECT_EQ(c.logprobs[i][0].token, c.token_ids[i]);
    EXPECT_EQ(c.logprobs[i][0].rank, 1) << "greedy picks the most likely token";
    EXPECT_EQ(c.logprobs[i][1].token, c.token_ids[i]);
    EXPECT_LE(c.logprobs[i][2].logprob, c.logprobs[i][1].logprob);
  }
  ASSERT_EQ(results[0].prompt_logprobs.size(), f.prompts[3].size() - 1);
  for (size_t i = 0; i < results[0].prompt_logprobs.size(); ++i) {
    EXPECT_EQ(results[0].prompt_logprobs[i][0].token, f.prompts[3][i + 1]);
    EXPECT_EQ(results[0].prompt_logprobs[i].size(), 3u);
  }
}

}  // namespace
