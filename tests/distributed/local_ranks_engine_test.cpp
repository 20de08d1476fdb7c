// Parallel engines whose ranks Pagoda starts itself (distributed_executor_backend "mp"), on CPU
// ranks so that CI runs them. Rank 0 is the test; Pagoda runs this binary again for every other
// rank, and main() below sends those copies to run_engine_worker() with the case the test named
// in the environment (they inherit it). Checks:
//   - greedy outputs of every registered architecture at TP 2 and PP 2 (and TP 2 x PP 2 for one)
//     equal the single-process engine's;
//   - a start-up error is every rank's, and a rank that dies before joining is named with its exit
//     status; neither hangs, and no started rank is left behind;
//   - a parallel CPU engine outside mpirun that did not ask for mp says how to start it;
//   - on a GPU machine (skipped elsewhere): GPU ranks equal one GPU, over NCCL with a GPU per rank,
//     or sharing one GPU through host-staged groups (PAGODA_DEVICE_COMMUNICATOR=host); and ranks
//     short of GPUs are an error on every rank.
#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <sstream>

#include "distributed/local_ranks.h"
#include "distributed/parallel_cases.h"
#include "pagoda/error.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

constexpr const char* kCaseVar = "PAGODA_TEST_LOCAL_CASE";

// "fixture tp pp device", as the started ranks read it.
EngineArgs case_args(const std::string& fixture, int tp, int pp,
                     const std::string& device = "cpu") {
  EngineArgs args = parallel_args(fixture, tp, pp);
  args.distributed_executor_backend = "mp";
  args.device = device;
  return args;
}

// Rank 0: names the case for the ranks it is about to start, then runs it.
std::vector<std::vector<int32_t>> run_case(const std::string& fixture, int tp, int pp,
                                           const std::string& device = "cpu") {
  setenv(kCaseVar, fmt::format("{} {} {} {}", fixture, tp, pp, device).c_str(), 1);
  return greedy_tokens(case_args(fixture, tp, pp, device), 0, fixture_prompts(fixture));
}

// GPUs this process can allocate on (0 in a build without CUDA).
int visible_gpus() {
  int n = 0;
  for (; n < 16; ++n) {
    try {
      Tensor::empty({1}, DType::F32, Device::cuda(n));
    } catch (const Error&) {
      break;
    }
  }
  return n;
}

struct Layout {
  int tp, pp;
};

// Every fixture at each layout on GPUs equals the same fixture on one GPU.
void expect_gpu_layouts_equal_one_gpu(const std::vector<Layout>& layouts) {
  for (const ParallelFixture& fixture : parallel_fixtures()) {
    EngineArgs one = parallel_args(fixture.name, 1, 1);
    one.device = "cuda";
    const auto single = greedy_tokens(one, 0, fixture_prompts(fixture.name));
    for (const Layout l : layouts) {
      SCOPED_TRACE(fmt::format("{} tp {} pp {} on GPUs", fixture.name, l.tp, l.pp));
      EXPECT_EQ(run_case(fixture.name, l.tp, l.pp, "cuda"), single);
    }
  }
}

// No started rank outlives the engine that started it.
void expect_no_children_left() {
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "a started rank was not reaped";
}

TEST(LocalRanksEngine, GreedyOutputsEqualTheSingleProcessEngine) {
  for (const ParallelFixture& fixture : parallel_fixtures()) {
    const auto single =
        greedy_tokens(parallel_args(fixture.name, 1, 1), 0, fixture_prompts(fixture.name));
    std::vector<Layout> layouts{{2, 1}, {1, 2}};
    if (fixture.name == "llama") layouts.push_back({2, 2});
    for (const Layout l : layouts) {
      SCOPED_TRACE(fmt::format("{} tp {} pp {}", fixture.name, l.tp, l.pp));
      EXPECT_EQ(run_case(fixture.name, l.tp, l.pp), single);
      expect_no_children_left();
    }
  }
}

TEST(LocalRanksEngine, AStartUpErrorIsEveryRanksAndNobodyHangs) {
  const auto start = std::chrono::steady_clock::now();
  try {
    run_case("llama", 3, 1);
    ADD_FAILURE() << "tensor_parallel_size 3 over 8 heads did not fail";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find("8 attention heads do not split over tensor_parallel_size 3"),
        std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  expect_no_children_left();
}

TEST(LocalRanksEngine, ARankThatDiesBeforeJoiningIsNamed) {
  setenv(kCaseVar, "exit", 1);
  try {
    greedy_tokens(case_args("llama", 2, 1), 0, {{1, 2, 3}});
    ADD_FAILURE() << "an engine whose rank 1 exited started";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("exited with exit status 3 before the engine started"),
              std::string::npos)
        << e.what();
  }
  expect_no_children_left();
}

