// The model runner: owns the model and its paged KV cache, and runs one scheduled step. It turns
// the scheduler's output into the flat batch (input ids, positions, slot mapping, block tables,
// sequence lengths), runs the model, computes logits only for the rows that are sampled (and for
// prompt positions whose logprobs were requested), and samples. Its batch buffers keep their
// capacity, so steady-state steps allocate nothing for the batch itself.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include "engine/sampler.h"
#include "engine/scheduler.h"
#include "pagoda/layers/attention.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/model.h"
#include "pagoda/model_config.h"

namespace pagoda::engine {

using LoadProgress = std::function<void(int64_t, int64_t)>;

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
  // Builds the architecture config.json names and loads its weights from `model_dir`, or, with
  // dummy_weights, fills every parameter with small seeded random values (vLLM's dummy loader:
  // uniform in [-1e-3, 1e-3]).
  // load_progress, when set, sees (tensors loaded, total) as the checkpoint loads.
  ModelRunner(const ModelConfig& config, const std::filesystem::path& model_dir, uint64_t seed,
              bool dummy_weights = false, const LoadProgress& load_progress = {});

  // KV-cache bytes one token takes over all attention layers (keys and values).
  int64_t kv_cache_bytes_per_token() const;
  // The window when every attention layer slides with the same one; nullopt otherwise (full
  // attention, or a mix, where sliding layers then keep all their blocks).
  std::optional<int64_t> uniform_sliding_window() const;
  // Bytes of the loaded parameters.
  int64_t parameter_bytes() const { return parameter_bytes_; }
  // Allocates every layer's cache: [num_blocks, block_size, kv_heads, head_size].
  void allocate_kv_cache(int64_t num_blocks, int64_t block_size);

  // Runs the scheduled step; `kv_cache` gives every sequence's block table.
  void execute(const SchedulerOutput& step, const KVCacheManager& kv_cache, StepResult& result);

 private:
  void build_batch(const SchedulerOutput& step, const KVCacheManager& kv_cache);

  const ModelConfig& config_;
  ParameterSet parameters_;
  AttentionRegistry attention_;
  std::unique_ptr<Model> model_;
  int64_t parameter_bytes_ = 0;
  int64_t block_size_ = 0;
  Sampler sampler_;

  // The flat batch, rebuilt every step in buffers that keep their capacity.
  std::vector<int64_t> input_ids_, positions_, slot_mapping_, query_start_loc_, seq_lens_;
  std::vector<int32_t> block_tables_;
  std::vector<int64_t> sample_rows_;  // hidden-state rows that are sampled from
  std::vector<SamplerRow> sampler_rows_;
  std::vector<int64_t> prompt_rows_;  // hidden-state rows whose prompt logprobs are needed
  std::vector<int32_t> prompt_next_tokens_;
  std::vector<SampledToken> sampled_;  // one per sampler row
  ForwardContext context_;
};

}  // namespace pagoda::engine
