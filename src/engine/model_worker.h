// One rank's share of the model: its tensor-parallel shard of its pipeline stage's layers, their
// paged KV cache, and the step they run. Every rank of an engine has one; rank 0's ModelRunner
// drives its own and, in a multi-process engine, the others' through the step protocol.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>

#include "distributed/rank_groups.h"
#include "engine/step_batch.h"
#include "pagoda/engine_args.h"
#include "pagoda/layers/attention.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/model.h"
#include "pagoda/model_config.h"

namespace pagoda::engine {

using LoadProgress = std::function<void(int64_t, int64_t)>;
class DecodeGraphs;

// Where and how a rank runs its share, from the engine arguments.
struct WorkerOptions {
  Device device = Device::cpu();
  // On a GPU: run every step eagerly instead of replaying decode steps from CUDA graphs.
  bool enforce_eager = false;
  int64_t max_num_seqs = 256;

  // The device is the rank's (groups.device). Parallel GPU ranks run eagerly: their decode steps
  // would need NCCL's collectives captured in CUDA graphs, which is not yet tested.
  static WorkerOptions from(const EngineArgs& args, const distributed::RankGroups& groups);
};

class ModelWorker {
 public:
  // Checks that the model splits over the ranks (heads, KV heads and MLP width divisible by the
  // tensor-parallel size, enough layers for the stages, pipeline support), builds this rank's part
  // and loads its weights from `model_dir`, or, with dummy_weights, fills every parameter with
  // small seeded random values (vLLM's dummy loader: uniform in [-1e-3, 1e-3]).
  ModelWorker(const ModelConfig& config, const std::filesystem::path& model_dir, uint64_t seed,
              bool dummy_weights, const LoadProgress& load_progress,
              const distributed::RankGroups& groups, const WorkerOptions& options = {});
  ~ModelWorker();

  // KV-cache bytes one token takes over this rank's attention layers (keys and values).
  int64_t kv_cache_bytes_per_token() const;
  // This rank's attention windows as one number: the window when every layer slides with the same
  // one, kFullAttention when none slides, kMixedWindows otherwise.
  static constexpr int64_t kFullAttention = -1, kMixedWindows = -2;
  int64_t sliding_window_code() const;
  int64_t parameter_bytes() const { return parameter_bytes_; }
  // Allocates every layer's cache: [num_blocks, block_size, kv_heads, head_size]. On a GPU this
  // also captures the decode graphs (unless enforce_eager).
  void allocate_kv_cache(int64_t num_blocks, int64_t block_size);

  // Runs this rank's stage of the step: receives the previous stage's tensors, runs the layers,
  // sends to the next stage; the last stage computes the logits of batch.logit_rows. Returns
  // them ([rows, vocab] f32) on world rank 0, which samples; an undefined tensor elsewhere.
  // With logits_on_device (honoured only when can_sample_on_device()), they stay on the device
  // for the sampler's device path, and only the sampled ids cross to the host.
  Tensor execute(const StepBatch& batch, bool logits_on_device = false);
  // Whether execute() can leave the logits on the device: a GPU rank alone.
  bool can_sample_on_device() const {
    return device_.is_cuda() && parallel_.tp_size * parallel_.pp_size == 1;
  }

  const ParallelState& parallel() const { return parallel_; }

 private:
  const ModelConfig& config_;
  distributed::RankGroups groups_;
  ParallelState parallel_;
  WorkerOptions options_;
  Device device_;
  std::unique_ptr<DecodeGraphs> graphs_;
  ParameterSet parameters_;
  AttentionRegistry attention_;
  std::unique_ptr<Model> model_;
  int64_t parameter_bytes_ = 0;
};

}  // namespace pagoda::engine
