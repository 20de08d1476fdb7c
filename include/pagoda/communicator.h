// Collective communication between the ranks of a tensor-parallel group, and the parallel state
// every parallel layer reads its rank and size from.
//
// Implementations: SingleCommunicator (tp = 1), an in-process group whose ranks are threads (for
// tests and single-process CPU runs), and later MPI (CPU, across processes) and NCCL (CUDA).
#pragma once

#include <memory>
#include <vector>

#include "pagoda/tensor.h"

namespace pagoda {

class Communicator {
 public:
  virtual ~Communicator() = default;
  virtual int rank() const = 0;
  virtual int size() const = 0;
  // In place: every rank's `tensor` becomes the element-wise sum over ranks. The same shape and
  // dtype on every rank; f32, bf16 and f16 (half types are summed in f32). Every rank gets
  // bitwise the same result.
  virtual void all_reduce_sum(Tensor& tensor) = 0;
  // Concatenates each rank's `input` along dimension `dim` into `output` (rank order).
  virtual void all_gather(const Tensor& input, Tensor& output, int dim) = 0;
  // Waits until every rank has arrived.
  virtual void barrier() = 0;
};

// The communicator of a group of one: every collective is the identity.
class SingleCommunicator final : public Communicator {
 public:
  int rank() const override { return 0; }
  int size() const override { return 1; }
  void all_reduce_sum(Tensor&) override {}
  void all_gather(const Tensor& input, Tensor& output, int dim) override;
  void barrier() override {}
};

// Creates the communicators of one in-process group of `size` ranks, one per thread: hand
// communicators[r] to the thread running rank r. Collectives block until all ranks call them.
std::vector<std::unique_ptr<Communicator>> make_in_process_group(int size);

// Tensor-parallel rank and size, and the group's communicator. tp_size == 1 is the special case,
// not the design: every parallel layer reads this.
struct ParallelState {
  int tp_rank = 0;
  int tp_size = 1;
  Communicator* tp_group = nullptr;  // not owned; never null once set up

  // tp = 1 with a SingleCommunicator.
  static ParallelState single();
  // From a communicator: rank and size are its own.
  static ParallelState from(Communicator& group);
};

}  // namespace pagoda
