// Device memory for tensors on CUDA GPUs, behind the Allocator interface: a caching allocator, so
// that the hot path (activations allocated and freed every layer of every step) never calls
// cudaMalloc or cudaFree, which synchronise the device.
//
// Requests are rounded up (512 B below 1 MiB, 2 MiB above) and served best-fit from the blocks
// freed earlier; a freed block goes back to the cache, not to the driver. Every op runs on the
// device's one stream (cuda_runtime.h), so a block freed by the host may be handed out again at
// once: work queued later on the same stream runs after the work that used it. When cudaMalloc
// fails, the cache is returned to the driver and the allocation tried once more.
//
// Private pools keep a captured CUDA graph's memory to itself: while a ScopedPrivatePool lives,
// the thread's allocations come from (and their blocks return to) that pool only, so a replay
// can never write into a block some tensor outside the graph has been given since the capture.
//
// fmt's compile-time format strings do not survive nvcc (consteval), so messages here are built
// with std::string.
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>

#include "ops/cuda/cuda_allocator.h"
#include "ops/cuda/cuda_runtime.h"
#include "pagoda/allocator.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

constexpr size_t kSmallRound = 512;
constexpr size_t kLargeRound = size_t{2} << 20;
constexpr size_t kSmallLimit = size_t{1} << 20;

size_t round_size(size_t bytes) {
  if (bytes == 0) bytes = 1;
  const size_t unit = bytes < kSmallLimit ? kSmallRound : kLargeRound;
  return (bytes + unit - 1) / unit * unit;
}

class CudaCachingAllocator final : public Allocator, public cuda::CachingAllocatorStats {
 public:
  explicit CudaCachingAllocator(int device) : device_(device) {}
  ~CudaCachingAllocator() override = default;  // the driver frees everything at exit

  void* allocate(size_t bytes, size_t /*alignment: blocks are 512-byte aligned*/) override {
    const size_t size = round_size(bytes);
    const int pool = current_pool;
    std::lock_guard lock(mutex_);
    // Best fit among the pool's cached blocks: the smallest at least `size`, and not more than
    // twice it (a small request must not pin a huge block).
    auto& free = pool_free(pool);
    auto it = free.lower_bound(size);
    if (it != free.end() && it->first <= 2 * size) {
      void* p = it->second;
      live_[p] = {it->first, pool};
      if (pool == 0) cached_ -= it->first;
      in_use_ += it->first;
      free.erase(it);
      return p;
    }
    void* p = nullptr;
    cuda::check(cudaSetDevice(device_), "cudaSetDevice");
    cudaError_t status = cudaMalloc(&p, size);
    if (status == cudaErrorMemoryAllocation) {
      cudaGetLastError();
      release_cached_locked();
      status = cudaMalloc(&p, size);
    }
    cuda::check(status, ("cudaMalloc of " + std::to_string(size >> 20) + " MiB on cuda:" +
                         std::to_string(device_))
                            .c_str());
    live_[p] = {size, pool};
    in_use_ += size;
    reserved_ += size;
    return p;
  }

  void deallocate(void* ptr, size_t /*bytes*/) override {
    if (!ptr) return;
    std::lock_guard lock(mutex_);
    auto it = live_.find(ptr);
    if (it == live_.end()) return;  // not ours: nothing sensible to do at teardown
    const auto [size, pool] = it->second;
    const int home = private_free_.contains(pool) ? pool : 0;  // a released pool's go back to all
    pool_free(home).emplace(size, ptr);
    in_use_ -= size;
    if (home == 0) cached_ += size;
    live_.erase(it);
  }

  int new_private_pool() {
    std::lock_guard lock(mutex_);
    const int pool = ++last_pool_;
    private_free_[pool];
    return pool;
  }

  void release_private_pool(int pool) {
    std::lock_guard lock(mutex_);
    auto it = private_free_.find(pool);
    if (it == private_free_.end()) return;
    for (const auto& [size, p] : it->second) {
      free_.emplace(size, p);
      cached_ += size;
    }
    private_free_.erase(it);
  }

  // The pool this thread allocates from: 0 (shared) outside a ScopedPrivatePool.
  static thread_local int current_pool;

  Device device() const override { return Device::cuda(device_); }
  size_t bytes_in_use() const override { return in_use_; }
  size_t bytes_reserved() const override { return reserved_; }
  size_t bytes_cached() const override { return cached_; }

  void empty_cache() override {
    std::lock_guard lock(mutex_);
    release_cached_locked();
  }

 private:
  std::multimap<size_t, void*>& pool_free(int pool) {
    if (pool == 0) return free_;
    auto it = private_free_.find(pool);
    PAGODA_CHECK(it != private_free_.end(), Internal,
                 "allocation from private pool " + std::to_string(pool) + ", which was released",
                 "a Pagoda bug: a captured graph outlived its memory pool; please report it");
    return it->second;
  }

  void release_cached_locked() {
    if (free_.empty()) return;
    cudaSetDevice(device_);
    // Blocks may still be read by queued work; wait for it before handing them back.
    cudaStreamSynchronize(cuda::stream(device_));
    for (const auto& [size, p] : free_) {
      cudaFree(p);
      reserved_ -= size;
    }
    cached_ = 0;
    free_.clear();
  }

  int device_;
  mutable std::mutex mutex_;
  std::multimap<size_t, void*> free_;  // size -> block, cached for reuse (the shared pool)
  std::map<int, std::multimap<size_t, void*>> private_free_;  // private pool -> its cached blocks
  struct LiveBlock {
    size_t size;
    int pool;
  };
  std::unordered_map<void*, LiveBlock> live_;  // block -> size and pool, handed out
  int last_pool_ = 0;
  std::atomic<size_t> in_use_{0}, reserved_{0}, cached_{0};
};

thread_local int CudaCachingAllocator::current_pool = 0;

CudaCachingAllocator* allocator_slot(int device) {
  static std::mutex mutex;
  static std::array<std::unique_ptr<CudaCachingAllocator>, 64> allocators;
  // Asked once: this is on every allocation's path.
  static const int count = [] {
    int n = 0;
    cuda::check(cudaGetDeviceCount(&n), "cudaGetDeviceCount");
    return n;
  }();
  PAGODA_CHECK(device >= 0 && device < count, InvalidArgument,
               "cuda:" + std::to_string(device) + " requested but " + std::to_string(count) +
                   " CUDA device(s) are visible",
               "choose a device index below the device count, or check CUDA_VISIBLE_DEVICES");
  std::lock_guard lock(mutex);
  auto& slot = allocators[static_cast<size_t>(device)];
  if (!slot) slot = std::make_unique<CudaCachingAllocator>(device);
  return slot.get();
}

Allocator* cuda_allocator(int device) { return allocator_slot(device); }

// Registers the CUDA allocator when libpagoda is loaded.
const bool registered = [] {
  register_allocator(DeviceType::CUDA, &cuda_allocator);
  return true;
}();

}  // namespace

cuda::CachingAllocatorStats& cuda::caching_allocator(int device) { return *allocator_slot(device); }

int cuda::new_private_pool(int device) { return allocator_slot(device)->new_private_pool(); }

void cuda::release_private_pool(int device, int pool) {
  allocator_slot(device)->release_private_pool(pool);
}

cuda::ScopedPrivatePool::ScopedPrivatePool(int pool)
    : previous_(CudaCachingAllocator::current_pool) {
  CudaCachingAllocator::current_pool = pool;
}

cuda::ScopedPrivatePool::~ScopedPrivatePool() { CudaCachingAllocator::current_pool = previous_; }

}  // namespace pagoda
