// Multi-process engines: tensor and pipeline parallelism with one process per rank.
//
// Every rank runs the same program with the same arguments, started by mpirun on CPUs:
//
//   mpirun -np 2 pagoda generate MODEL --tensor-parallel-size 2 --prompt "..."
//
// World rank 0 builds the engine (EngineCore, LLM, AsyncEngine, the server): it schedules,
// tokenizes, samples and answers. Every other rank calls run_engine_worker(), which executes rank
// 0's steps on its share of the model until rank 0's engine is destroyed. See docs/distributed.md.
#pragma once

#include "pagoda/engine_args.h"

namespace pagoda {

// What the launcher (mpirun) told this process through its environment (Open MPI's
// OMPI_COMM_WORLD_*, or PMI_RANK/PMI_SIZE), read without starting MPI. One rank of one when
// the process was not started by a launcher.
struct LauncherInfo {
  int world_rank = 0, world_size = 1;
  int local_rank = 0, local_size = 1;  // the ranks on this host
};
LauncherInfo launcher_info();

// The share of a multi-process engine's work that world rank `rank > 0` does: loads its part of
// the model (args must be the engine's arguments: tensor_parallel_size and pipeline_parallel_size
// as on rank 0; the rest comes from rank 0), then runs each step rank 0 sends, until rank 0's
// engine shuts down. Throws pagoda::Error when start-up fails on any rank (every rank then fails
// with the same message) or rank 0's engine could not start.
void run_engine_worker(const EngineArgs& args);

}  // namespace pagoda
