// Tensor::copy_from across devices (host <-> CUDA, CUDA <-> CUDA) and Tensor::zeros on CUDA,
// registered with the core.
// Both tensors must be contiguous: strided device copies are done by ops, not by copy_from.
#include <string>

#include "ops/cuda/cuda_allocator.h"
#include "ops/cuda/cuda_runtime.h"
#include "pagoda/allocator.h"
#include "core/device_copy.h"
#include "pagoda/error.h"
#include "pagoda/tensor.h"

namespace pagoda::cuda {
namespace {

void copy_across_devices(Tensor& dst, const Tensor& src) {
  PAGODA_CHECK(dst.is_contiguous() && src.is_contiguous(), Unsupported,
               "copy_from " + src.to_string() + " to " + dst.to_string() +
                   ": copies between devices need contiguous tensors",
               "call contiguous() on the source (and copy into a contiguous destination)");
  const Device d = dst.device(), s = src.device();
  const size_t bytes = dst.nbytes();
  if (d.is_cuda() && s.is_cuda() && d.index != s.index) {
    cudaStream_t stream = use_device(d);
    check(cudaMemcpyPeerAsync(dst.mutable_data(), d.index, src.data(), s.index, bytes, stream),
          "cudaMemcpyPeerAsync");
    synchronize(d);
    return;
  }
  const Device gpu = d.is_cuda() ? d : s;
  cudaStream_t stream = use_device(gpu);
  const cudaMemcpyKind kind = d.is_cuda() && s.is_cuda() ? cudaMemcpyDeviceToDevice
                              : d.is_cuda()              ? cudaMemcpyHostToDevice
                                                         : cudaMemcpyDeviceToHost;
  check(cudaMemcpyAsync(dst.mutable_data(), src.data(), bytes, kind, stream), "cudaMemcpyAsync");
  // The host side must be safe to read (device to host) or to free (host to device) on return.
  synchronize(gpu);
}

void zero_device_tensor(Tensor& dst) {
  cudaStream_t stream = use_device(dst.device());
  check(cudaMemsetAsync(dst.mutable_data(), 0, dst.nbytes(), stream), "cudaMemsetAsync");
}

DeviceMemory device_memory(Device device) {
  use_device(device);
  size_t free = 0, total = 0;
  check(cudaMemGetInfo(&free, &total), "cudaMemGetInfo");
  const size_t cached = caching_allocator(device.index).bytes_cached();
  return {static_cast<int64_t>(free + cached), static_cast<int64_t>(total)};
}

const bool registered = [] {
  register_device_memory_query(&device_memory);
  register_device_copy(&copy_across_devices);
  register_device_zero(&zero_device_tensor);
  return true;
}();

}  // namespace
}  // namespace pagoda::cuda
