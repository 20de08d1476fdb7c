#include <string>

#include "ops/cuda/cuda_allocator.h"
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/graph.h"
#include "pagoda/error.h"

namespace pagoda::cuda {

CapturedGraph::CapturedGraph(Device device, int pool, const std::function<void()>& body)
    : device_(device) {
  cudaStream_t s = use_device(device);
  // Relaxed: the caching allocator may still need cudaMalloc for a new block of the pool.
  check(cudaStreamBeginCapture(s, cudaStreamCaptureModeRelaxed), "cudaStreamBeginCapture");
  try {
    ScopedPrivatePool scoped(pool);
    body();
  } catch (...) {
    cudaGraph_t partial = nullptr;
    cudaStreamEndCapture(s, &partial);
    if (partial) cudaGraphDestroy(partial);
    cudaGetLastError();
    throw;
  }
  cudaGraph_t graph = nullptr;
  const cudaError_t ended = cudaStreamEndCapture(s, &graph);
  if (ended != cudaSuccess) {
    cudaGetLastError();
    throw_error(ErrorCode::Unsupported,
                std::string("CUDA graph capture failed: ") + cudaGetErrorName(ended) + " (" +
                    cudaGetErrorString(ended) + ")",
                "something in the captured step waits for the GPU; run without CUDA graphs "
                "(--enforce-eager) and report it");
  }
  graph_ = graph;
  cudaGraphExec_t exec = nullptr;
  check(cudaGraphInstantiate(&exec, graph, 0), "cudaGraphInstantiate");
  exec_ = exec;
}

CapturedGraph::~CapturedGraph() {
  if (exec_) cudaGraphExecDestroy(static_cast<cudaGraphExec_t>(exec_));
  if (graph_) cudaGraphDestroy(static_cast<cudaGraph_t>(graph_));
}

void CapturedGraph::replay() {
  cudaStream_t s = use_device(device_);
  check(cudaGraphLaunch(static_cast<cudaGraphExec_t>(exec_), s), "cudaGraphLaunch");
}

}  // namespace pagoda::cuda
