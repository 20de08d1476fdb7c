// CUDA graphs of the work Pagoda queues on a device's stream: captured once, replayed many times
// with one launch (decode steps, where launching ~10 kernels per layer one by one costs more
// than the kernels themselves at small batch sizes). Plain C++: the engine includes it in the
// CUDA build.
#pragma once

#include <functional>

#include "pagoda/device.h"

namespace pagoda::cuda {

class CapturedGraph {
 public:
  // Runs `body` while capturing the device stream's work into a graph. Memory `body` allocates
  // comes from private pool `pool` (cuda_allocator.h), so it stays the graph's own; tensors
  // that `body` keeps (the outputs) are where every replay writes. Anything in `body` that waits
  // for the device makes the capture fail: pagoda::Error(Unsupported) naming the CUDA error.
  CapturedGraph(Device device, int pool, const std::function<void()>& body);
  ~CapturedGraph();
  CapturedGraph(const CapturedGraph&) = delete;
  CapturedGraph& operator=(const CapturedGraph&) = delete;

  // Queues the captured work on the device's stream.
  void replay();

 private:
  Device device_;
  void* graph_ = nullptr;  // cudaGraph_t
  void* exec_ = nullptr;   // cudaGraphExec_t
};

}  // namespace pagoda::cuda
