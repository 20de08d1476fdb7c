#include "distributed/rank_groups.h"

#include <fmt/format.h>

#include <cstdlib>
#include <map>
#include <mutex>
#include <string>

#include "pagoda/error.h"
#ifdef PAGODA_HAS_MPI
#include "distributed/mpi_communicator.h"
#endif

namespace pagoda::distributed {
namespace {

int env_int(const char* name, int fallback) {
  const char* v = std::getenv(name);
  if (v == nullptr || *v == '\0') return fallback;
  char* end = nullptr;
  const long n = std::strtol(v, &end, 10);
  return end != v && *end == '\0' && n >= 0 ? static_cast<int>(n) : fallback;
}

thread_local const RankGroups* installed = nullptr;

#ifdef PAGODA_HAS_MPI
// One engine shape's MPI groups, kept for the life of the process (splitting is collective, so
// every rank creates the same ones in the same order, once).
struct MpiGroups {
  std::unique_ptr<Communicator> world, tp, pp;
};

RankGroups mpi_groups(int tp, int pp) {
  static std::mutex mutex;
  static std::map<std::pair<int, int>, MpiGroups> cache;
  std::lock_guard lock(mutex);
  auto it = cache.find({tp, pp});
  if (it == cache.end()) {
    MpiGroups g;
    g.world = mpi_world();
    const int rank = g.world->rank();
    PAGODA_CHECK(
        g.world->size() == tp * pp, InvalidArgument,
        fmt::format("tensor_parallel_size {} x pipeline_parallel_size {} is {} ranks, but MPI's "
                    "world has {}",
                    tp, pp, tp * pp, g.world->size()),
        fmt::format("start exactly {} processes: mpirun -np {} pagoda ...", tp * pp, tp * pp));
    // Every rank must split the world the same way, or the groups would not match.
    const std::vector<int64_t> shapes = all_gather_values(*g.world, int64_t{tp} << 32 | pp);
    for (size_t r = 0; r < shapes.size(); ++r)
      PAGODA_CHECK(
          shapes[r] == shapes[0], InvalidArgument,
          fmt::format(
              "rank {} runs tensor_parallel_size {} x pipeline_parallel_size {}, but rank 0 "
              "runs {} x {}",
              r, shapes[r] >> 32, shapes[r] & 0xffffffff, shapes[0] >> 32, shapes[0] & 0xffffffff),
          "give every rank the same --tensor-parallel-size and --pipeline-parallel-size");
    g.tp = mpi_split(*g.world, /*color=*/rank / tp, /*key=*/rank % tp);
    g.pp = mpi_split(*g.world, /*color=*/rank % tp, /*key=*/rank / tp);
    it = cache.emplace(std::make_pair(tp, pp), std::move(g)).first;
  }
  return {it->second.world.get(), it->second.tp.get(), it->second.pp.get()};
}
#endif

}  // namespace

RankGroups rank_groups(int tp, int pp) {
  PAGODA_CHECK(
      tp >= 1 && pp >= 1, InvalidArgument,
      fmt::format("tensor_parallel_size {} and pipeline_parallel_size {}; both must be >= 1", tp,
                  pp),
      "pass sizes of at least 1");
  if (tp * pp == 1) {
    static SingleCommunicator single;
    return {&single, &single, &single};
  }
  if (installed != nullptr) {
    PAGODA_CHECK(installed->tp->size() == tp && installed->pp->size() == pp, InvalidArgument,
                 fmt::format("this thread's rank groups are {} x {}, but {} x {} was asked for",
                             installed->tp->size(), installed->pp->size(), tp, pp),
                 "install groups of the engine's shape");
    return *installed;
  }
  const LauncherInfo launcher = pagoda::launcher_info();
  PAGODA_CHECK(
      launcher.world_size > 1, InvalidArgument,
      fmt::format("tensor_parallel_size {} x pipeline_parallel_size {} needs {} processes, one per "
                  "rank, but this process was not started by mpirun",
                  tp, pp, tp * pp),
      fmt::format("start it as: mpirun -np {} pagoda ... (see docs/distributed.md)", tp * pp));
#ifdef PAGODA_HAS_MPI
  return mpi_groups(tp, pp);
#else
  throw Error(ErrorCode::Unsupported,
              "this build of Pagoda has no MPI, so it cannot run ranks as processes",
              "install libopenmpi-dev and rebuild (scripts/install-deps.sh does)");
#endif
}

ScopedRankGroups::ScopedRankGroups(RankGroups groups) : previous_(installed), groups_(groups) {
  installed = &groups_;
}
ScopedRankGroups::~ScopedRankGroups() {
  installed = previous_;
}

InProcessWorld::InProcessWorld(int tp, int pp) : tp_(tp), pp_(pp) {
  world_ = make_in_process_group(tp * pp);
  for (int stage = 0; stage < pp; ++stage) tp_groups_.push_back(make_in_process_group(tp));
  for (int t = 0; t < tp; ++t) pp_groups_.push_back(make_in_process_group(pp));
}

RankGroups InProcessWorld::groups(int world_rank) const {
  const int stage = world_rank / tp_, t = world_rank % tp_;
  return {world_[static_cast<size_t>(world_rank)].get(),
          tp_groups_[static_cast<size_t>(stage)][static_cast<size_t>(t)].get(),
          pp_groups_[static_cast<size_t>(t)][static_cast<size_t>(stage)].get()};
}

}  // namespace pagoda::distributed

namespace pagoda {

LauncherInfo launcher_info() {
  LauncherInfo info;
  info.world_size =
      distributed::env_int("OMPI_COMM_WORLD_SIZE", distributed::env_int("PMI_SIZE", 1));
  info.world_rank =
      distributed::env_int("OMPI_COMM_WORLD_RANK", distributed::env_int("PMI_RANK", 0));
  info.local_size = distributed::env_int("OMPI_COMM_WORLD_LOCAL_SIZE",
                                         distributed::env_int("MPI_LOCALNRANKS", 1));
  info.local_rank = distributed::env_int("OMPI_COMM_WORLD_LOCAL_RANK",
                                         distributed::env_int("MPI_LOCALRANKID", 0));
  return info;
}

}  // namespace pagoda
