// Parallel engines whose ranks Pagoda starts itself (distributed_executor_backend "mp"), on CPU
// ranks so that CI runs them. Rank 0 is the test; Pagoda runs this binary again for every other
// rank, and main() below sends those copies to run_engine_worker() with the case the test named
// in the environment (they inherit it). Checks:
//   - greedy outputs of every registered architecture at TP 2 and PP 2 (and TP 2 x PP 2 for one)
//     equal the single-process engine's;
//   - a start-up error is every rank's, and a rank that dies before joining is named with its exit
//     status; neither hangs, and no started rank is left behind;
//   - a parallel CPU engine outside mpirun that did not ask for mp says how to start it.
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

// "fixture tp pp", as the started ranks read it.
EngineArgs case_args(const std::string& fixture, int tp, int pp) {
  EngineArgs args = parallel_args(fixture, tp, pp);
  args.distributed_executor_backend = "mp";
  return args;
}

// Rank 0: names the case for the ranks it is about to start, then runs it.
std::vector<std::vector<int32_t>> run_case(const std::string& fixture, int tp, int pp) {
  setenv(kCaseVar, fmt::format("{} {} {}", fixture, tp, pp).c_str(), 1);
  return greedy_tokens(case_args(fixture, tp, pp), 0, fixture_prompts(fixture));
}

// No started rank outlives the engine that started it.
void expect_no_children_left() {
  EXPECT_EQ(::waitpid(-1, nullptr, WNOHANG), -1) << "a started rank was not reaped";
}

TEST(LocalRanksEngine, GreedyOutputsEqualTheSingleProcessEngine) {
  struct Layout {
    int tp, pp;
  };
  for (const ParallelFixture& fixture : parallel_fixtures()) {
    const auto single = greedy_tokens(parallel_args(fixture.name, 1, 1), 0,
                                      fixture_prompts(fixture.name));
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
    EXPECT_NE(std::string(e.what()).find("8 attention heads do not split over tensor_parallel_size 3"),
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

// A rank Pagoda started: serve the case rank 0 named, then leave.
int serve_started_rank() {
  const char* named = std::getenv(kCaseVar);
  if (named == nullptr) {
    std::fprintf(stderr, "started rank without %s\n", kCaseVar);
    return 2;
  }
  std::istringstream words(named);
  std::string fixture;
  int tp = 0, pp = 0;
  words >> fixture >> tp >> pp;
  if (fixture == "exit") return 3;  // a rank that fails before it joins
  try {
    run_engine_worker(case_args(fixture, tp, pp));
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
