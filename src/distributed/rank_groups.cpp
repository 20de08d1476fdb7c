#include "distributed/rank_groups.h"

#include <fmt/format.h>

#include <chrono>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <tuple>

#include "distributed/host_staged_communicator.h"
#include "distributed/local_ranks.h"
#include "distributed/socket_communicator.h"
#include "pagoda/error.h"
#ifdef PAGODA_HAS_MPI
#include "distributed/mpi_communicator.h"
#endif
#ifdef PAGODA_HAS_CUDA
#include <cuda_runtime.h>

#include "distributed/nccl_communicator.h"
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

// How long the ranks Pagoda started have to find each other (they connect before loading).
constexpr auto kRendezvousTimeout = std::chrono::seconds(60);

// The communicators of one engine's ranks: the host groups, and on GPUs NCCL's over them.
struct OwnedGroups {
  std::shared_ptr<LocalRanks> ranks;  // declared first, destroyed last: waits for the started ranks
  std::unique_ptr<Communicator> world, host_tp, host_pp, device_tp, device_pp;
  Device device = Device::cpu();

  RankGroups view() const {
    RankGroups g{world.get(), device_tp ? device_tp.get() : host_tp.get(),
                 device_pp ? device_pp.get() : host_pp.get()};
    g.device = device;
    return g;
  }
};

// Every rank must split the world the same way, or the groups would not match.
void check_same_shape(Communicator& world, int tp, int pp) {
  const std::vector<int64_t> shapes = all_gather_values(world, int64_t{tp} << 32 | pp);
  for (size_t r = 0; r < shapes.size(); ++r)
    PAGODA_CHECK(
        shapes[r] == shapes[0], InvalidArgument,
        fmt::format("rank {} runs tensor_parallel_size {} x pipeline_parallel_size {}, but rank 0 "
                    "runs {} x {}",
                    r, shapes[r] >> 32, shapes[r] & 0xffffffff, shapes[0] >> 32,
                    shapes[0] & 0xffffffff),
        "give every rank the same --tensor-parallel-size and --pipeline-parallel-size");
}

int visible_gpus() {
#ifdef PAGODA_HAS_CUDA
  int n = 0;
  return cudaGetDeviceCount(&n) == cudaSuccess ? n : 0;
#else
  return 0;
#endif
}

// PAGODA_DEVICE_COMMUNICATOR=host: GPU ranks exchange tensors through the host groups instead of
// NCCL, and may share GPUs (host_staged_communicator.h).
bool host_staged_device_groups() {
  const char* v = std::getenv("PAGODA_DEVICE_COMMUNICATOR");
  if (v == nullptr || *v == '\0' || std::string(v) == "nccl") return false;
  PAGODA_CHECK(std::string(v) == "host", InvalidArgument,
               fmt::format("PAGODA_DEVICE_COMMUNICATOR is '{}'", v),
               "set it to nccl (the default) or host, or unset it");
  return true;
}

// The GPU of this rank, cuda:<local rank>, once every rank has agreed that each has one (a rank
// that cannot start NCCL would leave the others waiting in it). Host-staged groups let ranks
// share GPUs: rank r takes cuda:<local rank mod GPUs>.
Device agree_on_gpu(Communicator& world, int local_rank, int tp, int pp, bool share) {
  const int own = visible_gpus();
  const std::vector<int64_t> seen = all_gather_values(world, int64_t{own} << 32 | local_rank);
  for (size_t r = 0; r < seen.size(); ++r) {
    const int64_t gpus = seen[r] >> 32, local = seen[r] & 0xffffffff;
    PAGODA_CHECK(
        share ? gpus > 0 : local < gpus, InvalidArgument,
        fmt::format("tensor_parallel_size {} x pipeline_parallel_size {} on GPUs places rank {} on "
                    "cuda:{}, but its host has {} GPU(s) visible{}",
                    tp, pp, r, share ? 0 : local, gpus,
                    own == 0 && gpus == 0 ? " (or this build has no CUDA backend)" : ""),
        fmt::format("give every rank a GPU of its own (at least {} visible on that host), or "
                    "lower the parallel sizes; check CUDA_VISIBLE_DEVICES",
                    local + 1));
  }
  return Device::cuda(share ? local_rank % own : local_rank);
}

