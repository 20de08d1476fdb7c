// Why on the device and not by copying the indices to the host: the check moves 8 bytes back
// whatever T is (a long prefill has thousands of ids), and the indices may be produced on the GPU
// (sampled tokens), so the host has no copy to look at. Either way the host must wait for the
// stream once per call; that wait is the price of throwing before anything is written.
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/index_check.h"
#include "ops/checks.h"

namespace pagoda::cuda {
namespace {

// first = min over the offending positions (unchanged, all ones, when none offends).
template <class I>
__global__ void first_out_of_range_kernel(const I* indices, int64_t stride, int64_t n,
                                          int64_t bound, unsigned long long* first) {
  for (int64_t t = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; t < n;
       t += int64_t{gridDim.x} * blockDim.x) {
    const int64_t v = indices[t * stride];
    if (v < 0 || v >= bound) atomicMin(first, static_cast<unsigned long long>(t));
  }
}

}  // namespace

OutOfRange first_out_of_range(const Tensor& indices, int64_t bound) {
  const int64_t n = indices.size(0);
  if (n == 0 || ops::detail::indices_trusted()) return {};
  cudaStream_t stream = use_device(indices.device());
  Tensor first = Tensor::empty({1}, DType::I64, indices.device());
  auto* first_ptr = static_cast<unsigned long long*>(first.mutable_data());
  check(cudaMemsetAsync(first_ptr, 0xff, sizeof(unsigned long long), stream), "cudaMemsetAsync");
  constexpr int kThreads = 256;
  const int64_t blocks = (n + kThreads - 1) / kThreads;
  const unsigned grid = static_cast<unsigned>(blocks < 1024 ? blocks : 1024);
  const bool i64 = indices.dtype() == DType::I64;
  if (i64)
    first_out_of_range_kernel<<<grid, kThreads, 0, stream>>>(
        static_cast<const int64_t*>(indices.data()), indices.stride(0), n, bound, first_ptr);
  else
    first_out_of_range_kernel<<<grid, kThreads, 0, stream>>>(
        static_cast<const int32_t*>(indices.data()), indices.stride(0), n, bound, first_ptr);
  check_launch("index range check");
  unsigned long long host_first = 0;
  check(cudaMemcpyAsync(&host_first, first_ptr, sizeof(host_first), cudaMemcpyDeviceToHost, stream),
        "cudaMemcpyAsync");
  synchronize(indices.device());
  if (host_first == ~0ull) return {};
  // The error path only: fetch the offending value itself for the message.
  OutOfRange bad;
  bad.position = static_cast<int64_t>(host_first);
  const char* element = static_cast<const char*>(indices.data()) +
                        bad.position * indices.stride(0) * static_cast<int64_t>(indices.itemsize());
  if (i64) {
    check(cudaMemcpy(&bad.value, element, sizeof(int64_t), cudaMemcpyDeviceToHost), "cudaMemcpy");
  } else {
    int32_t v = 0;
    check(cudaMemcpy(&v, element, sizeof(int32_t), cudaMemcpyDeviceToHost), "cudaMemcpy");
    bad.value = v;
  }
  return bad;
}

}  // namespace pagoda::cuda
