// The ranks of one engine and the communicators that join them: the world (rank 0 runs the
// scheduler, tokenizer and API), the tensor-parallel group of each pipeline stage and the
// pipeline group of each tensor-parallel rank. Ranks are separate processes started by mpirun
// (MPI) or by Pagoda itself on one host (local_ranks.h, over sockets), or, in tests, threads of
// one process (in-process groups). The world always moves host memory (rank 0's steps); on GPU
// ranks the tensor-parallel and pipeline groups are NCCL's, bootstrapped over the host ones.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pagoda/communicator.h"
#include "pagoda/distributed.h"

namespace pagoda::distributed {

// The communicators of one engine's ranks.
struct RankGroups {
  RankGroups() = default;
  RankGroups(Communicator* world_group, Communicator* tp_group, Communicator* pp_group)
      : world(world_group), tp(tp_group), pp(pp_group) {}

  Communicator* world = nullptr;
  Communicator* tp = nullptr;
  Communicator* pp = nullptr;
  // Where this rank runs: the engine's device, except that the ranks of a parallel GPU engine
  // each take the GPU of their local rank on their host (cuda:0, cuda:1, ...).
  Device device = Device::cpu();
  // Keeps the communicators (and the ranks Pagoda started) alive while any copy of these groups
  // is: set for engines whose groups are their own; null for MPI's, kept for the process.
  std::shared_ptr<const void> owner;

  int world_rank() const { return world->rank(); }
  ParallelState parallel() const { return ParallelState::from(*tp, *pp); }
};

// How the ranks of a parallel engine are started (EngineArgs::distributed_executor_backend):
//   "mpi"  by mpirun (one host or several);
//   "mp"   by Pagoda on this host, one process per rank (local_ranks.h);
//   ""     mpi under mpirun, else mp for GPU engines; CPU engines outside mpirun must ask for mp.
//
// The groups of a tp x pp engine on `device`, for the calling rank: the in-process groups
// installed on this thread (ScopedRankGroups), single communicators when tp = pp = 1, MPI's world
// split into stages (created on first use for each shape and device; every rank must ask for the
// same ones in the same order), or, for mp, new groups this engine owns: rank 0 starts the other
// ranks here, and each of them, finding its place in its environment, joins. Throws
// pagoda::Error naming the fix when the world does not have tp * pp ranks, the ranks disagree on
// tp and pp, a GPU rank has no GPU of its own, or MPI or NCCL cannot start; every rank of the
// world throws the same error.
RankGroups rank_groups(int tp, int pp, Device device = Device::cpu(),
                       const std::string& backend = "");

// Installs a thread's groups for rank_groups() (tests run each rank on its own thread).
class ScopedRankGroups {
 public:
  explicit ScopedRankGroups(RankGroups groups);
  ~ScopedRankGroups();
  ScopedRankGroups(const ScopedRankGroups&) = delete;
  ScopedRankGroups& operator=(const ScopedRankGroups&) = delete;

 private:
  const RankGroups* previous_;
  RankGroups groups_;
};

// tp x pp ranks as threads of this process, laid out as the MPI world is: groups(r) for the
// thread running world rank r.
class InProcessWorld {
 public:
  InProcessWorld(int tp, int pp);
  RankGroups groups(int world_rank) const;
  int size() const { return tp_ * pp_; }

 private:
  int tp_, pp_;
  std::vector<std::unique_ptr<Communicator>> world_;
  std::vector<std::vector<std::unique_ptr<Communicator>>> tp_groups_;  // per stage
  std::vector<std::vector<std::unique_ptr<Communicator>>> pp_groups_;  // per tp rank
};

}  // namespace pagoda::distributed
