// Ranks that Pagoda starts itself on one host (--distributed-executor-backend mp, the default for
// parallel GPU engines outside mpirun), as vLLM's multiprocessing executor does.
//
// World rank 0 runs this program again once per other rank: the same executable and the same
// arguments, with the rank, the world size and a rendezvous directory in the environment.
// launcher_info() reads them there, so each copy takes the path every multi-process rank takes
// (the CLI's serve_as_worker; in a C++ program, its check of launcher_info().world_rank before
// run_engine_worker). The ranks then meet over Unix-domain sockets in the directory
// (socket_communicator.h).
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <memory>
#include <vector>

namespace pagoda::distributed {

class LocalRanks {
 public:
  // On world rank 0: starts ranks 1 .. size - 1. Throws pagoda::Error when they cannot start.
  static std::shared_ptr<LocalRanks> start(int size);
  // In a rank that start() made: its place, from the environment. Null in any other process.
  static std::shared_ptr<LocalRanks> joined();
  // Whether this process is a rank that start() made (without building anything).
  static bool is_started_rank();

  // Rank 0: waits (bounded) for the ranks it started to exit, stops those that do not, and
  // removes the rendezvous directory.
  ~LocalRanks();
  LocalRanks(const LocalRanks&) = delete;
  LocalRanks& operator=(const LocalRanks&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::filesystem::path& dir() const { return dir_; }
  // Throws pagoda::Error when a peer process is gone: on rank 0, a started rank that exited
  // (with its exit status); elsewhere, rank 0. Called while waiting for peers to connect.
  void check_alive();

 private:
  LocalRanks(int rank, int size, std::filesystem::path dir)
      : rank_(rank), size_(size), dir_(std::move(dir)) {}

  int rank_, size_;
  std::filesystem::path dir_;
  std::vector<pid_t> children_;  // rank 0: the pid of rank r + 1; -1 once reaped
  pid_t parent_ = 0;             // other ranks: rank 0's pid
};

}  // namespace pagoda::distributed
