#include "engine/kv_cache_sizing.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <string>

#include "core/device_copy.h"
#include "pagoda/error.h"

namespace pagoda::engine {

int64_t available_memory_bytes() {
  std::ifstream meminfo("/proc/meminfo");
  std::string key;
  int64_t value = 0;
  std::string unit;
  while (meminfo >> key >> value >> unit)
    if (key == "MemAvailable:") return value * 1024;
  return 0;
}

int64_t device_bytes_in_use(Device device) {
  if (device.is_cpu() || device_memory_query() == nullptr) return 0;
  const DeviceMemory memory = device_memory_query()(device);
  return memory.total - memory.free;
}

int64_t gpu_kv_cache_budget(Device device, double gpu_memory_utilization,
                            int64_t in_use_elsewhere) {
  const DeviceMemoryQuery query = device_memory_query();
  PAGODA_CHECK(
      query != nullptr, Unsupported,
      fmt::format("{} was asked for, but this build has no CUDA backend", device.to_string()),
      "build with the cuda preset, or run with --device cpu");
  const DeviceMemory memory = query(device);
  const auto mib = [](int64_t b) { return static_cast<double>(b) / (1 << 20); };
  // Activations of one step (max_num_batched_tokens rows through the widest layer) and the f32
  // logits of max_num_seqs rows stay well under this for models that fit one GPU.
  constexpr int64_t kActivationReserve = int64_t{2} << 30;
  const int64_t in_use = std::max(memory.total - memory.free, in_use_elsewhere);
  const auto allowed =
      static_cast<int64_t>(static_cast<double>(memory.total) * gpu_memory_utilization);
  const int64_t budget = allowed - in_use - kActivationReserve;
  PAGODA_CHECK(
      budget > 0, InvalidArgument,
      fmt::format("{}: gpu_memory_utilization {} allows {:.0f} MiB of {:.0f} MiB, but {:.0f} "
                  "MiB are in use (weights, other processes) and {:.0f} MiB are kept for "
                  "activations, which leaves nothing for the KV cache",
                  device.to_string(), gpu_memory_utilization, mib(allowed), mib(memory.total),
                  mib(in_use), mib(kActivationReserve)),
      "raise --gpu-memory-utilization, free the GPU, or pass --kv-cache-memory");
  return budget;
}

KVCachePlan plan_kv_cache(const EngineArgs& args, int64_t bytes_per_token, int64_t max_model_len) {
  KVCachePlan plan;
  const int64_t block_bytes = bytes_per_token * args.block_size;
  const auto mib = [](int64_t b) { return static_cast<double>(b) / (1 << 20); };
  if (args.num_kv_blocks) {
    plan.num_blocks = *args.num_kv_blocks;
    plan.origin = fmt::format("num_kv_blocks={}", *args.num_kv_blocks);
  } else {
    int64_t budget = 0;
    if (args.kv_cache_memory_bytes) {
      budget = *args.kv_cache_memory_bytes;
      plan.origin = fmt::format("kv_cache_memory={:.0f} MiB", mib(budget));
    } else {
      const int64_t available = available_memory_bytes();
      PAGODA_CHECK(available > 0, Unsupported,
                   "the free memory could not be read from /proc/meminfo to size the KV cache",
                   "pass --kv-cache-memory (e.g. 4GiB)");
      budget = static_cast<int64_t>(static_cast<double>(available) * args.kv_cache_memory_fraction);
      plan.origin = fmt::format("{:.0f}% of {:.0f} MiB available",
                                args.kv_cache_memory_fraction * 100, mib(available));
    }
    plan.num_blocks = budget / block_bytes;
    // No more than every sequence at full length could use (+1 for the null block).
    const int64_t blocks_per_seq = (max_model_len + args.block_size - 1) / args.block_size;
    const int64_t useful = args.max_num_seqs * blocks_per_seq + 1;
    if (plan.num_blocks > useful) {
      plan.num_blocks = useful;
      plan.origin += fmt::format(", capped at max_num_seqs {} x max_model_len {}",
                                 args.max_num_seqs, max_model_len);
    }
  }
  plan.capacity_tokens = (plan.num_blocks - 1) * args.block_size;
  plan.bytes = plan.num_blocks * block_bytes;
  PAGODA_CHECK(plan.num_blocks >= 2 && plan.capacity_tokens >= max_model_len, InvalidArgument,
               fmt::format("the KV cache ({}: {} blocks of {} tokens, {:.1f} MiB) holds {} tokens, "
                           "fewer than one sequence of max_model_len {} tokens",
                           plan.origin, plan.num_blocks, args.block_size, mib(plan.bytes),
                           std::max<int64_t>(plan.capacity_tokens, 0), max_model_len),
               fmt::format("give the KV cache more memory (--kv-cache-memory; {:.1f} MiB holds "
                           "max_model_len) or lower --max-model-len",
                           mib((max_model_len / args.block_size + 2) * block_bytes)));
  return plan;
}

}  // namespace pagoda::engine
