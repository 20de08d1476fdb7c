// The ranks of one engine and the communicators that join them: the world (rank 0 runs the
// scheduler, tokenizer and API), the tensor-parallel group of each pipeline stage and the
// pipeline group of each tensor-parallel rank. Ranks are separate processes started by mpirun
// (MPI), or, in tests, threads of one process (in-process groups).
#pragma once

#include <memory>
#include <vector>

#include "pagoda/communicator.h"
#include "pagoda/distributed.h"

namespace pagoda::distributed {

// The communicators of one engine's ranks (not owned).
struct RankGroups {
  Communicator* world = nullptr;
  Communicator* tp = nullptr;
  Communicator* pp = nullptr;

  int world_rank() const { return world->rank(); }
  ParallelState parallel() const { return ParallelState::from(*tp, *pp); }
};

// The groups of a tp x pp engine, for the calling rank: the in-process groups installed on this
// thread (ScopedRankGroups), single communicators when tp = pp = 1, or else MPI's world split into
// stages (created on first use for each shape; every rank must ask for the same shapes in the same
// order). Throws pagoda::Error naming the fix when the world does not have tp * pp ranks, the
// ranks disagree on tp and pp, or MPI is missing or cannot start.
RankGroups rank_groups(int tp, int pp);

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
