// The CUDA backend's runtime pieces shared by every op: error checks that name the call and the
// fix, the stream ops run on (one per device), and element-type traits for kernels.
// Included only from .cu files and CUDA-build .cpp files.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <string>

#include "pagoda/device.h"
#include "pagoda/dtype.h"

namespace pagoda::cuda {

// Throws pagoda::Error naming `what` (an API call or an op) and the CUDA error.
void check(cudaError_t status, const char* what);
// After a kernel launch: launch-configuration errors and faults of earlier async work.
void check_launch(const char* op);

// The stream every Pagoda op on `device` is queued on (created on first use). One stream per
// device keeps every op in order, so the caching allocator may reuse a freed block at once.
cudaStream_t stream(int device);
// Makes `device` current on this thread and returns its stream.
cudaStream_t use_device(Device device);
// Waits for everything queued on the device's stream.
void synchronize(Device device);

}  // namespace pagoda::cuda
