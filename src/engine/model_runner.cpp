#include "engine/model_runner.h"

#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "engine/kv_cache_sizing.h"
#include "engine/step_protocol.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda::engine {
namespace {

// Ranks that share one machine's memory: mpirun's ranks on this host, or every rank when they
// are threads of this process.
int sharing_memory(const distributed::RankGroups& groups) {
  if (groups.world->size() == 1) return 1;
  const LauncherInfo launcher = launcher_info();
  return launcher.world_size > 1 ? std::max(1, launcher.local_size) : groups.world->size();
}

}  // namespace

ModelRunner::ModelRunner(const ModelConfig& config, const EngineArgs& args,
                         const distributed::RankGroups& groups)
    : config_(config),
      groups_(groups),
      ranks_sharing_memory_(sharing_memory(groups)),
      sampler_(args.seed) {
  Communicator& world = *groups_.world;
  if (multi_process()) {
    send_message(world, {MessageKind::Start, 0, 0});
    std::string payload = encode_worker_args(args);
    broadcast_bytes(world, payload, 0);
  }
  std::optional<Error> failure;
  try {
    worker_ = std::make_unique<ModelWorker>(config, args.model, args.seed,
                                            args.load_format == "dummy", args.load_progress, groups,
                                            WorkerOptions::from(args, groups));
  } catch (const Error& e) {
    if (!multi_process()) throw;
    failure = e;
  }
  if (multi_process()) {
    agree_on_startup(world, failure ? &*failure : nullptr);
    agree_on_model(world, model_fingerprint(config, args.model));
  }

  // Size the cache for the rank with the most KV bytes per token; every rank's windows count.
  const std::vector<int64_t> bytes = all_gather_values(world, worker_->kv_cache_bytes_per_token());
  const std::vector<int64_t> windows = all_gather_values(world, worker_->sliding_window_code());
  const std::vector<int64_t> in_use = all_gather_values(world, device_bytes_in_use(groups_.device));
  max_device_in_use_ = *std::max_element(in_use.begin(), in_use.end());
  kv_bytes_per_token_ = *std::max_element(bytes.begin(), bytes.end());
  const bool uniform =
      std::all_of(windows.begin(), windows.end(), [&](int64_t w) { return w == windows[0]; });
  if (uniform && windows[0] >= 0) sliding_window_ = windows[0];
}

ModelRunner::~ModelRunner() {
  if (!multi_process() || !worker_) return;
  try {
    send_message(*groups_.world, {MessageKind::Shutdown, 0, 0});
  } catch (const std::exception& e) {
    log::error("could not tell the other ranks to shut down: {}", e.what());
  }
}

void ModelRunner::abort_workers(const distributed::RankGroups& groups, const Error& error) {
  if (groups.world->size() == 1) return;
  send_message(*groups.world, {MessageKind::Abort, 0, 0});
  std::string payload = encode_error(error);
  broadcast_bytes(*groups.world, payload, 0);
}

void ModelRunner::allocate_kv_cache(int64_t num_blocks, int64_t block_size) {
  block_size_ = block_size;
  if (multi_process())
    send_message(*groups_.world, {MessageKind::AllocateKVCache, num_blocks, block_size});
  worker_->allocate_kv_cache(num_blocks, block_size);
}

