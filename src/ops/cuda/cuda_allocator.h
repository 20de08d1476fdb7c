// The CUDA caching allocator's own numbers and controls (the Allocator interface has the rest).
#pragma once

#include <cstddef>

namespace pagoda::cuda {

class CachingAllocatorStats {
 public:
  virtual ~CachingAllocatorStats() = default;
  // Bytes taken from the driver (in use + cached).
  virtual size_t bytes_reserved() const = 0;
  // Bytes freed by tensors and kept for reuse.
  virtual size_t bytes_cached() const = 0;
  // Returns the cached blocks to the driver (after the device's queued work).
  virtual void empty_cache() = 0;
};

// The caching allocator of cuda:`device`.
CachingAllocatorStats& caching_allocator(int device);

}  // namespace pagoda::cuda
