// How many KV blocks the pool gets: from an explicit block count, an explicit memory budget, or a
// fraction of the memory available once the weights are loaded; capped at what max_num_seqs
// sequences of max_model_len tokens could ever use, and refused when one max_model_len sequence
// would not fit.
#pragma once

#include <cstdint>

#include "pagoda/device.h"
#include "pagoda/engine_args.h"

namespace pagoda::engine {

struct KVCachePlan {
  int64_t num_blocks = 0;  // including the reserved null block
  int64_t bytes = 0;
  int64_t capacity_tokens = 0;
  std::string origin;  // how the size was chosen, for the log
};

// bytes_per_token: over all layers, keys and values. Throws pagoda::Error when the pool cannot
// hold one sequence of max_model_len tokens, naming both numbers and the fixes.
KVCachePlan plan_kv_cache(const EngineArgs& args, int64_t bytes_per_token, int64_t max_model_len);

// The KV cache's share of a GPU: gpu_memory_utilization of its whole memory, less what is in use
// (the weights, other processes) and a reserve for activations and logits. `in_use_elsewhere`:
// the most any other rank's GPU has in use (a parallel engine gives every rank the same cache).
// Throws pagoda::Error naming the figures when nothing is left.
int64_t gpu_kv_cache_budget(Device device, double gpu_memory_utilization,
                            int64_t in_use_elsewhere = 0);

// Bytes in use on `device` (total less free; 0 on the CPU).
int64_t device_bytes_in_use(Device device);

// MemAvailable from /proc/meminfo, in bytes (0 when unknown).
int64_t available_memory_bytes();

}  // namespace pagoda::engine