void ModelRunner::build_batch(const SchedulerOutput& step, const KVCacheManager& kv_cache) {
  batch_.clear();
  sampler_rows_.clear();
  prompt_next_tokens_.clear();
  std::vector<int64_t> prompt_rows;  // appended to logit_rows after the sampled rows
  batch_.query_start_loc.push_back(0);

  int64_t max_blocks = 1;
  for (const ScheduledSequence& item : step.scheduled)
    max_blocks = std::max<int64_t>(
        max_blocks, static_cast<int64_t>(kv_cache.block_ids(item.sequence->id()).size()));
  batch_.max_blocks_per_seq = max_blocks;
  batch_.block_tables.assign(step.scheduled.size() * static_cast<size_t>(max_blocks), 0);

  for (size_t i = 0; i < step.scheduled.size(); ++i) {
    const ScheduledSequence& item = step.scheduled[i];
    Sequence& s = *item.sequence;
    const std::span<const int32_t> blocks = kv_cache.block_ids(s.id());
    std::copy(blocks.begin(), blocks.end(),
              batch_.block_tables.begin() + static_cast<int64_t>(i) * max_blocks);
    const int64_t start = s.num_computed_tokens;
    const int64_t end = start + item.num_new_tokens;
    PAGODA_ASSERT(static_cast<int64_t>(blocks.size()) * block_size_ >= end);
    const int64_t first_row = batch_.num_tokens();
    for (int64_t p = start; p < end; ++p) {
      batch_.input_ids.push_back(s.token_ids()[static_cast<size_t>(p)]);
      batch_.positions.push_back(p);
      batch_.slot_mapping.push_back(
          static_cast<int64_t>(blocks[static_cast<size_t>(p / block_size_)]) * block_size_ +
          p % block_size_);
      // Prompt logprobs: position p predicts prompt token p + 1.
      if (s.params().prompt_logprobs && p + 1 < s.num_prompt_tokens()) {
        prompt_rows.push_back(first_row + (p - start));
        prompt_next_tokens_.push_back(s.token_ids()[static_cast<size_t>(p + 1)]);
      }
    }
    batch_.query_start_loc.push_back(batch_.num_tokens());
    batch_.seq_lens.push_back(end);
    if (item.samples) {
      batch_.logit_rows.push_back(batch_.num_tokens() - 1);
      SamplerRow row;
      row.params = &s.params();
      row.prompt_token_ids = s.prompt_token_ids();
      row.output_token_ids = s.output_token_ids();
      row.generator = s.generator();
      row.min_tokens_blocked = s.min_tokens_blocked;
      sampler_rows_.push_back(row);
    }
  }
  num_sample_rows_ = batch_.logit_rows.size();
  batch_.logit_rows.insert(batch_.logit_rows.end(), prompt_rows.begin(), prompt_rows.end());
}

void ModelRunner::execute(const SchedulerOutput& step, const KVCacheManager& kv_cache,
                          StepResult& result) {
  build_batch(step, kv_cache);
  if (multi_process()) {
    batch_.pack(packed_);
    send_message(*groups_.world, {MessageKind::Step, static_cast<int64_t>(packed_.size()), 0});
    Tensor payload =
        Tensor::from_blob(packed_.data(), {static_cast<int64_t>(packed_.size())}, DType::I64);
    groups_.world->broadcast(payload, 0);
  }
  // On a GPU rank alone, the sampler runs on the device and only the ids come back, unless a row
  // wants logprobs (computed on the host from the raw logits).
  bool on_device = worker_->can_sample_on_device() && prompt_next_tokens_.empty();
  for (const SamplerRow& row : sampler_rows_) on_device = on_device && !row.params->logprobs;
  Tensor logits = worker_->execute(batch_, on_device);
  result.sampled.resize(step.scheduled.size());
  result.prompt_logprobs.resize(step.scheduled.size());
  for (auto& p : result.prompt_logprobs) p.clear();

  const auto num_sampled = static_cast<int64_t>(num_sample_rows_);
  if (num_sampled > 0) {
    Tensor rows = logits.slice(0, 0, num_sampled);
    sampled_.resize(sampler_rows_.size());
    sampler_.sample(rows, sampler_rows_, sampled_);
    size_t next = 0;
    for (size_t i = 0; i < step.scheduled.size(); ++i)
      if (step.scheduled[i].samples) result.sampled[i] = std::move(sampled_[next++]);
  }

  if (prompt_next_tokens_.empty()) return;
  // Each sequence asks for its own number of top tokens: compute per sequence.
  size_t row = 0;
  for (size_t i = 0; i < step.scheduled.size(); ++i) {
    const Sequence& s = *step.scheduled[i].sequence;
    if (!s.params().prompt_logprobs) continue;
    const int64_t start = s.num_computed_tokens;
    const int64_t end =
        std::min(start + step.scheduled[i].num_new_tokens, s.num_prompt_tokens() - 1);
    const int64_t n = std::max<int64_t>(end - start, 0);
    if (n == 0) continue;
    const int64_t first = num_sampled + static_cast<int64_t>(row);
    const Tensor rows = logits.slice(0, first, first + n);
    result.prompt_logprobs[i].resize(static_cast<size_t>(n));
    compute_token_logprobs(rows,
                           std::span(prompt_next_tokens_).subspan(row, static_cast<size_t>(n)),
                           *s.params().prompt_logprobs, result.prompt_logprobs[i]);
    row += static_cast<size_t>(n);
  }
}

}  // namespace pagoda::engine
