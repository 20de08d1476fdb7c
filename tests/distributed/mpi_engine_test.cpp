// Tensor and pipeline parallelism with ranks as processes: run under mpirun (ctest does it with
// `mpiexec -n 2` and `-n 4`, label distributed). Every rank runs every test in the same order;
// world rank 0 drives the engines and the others serve them. Checks:
//   - the MPI communicators (world, tensor-parallel and pipeline groups) pass the same
//     conformance checks as the in-process group;
//   - greedy outputs of every registered architecture equal the single-process engine's for each
//     layout of the world: TP = world, PP = world, and TP x PP when the world has 4 ranks (a
//     layout the fixture cannot take is an error on every rank instead).
#include <gtest/gtest.h>

#include "common/communicator_conformance.h"
#include "distributed/mpi_communicator.h"
#include "distributed/parallel_cases.h"
#include "distributed/rank_groups.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

int world_size() {
  return launcher_info().world_size;
}
int world_rank() {
  return launcher_info().world_rank;
}

TEST(Mpi, LaunchedWithMoreThanOneRank) {
  ASSERT_GT(world_size(), 1) << "run this binary under mpirun -np 2 (or 4)";
}

TEST(Mpi, CommunicatorsPassTheConformanceChecks) {
  auto world = distributed::mpi_world();
  EXPECT_EQ(world->rank(), world_rank());
  EXPECT_EQ(check_collectives(*world), "");
  // Subgroups as the engine splits them: tensor-parallel pairs and pipeline groups.
  const int tp = world->size() % 2 == 0 ? 2 : 1;
  const distributed::RankGroups groups = distributed::rank_groups(tp, world->size() / tp);
  EXPECT_EQ(groups.tp->size(), tp);
  EXPECT_EQ(groups.tp->rank(), world->rank() % tp);
  EXPECT_EQ(groups.pp->rank(), world->rank() / tp);
  EXPECT_EQ(check_collectives(*groups.tp), "");
  EXPECT_EQ(check_collectives(*groups.pp), "");
}

struct Layout {
  int tp, pp;
};

std::vector<Layout> layouts() {
  const int n = world_size();
  std::vector<Layout> out{{n, 1}, {1, n}};
  if (n == 4) out.push_back({2, 2});
  return out;
}

TEST(Mpi, GreedyOutputsEqualTheSingleProcessEngine) {
  for (const ParallelFixture& fixture : parallel_fixtures()) {
    const auto prompts = fixture_prompts(fixture.name);
    // Rank 0 alone: the reference (no other rank takes part in a one-rank engine).
    const auto single = world_rank() == 0
                            ? greedy_tokens(parallel_args(fixture.name, 1, 1), 0, prompts)
                            : std::vector<std::vector<int32_t>>{};
    for (const Layout l : layouts()) {
      SCOPED_TRACE(fmt::format("{} tp {} pp {}", fixture.name, l.tp, l.pp));
      const int64_t layers =
          ModelConfig::from_model_dir(hf_fixture_dir(fixture.name)).num_hidden_layers;
      if (l.pp > layers) {
        // Every rank fails with the same message.
        try {
          greedy_tokens(parallel_args(fixture.name, l.tp, l.pp), world_rank(), prompts);
          ADD_FAILURE() << "more stages than layers did not fail";
        } catch (const Error& e) {
          EXPECT_NE(std::string(e.what()).find("cannot be split over pipeline_parallel_size"),
                    std::string::npos)
              << e.what();
        }
        continue;
      }
      const auto parallel =
          greedy_tokens(parallel_args(fixture.name, l.tp, l.pp), world_rank(), prompts);
      if (world_rank() != 0) continue;
      ASSERT_EQ(parallel.size(), single.size());
      for (size_t i = 0; i < single.size(); ++i) {
        EXPECT_EQ(single[i].size(), 16u);
        EXPECT_EQ(parallel[i], single[i]) << "prompt " << i;
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  // One report: the other ranks' results still decide their exit codes, which mpirun collects.
  if (world_rank() != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  return RUN_ALL_TESTS();
}