// The GPU groups over the host ones (a group of one needs no NCCL).
void add_device_groups(OwnedGroups& g, int local_rank, int tp, int pp) {
  const bool staged = host_staged_device_groups();
  g.device = agree_on_gpu(*g.world, local_rank, tp, pp, staged);
  const auto over = [&](Communicator& host) -> std::unique_ptr<Communicator> {
    if (host.size() == 1) return std::make_unique<SingleCommunicator>();
    if (staged) return std::make_unique<HostStagedCommunicator>(host, g.device);
#ifdef PAGODA_HAS_CUDA
    return make_nccl_communicator(host, g.device);
#else
    throw Error(ErrorCode::Unsupported, "GPU ranks in a build without the CUDA backend",
                "build with the cuda preset");
#endif
  };
  g.device_tp = over(*g.host_tp);
  g.device_pp = over(*g.host_pp);
}

#ifdef PAGODA_HAS_MPI
// One engine shape's MPI groups, kept for the life of the process (splitting is collective, so
// every rank creates the same ones in the same order, once).
RankGroups mpi_groups(int tp, int pp, Device device) {
  static std::mutex mutex;
  static std::map<std::tuple<int, int, int, int>, OwnedGroups> cache;
  std::lock_guard lock(mutex);
  const auto key = std::make_tuple(tp, pp, static_cast<int>(device.type), device.index);
  auto it = cache.find(key);
  if (it == cache.end()) {
    OwnedGroups g;
    g.device = device;
    g.world = mpi_world();
    const int rank = g.world->rank();
    PAGODA_CHECK(
        g.world->size() == tp * pp, InvalidArgument,
        fmt::format("tensor_parallel_size {} x pipeline_parallel_size {} is {} ranks, but MPI's "
                    "world has {}",
                    tp, pp, tp * pp, g.world->size()),
        fmt::format("start exactly {} processes: mpirun -np {} pagoda ...", tp * pp, tp * pp));
    check_same_shape(*g.world, tp, pp);
    g.host_tp = mpi_split(*g.world, /*color=*/rank / tp, /*key=*/rank % tp);
    g.host_pp = mpi_split(*g.world, /*color=*/rank % tp, /*key=*/rank / tp);
    if (device.is_cuda()) add_device_groups(g, pagoda::launcher_info().local_rank, tp, pp);
    it = cache.emplace(key, std::move(g)).first;
  }
  return it->second.view();
}
#endif

// The groups of ranks Pagoda starts on this host: rank 0 starts the others; they join.
RankGroups local_groups(int tp, int pp, Device device) {
  auto g = std::make_shared<OwnedGroups>();
  g->device = device;
  g->ranks = LocalRanks::is_started_rank() ? LocalRanks::joined() : LocalRanks::start(tp * pp);
  LocalRanks& ranks = *g->ranks;
  PAGODA_CHECK(ranks.size() == tp * pp, InvalidArgument,
               fmt::format("rank {} was started in a world of {} ranks, but it runs "
                           "tensor_parallel_size {} x pipeline_parallel_size {}",
                           ranks.rank(), ranks.size(), tp, pp),
               "give every rank the same --tensor-parallel-size and --pipeline-parallel-size");
  const auto alive = [&ranks] { ranks.check_alive(); };
  const int rank = ranks.rank();
  g->world =
      make_socket_communicator(ranks.dir(), "world", rank, tp * pp, kRendezvousTimeout, alive);
  check_same_shape(*g->world, tp, pp);
  g->host_tp = make_socket_communicator(ranks.dir(), fmt::format("tp{}", rank / tp), rank % tp, tp,
                                        kRendezvousTimeout, alive);
  g->host_pp = make_socket_communicator(ranks.dir(), fmt::format("pp{}", rank % tp), rank / tp, pp,
                                        kRendezvousTimeout, alive);
  if (device.is_cuda()) add_device_groups(*g, rank, tp, pp);
  RankGroups view = g->view();
  view.owner = g;
  return view;
}

}  // namespace

