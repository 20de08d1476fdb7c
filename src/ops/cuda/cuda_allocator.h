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

// A pool of blocks apart from the shared cache (for a captured CUDA graph). Releasing it hands its
// cached blocks to the shared cache, and its live ones when they are freed.
int new_private_pool(int device);
void release_private_pool(int device, int pool);

// While alive, this thread's CUDA allocations come from private pool `pool`.
class ScopedPrivatePool {
 public:
  explicit ScopedPrivatePool(int pool);
  ~ScopedPrivatePool();
  ScopedPrivatePool(const ScopedPrivatePool&) = delete;
  ScopedPrivatePool& operator=(const ScopedPrivatePool&) = delete;

 private:
  int previous_;
};

}  // namespace pagoda::cuda
