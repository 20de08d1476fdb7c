#include "ops/cuda/cuda_runtime.h"

#include <array>
#include <mutex>

#include "pagoda/error.h"

namespace pagoda::cuda {

void check(cudaError_t status, const char* what) {
  if (status == cudaSuccess) return;
  cudaGetLastError();  // clear a sticky-free error so the next call starts clean
  const bool oom = status == cudaErrorMemoryAllocation;
  throw_error(oom ? ErrorCode::OutOfMemory : ErrorCode::Io,
              std::string(what) + " failed: " + cudaGetErrorName(status) + " (" +
                  cudaGetErrorString(status) + ")",
              oom ? "lower --kv-cache-memory, --max-model-len or --max-num-seqs, or use a larger GPU"
                  : "check the GPU with nvidia-smi; a kernel fault here is a Pagoda bug, please "
                    "report it with the command that triggered it");
}

void check_launch(const char* op) { check(cudaGetLastError(), op); }

cudaStream_t stream(int device) {
  static std::mutex mutex;
  static std::array<cudaStream_t, 64> streams{};
  std::lock_guard lock(mutex);
  cudaStream_t& s = streams.at(static_cast<size_t>(device));
  if (!s) {
    int current = 0;
    check(cudaGetDevice(&current), "cudaGetDevice");
    check(cudaSetDevice(device), "cudaSetDevice");
    check(cudaStreamCreateWithFlags(&s, cudaStreamNonBlocking), "cudaStreamCreate");
    check(cudaSetDevice(current), "cudaSetDevice");
  }
  return s;
}

cudaStream_t use_device(Device device) {
  check(cudaSetDevice(device.index), "cudaSetDevice");
  return stream(device.index);
}

void synchronize(Device device) {
  check(cudaStreamSynchronize(stream(device.index)), "cudaStreamSynchronize");
}

}  // namespace pagoda::cuda
