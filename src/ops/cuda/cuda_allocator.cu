// Device memory for tensors on CUDA GPUs, behind the Allocator interface.
// fmt's compile-time format strings do not survive nvcc (consteval), so messages here are built
// with std::string.
#include <cuda_runtime.h>
#include <string>

#include <array>
#include <atomic>
#include <memory>
#include <mutex>

#include "pagoda/allocator.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

void check_cuda(cudaError_t status, const char* what, int device) {
  if (status == cudaSuccess) return;
  const ErrorCode code = status == cudaErrorMemoryAllocation ? ErrorCode::OutOfMemory : ErrorCode::Io;
  throw_error(code, std::string(what) + " on cuda:" + std::to_string(device) + " failed: " + cudaGetErrorString(status),
              status == cudaErrorMemoryAllocation
                  ? "lower --gpu-memory-utilization, --max-model-len or --max-num-seqs"
                  : "check that the GPU is visible (nvidia-smi) and CUDA_VISIBLE_DEVICES");
}

class CudaAllocator final : public Allocator {
 public:
  explicit CudaAllocator(int device) : device_(device) {}
  void* allocate(size_t bytes, size_t /*alignment: cudaMalloc gives 256 bytes*/) override {
    void* p = nullptr;
    check_cuda(cudaSetDevice(device_), "cudaSetDevice", device_);
    check_cuda(cudaMalloc(&p, bytes == 0 ? 1 : bytes), "cudaMalloc", device_);
    in_use_ += bytes;
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    if (!ptr) return;
    cudaSetDevice(device_);
    cudaFree(ptr);  // errors at teardown cannot be reported usefully
    in_use_ -= bytes;
  }
  Device device() const override { return Device::cuda(device_); }
  size_t bytes_in_use() const override { return in_use_.load(); }

 private:
  int device_;
  std::atomic<size_t> in_use_{0};
};

Allocator* cuda_allocator(int device) {
  static std::mutex mutex;
  static std::array<std::unique_ptr<CudaAllocator>, 64> allocators;
  int count = 0;
  check_cuda(cudaGetDeviceCount(&count), "cudaGetDeviceCount", device);
  PAGODA_CHECK(device >= 0 && device < count, InvalidArgument,
               "cuda:" + std::to_string(device) + " requested but " + std::to_string(count) + " CUDA device(s) are visible",
               "choose a device index below the device count, or check CUDA_VISIBLE_DEVICES");
  std::lock_guard lock(mutex);
  auto& slot = allocators[static_cast<size_t>(device)];
  if (!slot) slot = std::make_unique<CudaAllocator>(device);
  return slot.get();
}

// Registers the CUDA allocator when libpagoda is loaded.
const bool registered = [] {
  register_allocator(DeviceType::CUDA, &cuda_allocator);
  return true;
}();

}  // namespace
}  // namespace pagoda
