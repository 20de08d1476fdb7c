// Collective and point-to-point communication between ranks, and the parallel state every
// parallel layer reads its ranks and groups from.
//
// Implementations: SingleCommunicator (a group of one), an in-process group whose ranks are
// threads (tests), MPI (CPU ranks in separate processes, src/distributed/mpi_communicator.cpp) and
// NCCL (CUDA ranks, src/distributed/nccl_communicator.cpp). Every rank of a group calls a
// collective with tensors of the same shape and dtype, in the same order.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "pagoda/tensor.h"

namespace pagoda {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: every rank's `tensor` becomes the element-wise sum over ranks. f32, bf16 and f16
  // (the in-process and MPI groups sum half types in f32).
  virtual void all_reduce_sum(Tensor& tensor) = 0;
  // Concatenates each rank's `input` along dimension `dim` into `output` (rank order) on every
  // rank. `output` is the input's shape with dimension `dim` times size().
  virtual void all_gather(const Tensor& input, Tensor& output, int dim) = 0;
  // As all_gather, but only rank `root` receives; the other ranks' `output` is not touched (it
  // may be undefined there).
  virtual void gather(const Tensor& input, Tensor& output, int dim, int root) = 0;
  // Every rank's `tensor` becomes rank `root`'s. Contiguous, the same shape and dtype everywhere.
  virtual void broadcast(Tensor& tensor, int root) = 0;
  // Point to point within the group: `tensor` goes to rank `dst`, which receives it into a
  // contiguous tensor of the same shape and dtype with recv(..., src). Pairs match in call order.
  virtual void send(const Tensor& tensor, int dst) = 0;
  virtual void recv(Tensor& tensor, int src) = 0;
  // Waits until every rank has arrived.
  virtual void barrier() = 0;
};

// Rank `root`'s `bytes` on every rank (any length: the length travels first). CPU groups only.
void broadcast_bytes(Communicator& group, std::string& bytes, int root);
// Every rank's `value`, in rank order, on every rank. CPU groups only.
std::vector<int64_t> all_gather_values(Communicator& group, int64_t value);

// The communicator of a group of one: collectives copy or do nothing; send and recv have no peer.
class SingleCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Tensor&) override {}
  void all_gather(const Tensor& input, Tensor& output, int dim) override;
  void gather(const Tensor& input, Tensor& output, int dim, int root) override;
  void broadcast(Tensor&, int root) override;
  void send(const Tensor& tensor, int dst) override;
  void recv(Tensor& tensor, int src) override;
  void barrier() override {}
};

// Creates the communicators of one in-process group of `size` ranks, one per thread: hand
// communicators[r] to the thread running rank r. Collectives block until all ranks call them.
std::vector<std::unique_ptr<Communicator>> make_in_process_group(int size);

// Tensor- and pipeline-parallel ranks and groups. tp_size == 1 and pp_size == 1 are the special
// case, not the design: every parallel layer and model reads this.
//
// The world of tp_size * pp_size ranks is laid out as vLLM lays it out: world rank =
// pp_rank * tp_size + tp_rank, so a tensor-parallel group is tp_size consecutive ranks (one
// pipeline stage) and a pipeline group is the ranks of one tp_rank across the stages.
struct ParallelState {
  int tp_rank = 0;
  int tp_size = 1;
  Communicator* tp_group = nullptr;  // not owned; never null once set up
  int pp_rank = 0;
  int pp_size = 1;
  Communicator* pp_group = nullptr;  // not owned; the stages of this tp_rank, in stage order

  bool is_first_stage() const { return pp_rank == 0; }
  bool is_last_stage() const { return pp_rank == pp_size - 1; }

  // tp = pp = 1 with SingleCommunicators.
  static ParallelState single();
  // Tensor parallelism over `tp`, one pipeline stage.
  static ParallelState from(Communicator& tp);
  // Tensor parallelism over `tp`, pipeline stages over `pp`.
  static ParallelState from(Communicator& tp, Communicator& pp);
};

}  // namespace pagoda
