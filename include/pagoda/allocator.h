// Device memory allocation behind one interface: the CPU allocator here, the CUDA allocator in the
// CUDA backend. Tensors own memory through a Storage that remembers its allocator.
#pragma once

#include <cstddef>

#include "pagoda/device.h"

namespace pagoda {

class Allocator {
 public:
  virtual ~Allocator() = default;
  // Returns memory aligned to at least `alignment` bytes (a power of two), or throws
  // pagoda::Error(OutOfMemory). A request of 0 bytes returns a valid unique pointer.
  virtual void* allocate(size_t bytes, size_t alignment) = 0;
  virtual void deallocate(void* ptr, size_t bytes) = 0;
  virtual Device device() const = 0;
  // Bytes currently handed out by this allocator.
  virtual size_t bytes_in_use() const = 0;
};

// 64-byte-aligned host memory (one cache line, one AVX-512 register).
constexpr size_t kCpuAlignment = 64;

// The process-wide CPU allocator.
Allocator& cpu_allocator();

// The allocator registered for a device. CUDA devices are available only when the CUDA backend is
// built and registered; otherwise this throws pagoda::Error(Unsupported).
Allocator& allocator_for(Device device);

// Lets a backend (CUDA) make its allocator known to allocator_for().
void register_allocator(DeviceType type, Allocator* (*factory)(int device_index));

}  // namespace pagoda
