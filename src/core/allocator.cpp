#include "pagoda/allocator.h"

#include <fmt/format.h>

#include <atomic>
#include <cstdlib>
#include <memory>
#include <mutex>

#include "core/device_copy.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

class CpuAllocator final : public Allocator {
 public:
  void* allocate(size_t bytes, size_t alignment) override {
    if (alignment < kCpuAlignment) alignment = kCpuAlignment;
    // aligned_alloc needs a size that is a multiple of the alignment, and non-zero.
    size_t rounded = (bytes + alignment - 1) / alignment * alignment;
    if (rounded == 0) rounded = alignment;
    if (rounded < bytes)  // overflow
      throw_error(ErrorCode::OutOfMemory, fmt::format("cannot allocate {} bytes of host memory", bytes),
                  "the request is larger than the address space; check the tensor's shape");
    void* p = std::aligned_alloc(alignment, rounded);
    if (!p)
      throw_error(ErrorCode::OutOfMemory,
                  fmt::format("cannot allocate {:.1f} MiB of host memory ({} MiB already in use)",
                              static_cast<double>(bytes) / (1 << 20), in_use_.load() >> 20),
                  "lower --max-model-len, --max-num-seqs or --kv-cache-memory, or free memory");
    in_use_ += bytes;
    return p;
  }
  void deallocate(void* ptr, size_t bytes) override {
    if (!ptr) return;
    in_use_ -= bytes;
    std::free(ptr);
  }
  Device device() const override { return Device::cpu(); }
  size_t bytes_in_use() const override { return in_use_.load(); }

 private:
  std::atomic<size_t> in_use_{0};
};

struct Registry {
  std::mutex mutex;
  Allocator* (*cuda_factory)(int) = nullptr;
};

Registry& registry() {
  static Registry r;
  return r;
}

}  // namespace

Allocator& cpu_allocator() {
  // Never destroyed: tensors held by other statics (caches, globals of an application) may be
  // freed during static destruction, after a function-local static allocator would be gone.
  static CpuAllocator* instance = new CpuAllocator();
  return *instance;
}

void register_allocator(DeviceType type, Allocator* (*factory)(int)) {
  PAGODA_ASSERT(type == DeviceType::CUDA);
  std::lock_guard lock(registry().mutex);
  registry().cuda_factory = factory;
}

namespace {
std::atomic<DeviceCopy>& device_copy_slot() {
  static std::atomic<DeviceCopy> copy{nullptr};
  return copy;
}
}  // namespace

void register_device_copy(DeviceCopy copy) { device_copy_slot() = copy; }

DeviceCopy device_copy() { return device_copy_slot().load(); }

namespace {
std::atomic<DeviceZero>& device_zero_slot() {
  static std::atomic<DeviceZero> zero{nullptr};
  return zero;
}
}  // namespace

void register_device_zero(DeviceZero zero) { device_zero_slot() = zero; }

DeviceZero device_zero() { return device_zero_slot().load(); }

namespace {
std::atomic<DeviceMemoryQuery>& device_memory_slot() {
  static std::atomic<DeviceMemoryQuery> query{nullptr};
  return query;
}
}  // namespace

void register_device_memory_query(DeviceMemoryQuery query) { device_memory_slot() = query; }

DeviceMemoryQuery device_memory_query() { return device_memory_slot().load(); }

Allocator& allocator_for(Device device) {
  if (device.is_cpu()) return cpu_allocator();
  Allocator* (*factory)(int) = nullptr;
  {
    std::lock_guard lock(registry().mutex);
    factory = registry().cuda_factory;
  }
  if (!factory)
    throw_error(ErrorCode::Unsupported,
                fmt::format("device {} requested but this build has no CUDA backend", device.to_string()),
                "build with the 'cuda' CMake preset, or run on --device cpu");
  return *factory(device.index);
}

}  // namespace pagoda
