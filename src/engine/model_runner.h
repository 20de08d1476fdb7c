// The model runner (world rank 0): turns the scheduler's output into the flat batch (input ids,
// positions, slot mapping, block tables, sequence lengths), has every rank run it (its own
// ModelWorker here; in a multi-process engine the other ranks' through the step protocol),
// receives the logits of the rows that are sampled (and of prompt positions whose logprobs were
// requested), and samples. Its batch buffers keep their capacity, so steady-state steps allocate
// nothing for the batch itself.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "distributed/rank_groups.h"
#include "engine/model_worker.h"
#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "engine/step_batch.h"
#include "pagoda/engine_args.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

namespace pagoda::engine {

// What one step produced, in the order of SchedulerOutput::scheduled.
struct StepResult {
  // sampled[i]: the token for scheduled[i] when it samples (else unused).
  std::vector<SampledToken> sampled;
  // prompt_logprobs[i]: logprobs of the prompt tokens that follow the positions computed this step
  // for scheduled[i] (requests with prompt_logprobs only; else empty).
  std::vector<std::vector<SampledToken>> prompt_logprobs;
};

class ModelRunner {
 public:
  // Builds rank 0's share of the model (see ModelWorker) from args.model, args.load_format and
  // args.seed. In a multi-process engine it first sends the other ranks Start, and returns only
  // when every rank has loaded its share; a failure on any rank throws here (and there).
  ModelRunner(const ModelConfig& config, const EngineArgs& args,
              const distributed::RankGroups& groups);
  // Tells the other ranks to stop (Shutdown).
  ~ModelRunner();
  ModelRunner(const ModelRunner&) = delete;
  ModelRunner& operator=(const ModelRunner&) = delete;

  // Rank 0 of a multi-process engine that fails before it could build its runner: sends the
  // other ranks Abort with the error, so that they fail with it instead of waiting.
  static void abort_workers(const distributed::RankGroups& groups, const Error& error);

  // KV-cache bytes one token takes over the attention layers of the rank that holds the most.
  int64_t kv_cache_bytes_per_token() const { return kv_bytes_per_token_; }
  // The window when every attention layer on every rank slides with the same one; nullopt
  // otherwise (full attention, or a mix, where sliding layers then keep all their blocks).
  std::optional<int64_t> uniform_sliding_window() const { return sliding_window_; }
  // The most device memory any rank has in use once the weights are loaded (0 on CPUs).
  int64_t max_device_bytes_in_use() const { return max_device_in_use_; }
  // How many ranks share this process's memory (they split the KV-cache budget).
  int ranks_sharing_memory() const { return ranks_sharing_memory_; }
  // Every rank allocates its layers' caches: [num_blocks, block_size, kv_heads, head_size].
  void allocate_kv_cache(int64_t num_blocks, int64_t block_size);

  // Runs the scheduled step; `kv_cache` gives every sequence's block table.
  void execute(const SchedulerOutput& step, const KVCacheManager& kv_cache, StepResult& result);

 private:
  void build_batch(const SchedulerOutput& step, const KVCacheManager& kv_cache);
  bool multi_process() const { return groups_.world->size() > 1; }

  const ModelConfig& config_;
  distributed::RankGroups groups_;
  std::unique_ptr<ModelWorker> worker_;
  int64_t kv_bytes_per_token_ = 0;
  std::optional<int64_t> sliding_window_;
  int ranks_sharing_memory_ = 1;
  int64_t max_device_in_use_ = 0;
  int64_t block_size_ = 0;
  Sampler sampler_;

  // The flat batch, rebuilt every step in buffers that keep their capacity.
  StepBatch batch_;
  std::vector<int64_t> packed_;
  size_t num_sample_rows_ = 0;
  std::vector<SamplerRow> sampler_rows_;
  std::vector<int32_t> prompt_next_tokens_;
  std::vector<SampledToken> sampled_;  // one per sampler row
};

}  // namespace pagoda::engine
