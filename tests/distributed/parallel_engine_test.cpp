// The tensor- and pipeline-parallel engine with its ranks as threads of this process (in-process
// communicator groups laid out as MPI's would be): greedy outputs of every registered architecture
// at TP, PP and TP x PP equal the single-process engine's; sampling with logprobs and prompt
// logprobs too; and start-up errors reach every rank with the failing rank's message, none hangs.
// mpi_engine_test.cpp runs the same cases as processes under mpirun.
#include <gtest/gtest.h>

#include <cmath>
#include <exception>
#include <functional>
#include <thread>

#include "distributed/parallel_cases.h"
#include "distributed/rank_groups.h"
#include "models/llama.h"
#include "pagoda/error.h"
#include "pagoda/model_registry.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

// Runs fn(world_rank) on one thread per rank of a tp x pp world; each rank's exception message,
// or "" (in rank order).
std::vector<std::string> run_world(int tp, int pp, const std::function<void(int)>& fn) {
  distributed::InProcessWorld world(tp, pp);
  std::vector<std::string> errors(static_cast<size_t>(world.size()));
  std::vector<std::thread> threads;
  for (int r = 0; r < world.size(); ++r)
    threads.emplace_back([&, r] {
      distributed::ScopedRankGroups scope(world.groups(r));
      try {
        fn(r);
      } catch (const std::exception& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  return errors;
}

struct Layout {
  int tp, pp;
};

class ParallelEngine : public ::testing::TestWithParam<std::tuple<ParallelFixture, Layout>> {};

TEST_P(ParallelEngine, GreedyOutputsEqualTheSingleProcessEngine) {
  const auto& [fixture, layout] = GetParam();
  const auto prompts = fixture_prompts(fixture.name);
  const auto single = greedy_tokens(parallel_args(fixture.name, 1, 1), 0, prompts);
  ASSERT_EQ(single.size(), prompts.size());
  std::vector<std::vector<int32_t>> parallel;
  const auto errors = run_world(layout.tp, layout.pp, [&](int rank) {
    auto out = greedy_tokens(parallel_args(fixture.name, layout.tp, layout.pp), rank, prompts);
    if (rank == 0) parallel = std::move(out);
  });
  for (size_t r = 0; r < errors.size(); ++r) EXPECT_EQ(errors[r], "") << "rank " << r;
  ASSERT_EQ(parallel.size(), single.size());
  for (size_t i = 0; i < single.size(); ++i) {
    EXPECT_EQ(single[i].size(), 16u);
    EXPECT_EQ(parallel[i], single[i]) << fixture.name << " prompt " << i;
  }
}

std::vector<std::tuple<ParallelFixture, Layout>> cases() {
  std::vector<std::tuple<ParallelFixture, Layout>> out;
  for (const auto& f : parallel_fixtures())
    for (Layout l : {Layout{2, 1}, Layout{1, 2}, Layout{2, 2}, Layout{4, 1}})
      out.emplace_back(f, l);
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, ParallelEngine, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           const Layout l = std::get<1>(info.param);
                           return std::get<0>(info.param).name + "_tp" + std::to_string(l.tp) +
                                  "_pp" + std::to_string(l.pp);
                         });

// Sampled tokens, their logprobs and prompt logprobs travel from the last stage to rank 0.
TEST(ParallelEngineSampling, SeededSamplingAndLogprobsEqualTheSingleProcessEngine) {
  const auto prompts = fixture_prompts("qwen3");
  SamplingParams params;
  params.temperature = 0.8;
  params.top_p = 0.95;
  params.seed = 1234;
  params.max_tokens = 12;
  params.logprobs = 3;
  params.prompt_logprobs = 2;
  const auto run = [&](int tp, int pp, int rank) {
    std::vector<RequestOutput> out;
    const EngineArgs args = parallel_args("qwen3", tp, pp);
    if (rank != 0) {
      run_engine_worker(args);
      return out;
    }
    LLM llm(args);
    std::vector<Prompt> inputs;
    for (const auto& p : prompts) inputs.push_back(Prompt::from_tokens(p));
    return llm.generate(inputs, {params});
  };
  const auto single = run(1, 1, 0);
  std::vector<RequestOutput> parallel;
  const auto errors = run_world(2, 2, [&](int rank) {
    auto out = run(2, 2, rank);
    if (rank == 0) parallel = std::move(out);
  });
  for (const auto& e : errors) EXPECT_EQ(e, "");
  ASSERT_EQ(parallel.size(), single.size());
  for (size_t i = 0; i < single.size(); ++i) {
    const CompletionOutput& a = single[i].outputs.at(0);
    const CompletionOutput& b = parallel[i].outputs.at(0);
    EXPECT_EQ(b.token_ids, a.token_ids);
    ASSERT_EQ(b.logprobs.size(), a.logprobs.size());
    for (size_t t = 0; t < a.logprobs.size(); ++t)
      EXPECT_NEAR(b.logprobs[t].at(0).logprob, a.logprobs[t].at(0).logprob, 1e-4);
    ASSERT_EQ(parallel[i].prompt_logprobs.size(), single[i].prompt_logprobs.size());
    for (size_t t = 0; t < single[i].prompt_logprobs.size(); ++t)
      for (size_t k = 0; k < single[i].prompt_logprobs[t].size(); ++k)
        EXPECT_NEAR(parallel[i].prompt_logprobs[t].at(k).logprob,
                    single[i].prompt_logprobs[t][k].logprob, 1e-4);
  }
}

// Start-up errors: every rank fails with the same message naming the problem, and nobody hangs.
void expect_every_rank_fails(const EngineArgs& args, int tp, int pp, const std::string& needle) {
  const auto errors = run_world(tp, pp, [&](int rank) { greedy_tokens(args, rank, {{1, 2, 3}}); });
  for (size_t r = 0; r < errors.size(); ++r)
    EXPECT_NE(errors[r].find(needle), std::string::npos)
        << "rank " << r << ": '" << errors[r] << "'";
}

TEST(ParallelEngineStartup, HeadsThatDoNotSplitAreAnErrorOnEveryRank) {
  expect_every_rank_fails(parallel_args("llama", 3, 1), 3, 1,
                          "8 attention heads do not split over tensor_parallel_size 3");
}

TEST(ParallelEngineStartup, MoreStagesThanLayersIsAnErrorOnEveryRank) {
  expect_every_rank_fails(parallel_args("llama", 1, 4), 1, 4,
                          "2 layers cannot be split over pipeline_parallel_size 4");
}

TEST(ParallelEngineStartup, PipelineParallelismNeedsAModelThatSupportsIt) {
  ModelRegistry::global().register_model(
      "NoPipelineForCausalLM",
      [](const ModelInitContext& ctx) { return std::make_unique<LlamaForCausalLM>(ctx); },
      ModelCapabilities{.pipeline_parallel = false});
  EngineArgs args = parallel_args("llama", 1, 2);
  args.hf_overrides = R"({"architectures": ["NoPipelineForCausalLM"]})";
  expect_every_rank_fails(args, 1, 2,
                          "NoPipelineForCausalLM does not support pipeline parallelism");
  // Tensor parallelism needs no capability.
  args.pipeline_parallel_size = 1;
  args.tensor_parallel_size = 2;
  const auto errors = run_world(2, 1, [&](int rank) { greedy_tokens(args, rank, {{1, 2, 3}}); });
  for (const auto& e : errors) EXPECT_EQ(e, "");
}

TEST(ParallelEngineStartup, RankZeroFailingBeforeTheModelStopsTheOtherRanks) {
  EngineArgs args = parallel_args("llama", 2, 1);
  args.model = "/nonexistent/model/dir";
  const auto errors = run_world(2, 1, [&](int rank) { greedy_tokens(args, rank, {{1, 2, 3}}); });
  EXPECT_NE(errors[0].find("/nonexistent/model/dir"), std::string::npos) << errors[0];
  EXPECT_NE(errors[1].find("rank 0 could not start the engine"), std::string::npos) << errors[1];
}

TEST(ParallelEngineStartup, LayerPartitionFromTheEnvironment) {
  EXPECT_EQ(pp_layer_range(32, 0, 3).end, 11);  // 11, 11, 10: extra layers before the last stage
  EXPECT_EQ(pp_layer_range(32, 1, 3).begin, 11);
  EXPECT_EQ(pp_layer_range(32, 2, 3).end - pp_layer_range(32, 2, 3).begin, 10);
  setenv("PAGODA_PP_LAYER_PARTITION", "2,30", 1);
  EXPECT_EQ(pp_layer_range(32, 1, 2).begin, 2);
  setenv("PAGODA_PP_LAYER_PARTITION", "2,29", 1);
  EXPECT_THROW(pp_layer_range(32, 1, 2), Error);
  unsetenv("PAGODA_PP_LAYER_PARTITION");
}

}  // namespace
