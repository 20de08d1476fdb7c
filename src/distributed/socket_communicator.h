// Communicators over Unix-domain sockets, for the ranks Pagoda starts itself on one host
// (--distributed-executor-backend mp): the CPU world that carries rank 0's steps, and the
// tensor-parallel and pipeline groups of CPU ranks (GPU ranks use NCCL for those, bootstrapped
// over these). Written by hand because no Debian library offers collectives between processes
// without a launcher: MPI needs mpirun, and gloo is not packaged.
#pragma once

#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <string>

#include "pagoda/communicator.h"

namespace pagoda::distributed {

// Rank `rank` of the group `name` of `size` ranks, meeting in `dir` (a directory every rank can
// reach; a socket per rank and group is made there). Every rank of the group calls this; it
// returns once all ranks are connected to each other. While waiting it calls `still_waiting` every
// tenth of a second, which may throw to give up (a peer process exited), and it throws
// pagoda::Error naming the missing ranks after `timeout`.
std::unique_ptr<Communicator> make_socket_communicator(
    const std::filesystem::path& dir, const std::string& name, int rank, int size,
    std::chrono::milliseconds timeout, const std::function<void()>& still_waiting = {});

}  // namespace pagoda::distributed