RankGroups rank_groups(int tp, int pp, Device device, const std::string& backend) {
  PAGODA_CHECK(
      tp >= 1 && pp >= 1, InvalidArgument,
      fmt::format("tensor_parallel_size {} and pipeline_parallel_size {}; both must be >= 1", tp,
                  pp),
      "pass sizes of at least 1");
  PAGODA_CHECK(backend.empty() || backend == "mp" || backend == "mpi", InvalidArgument,
               fmt::format("distributed_executor_backend '{}'", backend),
               "use mp (Pagoda starts one process per rank on this host) or mpi (mpirun does)");
  if (tp * pp == 1) {
    static SingleCommunicator single;
    RankGroups g{&single, &single, &single};
    g.device = device;
    return g;
  }
  if (installed != nullptr) {
    PAGODA_CHECK(installed->tp->size() == tp && installed->pp->size() == pp, InvalidArgument,
                 fmt::format("this thread's rank groups are {} x {}, but {} x {} was asked for",
                             installed->tp->size(), installed->pp->size(), tp, pp),
                 "install groups of the engine's shape");
    RankGroups g = *installed;
    g.device = device;
    return g;
  }
  PAGODA_CHECK(
      !device.is_cuda() || device.index == 0, InvalidArgument,
      fmt::format("device {} with tensor_parallel_size {} x pipeline_parallel_size {}: a parallel "
                  "engine puts each rank on the GPU of its local rank",
                  device.to_string(), tp, pp),
      "pass --device cuda, and choose the GPUs with CUDA_VISIBLE_DEVICES");
  const LauncherInfo launcher = pagoda::launcher_info();
  const bool under_mpirun = launcher.world_size > 1 && !LocalRanks::is_started_rank();
  PAGODA_CHECK(!(under_mpirun && backend == "mp"), InvalidArgument,
               "distributed_executor_backend mp under mpirun: mpirun has already started the ranks",
               "leave out --distributed-executor-backend (or pass mpi) under mpirun");
  if (LocalRanks::is_started_rank() ||
      (!under_mpirun && (backend == "mp" || (backend.empty() && device.is_cuda()))))
    return local_groups(tp, pp, device);
  PAGODA_CHECK(
      under_mpirun, InvalidArgument,
      fmt::format("tensor_parallel_size {} x pipeline_parallel_size {} needs {} processes, one per "
                  "rank, but this process was not started by mpirun",
                  tp, pp, tp * pp),
      fmt::format("start it as: mpirun -np {} pagoda ..., or let Pagoda start the ranks on this "
                  "host with --distributed-executor-backend mp (see docs/distributed.md)",
                  tp * pp));
#ifdef PAGODA_HAS_MPI
  return mpi_groups(tp, pp, device);
#else
  throw Error(ErrorCode::Unsupported,
              "this build of Pagoda has no MPI, so mpirun's ranks cannot talk to each other",
              "install libopenmpi-dev and rebuild (scripts/install-deps.sh does), or run on one "
              "host with --distributed-executor-backend mp");
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
  using distributed::env_int;
  LauncherInfo info;
  // The ranks Pagoda started on one host (local_ranks.h) are all local.
  if (const auto started = distributed::LocalRanks::joined()) {
    info.world_rank = info.local_rank = started->rank();
    info.world_size = info.local_size = started->size();
    return info;
  }
  info.world_size = env_int("OMPI_COMM_WORLD_SIZE", env_int("PMI_SIZE", 1));
  info.world_rank = env_int("OMPI_COMM_WORLD_RANK", env_int("PMI_RANK", 0));
  info.local_size = env_int("OMPI_COMM_WORLD_LOCAL_SIZE", env_int("MPI_LOCALNRANKS", 1));
  info.local_rank = env_int("OMPI_COMM_WORLD_LOCAL_RANK", env_int("MPI_LOCALRANKID", 0));
  return info;
}

}  // namespace pagoda
