// Communicators over NCCL, for CUDA ranks: one process per GPU, tensors on that GPU. NCCL's
// collectives are queued on the device's Pagoda stream (ops/cuda/cuda_runtime.h), so they order
// with the kernels around them and the host does not wait.
#pragma once

#include <memory>
#include <string>

#include "pagoda/communicator.h"
#include "pagoda/device.h"

namespace pagoda::distributed {

// A NCCL communicator over the ranks of `bootstrap` (any CPU communicator: MPI's world across
// processes, or a SingleCommunicator for one rank), each rank on its own `device`. Rank 0 makes
// the NCCL unique id and broadcasts it over `bootstrap`. Throws pagoda::Error when NCCL cannot
// start (the error names NCCL's reason).
std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, Device device);

// The same from an id shared some other way (processes Pagoda starts itself): nccl_unique_id() on
// one rank, its bytes handed to all `size` ranks, each calling this with its own rank and GPU.
std::string nccl_unique_id();
std::unique_ptr<Communicator> make_nccl_communicator(const std::string& unique_id, int rank, int size,
                                                     Device device);

}  // namespace pagoda::distributed
