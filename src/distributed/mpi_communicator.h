// Communicators over MPI, for CPU ranks in separate processes (started by mpirun, on one host or
// several). Compiled when CMake finds MPI (PAGODA_HAS_MPI); Debian's Open MPI is the one tested.
#pragma once

#include <memory>

#include "pagoda/communicator.h"

namespace pagoda::distributed {

// A duplicate of MPI_COMM_WORLD. Starts MPI on first use (MPI_Init_thread; MPI_Finalize runs at
// exit). Throws pagoda::Error when MPI cannot start.
std::unique_ptr<Communicator> mpi_world();

// MPI_Comm_split of an MPI communicator: the ranks that pass the same `color` form a group,
// ordered by `key`. Collective over `parent`, which must come from mpi_world() or this function.
std::unique_ptr<Communicator> mpi_split(Communicator& parent, int color, int key);

}  // namespace pagoda::distributed