TEST(LocalRanksEngine, AnEngineBuiltOnAStartedRankIsAnErrorNotAHang) {
  // The started rank builds an engine instead of serving (a program without the rank check):
  // it fails with the fix, and rank 0 finds it gone.
  setenv(kCaseVar, "engine", 1);
  const auto start = std::chrono::steady_clock::now();
  try {
    greedy_tokens(case_args("llama", 2, 1), 0, {{1, 2, 3}});
    ADD_FAILURE() << "an engine whose rank 1 built an engine of its own started";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 of the 'world' group is gone"), std::string::npos)
        << e.what();
  }
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(30));
  expect_no_children_left();
}

TEST(LocalRanksEngine, ACpuEngineOutsideMpirunSaysHowToStartIt) {
  EngineArgs args = parallel_args("llama", 2, 1);
  try {
    LLM llm(args);
    ADD_FAILURE() << "a 2-rank CPU engine started without mpirun or mp";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("--distributed-executor-backend mp"), std::string::npos)
        << e.what();
  }
  args.distributed_executor_backend = "ray";
  EXPECT_THROW(LLM{args}, Error);
}

TEST(LocalRanksEngineGpu, RanksSharingOneGpuThroughTheHostEqualOneGpu) {
  if (visible_gpus() == 0) GTEST_SKIP() << "no CUDA device visible";
  setenv("PAGODA_DEVICE_COMMUNICATOR", "host", 1);
  expect_gpu_layouts_equal_one_gpu({{2, 1}, {1, 2}, {2, 2}});
  unsetenv("PAGODA_DEVICE_COMMUNICATOR");
  expect_no_children_left();
}

TEST(LocalRanksEngineGpu, RanksOnTheirOwnGpusOverNcclEqualOneGpu) {
  const int gpus = visible_gpus();
  if (gpus < 2) GTEST_SKIP() << gpus << " GPU(s) visible: needs 2";
  std::vector<Layout> layouts{{2, 1}, {1, 2}};
  if (gpus >= 4) layouts.push_back({2, 2});
  expect_gpu_layouts_equal_one_gpu(layouts);
  expect_no_children_left();
}

TEST(LocalRanksEngineGpu, MoreRanksThanGpusIsAnErrorOnEveryRank) {
  const int gpus = visible_gpus();
  if (gpus == 0) GTEST_SKIP() << "no CUDA device visible";
  try {
    run_case("llama", 1, gpus + 1, "cuda");
    ADD_FAILURE() << gpus + 1 << " GPU ranks started on " << gpus << " GPU(s)";
  } catch (const Error& e) {
    EXPECT_NE(
        std::string(e.what()).find(fmt::format("places rank {} on cuda:{}, but its host has {} "
                                               "GPU(s) visible",
                                               gpus, gpus, gpus)),
        std::string::npos)
        << e.what();
  }
  expect_no_children_left();
}

// A rank Pagoda started: serve the case rank 0 named, then leave.
int serve_started_rank() {
  const char* named = std::getenv(kCaseVar);
  if (named == nullptr) {
    std::fprintf(stderr, "started rank without %s\n", kCaseVar);
    return 2;
  }
  std::istringstream words(named);
  std::string fixture, device;
  int tp = 0, pp = 0;
  words >> fixture >> tp >> pp >> device;
  if (fixture == "exit") return 3;  // a rank that fails before it joins
  if (fixture == "engine") {        // a rank that builds an engine instead of serving one
    try {
      LLM llm(case_args("llama", 2, 1));
    } catch (const Error& e) {
      const bool named = std::string(e.what()).find("run_engine_worker") != std::string::npos;
      return named ? 4 : 5;
    }
    return 6;
  }
  try {
    run_engine_worker(case_args(fixture, tp, pp, device));
  } catch (const Error&) {
    return 1;  // rank 0's test checks the message every rank shares
  }
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  if (distributed::LocalRanks::is_started_rank()) return serve_started_rank();
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
