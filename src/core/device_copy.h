// Copies between devices are the backend's: the CUDA backend registers its copy here when
// libpagoda loads, and Tensor::copy_from calls it when either tensor is not on the CPU.
// Internal to libpagoda (not a public header).
#pragma once

namespace pagoda {

class Tensor;
// Copies src into dst (one shape and dtype); complete on return.
using DeviceCopy = void (*)(Tensor& dst, const Tensor& src);
void register_device_copy(DeviceCopy copy);
// The registered copy, or null when no backend registered one.
DeviceCopy device_copy();

}  // namespace pagoda
