// What the core needs from a device backend: copies between devices, zero fill and memory
// figures. The CUDA backend registers its functions here when libpagoda loads; Tensor::copy_from
// and Tensor::zeros call them when a tensor is not on the CPU.
// Internal to libpagoda (not a public header).
#pragma once

#include <cstdint>

#include "pagoda/device.h"

namespace pagoda {

class Tensor;
// Copies src into dst (one shape and dtype); complete on return.
using DeviceCopy = void (*)(Tensor& dst, const Tensor& src);
void register_device_copy(DeviceCopy copy);
// The registered copy, or null when no backend registered one.
DeviceCopy device_copy();
// Sets a contiguous device tensor to all-zero bytes (queued in order with the device's ops).
using DeviceZero = void (*)(Tensor& dst);
void register_device_zero(DeviceZero zero);
DeviceZero device_zero();
// A device's memory as its driver reports it; bytes a caching allocator holds for reuse count as
// free.
struct DeviceMemory {
  int64_t free = 0, total = 0;
};
using DeviceMemoryQuery = DeviceMemory (*)(Device device);
void register_device_memory_query(DeviceMemoryQuery query);
// The registered query, or null when no backend registered one.
DeviceMemoryQuery device_memory_query();

}  // namespace pagoda
