#include "engine/model_runner.h"

#include <fmt/format.h>

#include <cstring>
#include <random>

#include "pagoda/error.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/logging.h"
#include "pagoda/model_registry.h"
#include "pagoda/safetensors.h"

namespace pagoda::engine {
namespace {

// Copies rows `rows` of a [T, H] tensor into a new contiguous [rows.size(), H] tensor.
Tensor gather_rows(const Tensor& hidden, std::span<const int64_t> rows) {
  const int64_t width = hidden.size(1);
  Tensor out = Tensor::empty({static_cast<int64_t>(rows.size()), width}, hidden.dtype());
  const size_t row_bytes = static_cast<size_t>(width) * hidden.itemsize();
  const auto* src = static_cast<const char*>(hidden.data());
  auto* dst = static_cast<char*>(out.mutable_data());
  const size_t stride_bytes = static_cast<size_t>(hidden.stride(0)) * hidden.itemsize();
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(dst + i * row_bytes, src + static_cast<size_t>(rows[i]) * stride_bytes, row_bytes);
  return out;
}

// Every parameter uniform in [-1e-3, 1e-3] from a generator seeded per parameter name, so the
// weights do not depend on the order parameters were registered in.
void fill_dummy_weights(ParameterSet& parameters, uint64_t seed) {
  for (const std::string& name : parameters.names()) {
    Tensor& data = parameters.find(name)->data;
    std::mt19937_64 rng(seed ^ std::hash<std::string>{}(name));
    Tensor values = Tensor::empty(data.shape(), DType::F32);
    float* v = values.mutable_data_as<float>();
    for (int64_t i = 0; i < values.numel(); ++i)
      v[i] = static_cast<float>(static_cast<double>(rng() >> 11) * 0x1.0p-53 * 2e-3 - 1e-3);
    copy_with_cast(data, values);
  }
}

// Passes the checkpoint's tensors through, reporting how many were handed out.
class ProgressWeights final : public WeightIterator {
 public:
  ProgressWeights(WeightIterator& inner, int64_t total, const LoadProgress& progress)
      : inner_(inner), total_(total), progress_(progress) {}
  std::optional<std::pair<std::string, Tensor>> next() override {
    auto item = inner_.next();
    if (item && progress_) progress_(++done_, total_);
    return item;
  }

 private:
  WeightIterator& inner_;
  int64_t total_, done_ = 0;
  const LoadProgress& progress_;
};

}  // namespace

ModelRunner::ModelRunner(const ModelConfig& config, const std::filesystem::path& model_dir,
                         uint64_t seed, bool dummy_weights, const LoadProgress& load_progress)
    : config_(config), sampler_(seed) {
  const ResolvedModel resolved = ModelRegistry::global().resolve(config.architectures);
  ModelInitContext ctx;
  ctx.config = &config;
  ctx.parameters = &parameters_;
  ctx.attention = &attention_;
  ctx.dtype = config.dtype;
  model_ = resolved.factory(ctx);
  if (dummy_weights) {
    fill_dummy_weights(parameters_, seed);
  } else {
    const SafetensorsCheckpoint checkpoint(model_dir);
    CheckpointWeights tensors(checkpoint);
    ProgressWeights weights(tensors, static_cast<int64_t>(checkpoint.size()), load_progress);
    model_->load_weights(weights);
  }
  for (const std::string& name : parameters_.names())
    parameter_bytes_ += static_cast<int64_t>(parameters_.find(name)->data.nbytes());
  PAGODA_CHECK(!attention_.layers().empty(), Unsupported,
               fmt::format("model {} registered no attention layer, so it has no KV cache",
                           resolved.architecture),
               "the engine runs attention models; recurrent models need the Mamba state cache");
  log::info("loaded {} ({} parameters, {:.1f} MiB, {})", resolved.architecture, parameters_.size(),
            static_cast<double>(parameter_bytes_) / (1 << 20), dtype_name(config.dtype));
}

int64_t ModelRunner::kv_cache_bytes_per_token() const {
  int64_t bytes = 0;
  for (const auto& [prefix, layer] : attention_.layers())
    bytes += 2 * layer->num_kv_heads() * layer->head_size() *
             static_cast<int64_t>(dtype_size(layer->dtype()));
  return bytes;
}

std::optional<int64_t> ModelRunner::uniform_sliding_window() const {
  std::optional<int64_t> window;
  bool first = true;
  for (const auto& [prefix, layer] : attention_.layers()) {
    if (first)
      window = layer->sliding_window();
    else if (layer->sliding_window() != window)
      return std::nullopt;
    first = false;
  }
  return window;
}

void ModelRunner::allocate_kv_cache(int64_t num_blocks, int64_t block_size) {
  block_size_ = block_size;
  for (const auto& [prefix, layer] : attention_.layers()) {
    const Shape shape{num_blocks, block_size, layer->num_kv_heads(), layer->head_size()};
    layer->bind_kv_cache(Tensor::empty(shape, layer->dtype()),
                         Tensor::empty(shape, layer->dtype()));
  }
}

void ModelRunner::build_batch(const SchedulerOutput& step, const KVCacheManager& kv_cache) {
  input_ids_.clear();
  positions_.clear();
  slot_mapping_.clear();
  seq_lens_.clear();
  sample_rows_.clear();
  sampler_rows_.clear();
  prompt_rows_.clear();
  prompt_next_tokens_.clear();
  std::vector<int64_t>& query_start_loc = context_.query_start_loc;
  query_start_loc.assign(1, 0);

  int64_t max_blocks = 1;
  for (const ScheduledSequence& item : step.scheduled)
    max_blocks = std::max<int64_t>(
        max_blocks, static_cast<int64_t>(kv_cache.block_ids(item.sequence->id()).size()));
  block_tables_.assign(step.scheduled.size() * static_cast<size_t>(max_blocks), 0);

  for (size_t i = 0; i < step.scheduled.size(); ++i) {
    const ScheduledSequence& item = step.scheduled[i];
    Sequence& s = *item.sequence;
    const std::span<const int32_t> blocks = kv_cache.block_ids(s.id());
    std::copy(blocks.begin(), blocks.end(),
              block_tables_.begin() + static_cast<int64_t>(i) * max_blocks);
    const int64_t start = s.num_computed_tokens;
    const int64_t end = start + item.num_new_tokens;
    PAGODA_ASSERT(static_cast<int64_t>(blocks.size()) * block_size_ >= end);
    const int64_t first_row = static_cast<int64_t>(input_ids_.size());
    for (int64_t p = start; p < end; ++p) {
      input_ids_.push_back(s.token_ids()[static_cast<size_t>(p)]);
      positions_.push_back(p);
      slot_mapping_.push_back(static_cast<int64_t>(blocks[static_cast<size_t>(p / block_size_)]) *
                                  block_size_ +
                              p % block_size_);
      // Prompt logprobs: position p predicts prompt token p + 1.
      if (s.params().prompt_logprobs && p + 1 < s.num_prompt_tokens()) {
        prompt_rows_.push_back(first_row + (p - start));
        prompt_next_tokens_.push_back(s.token_ids()[static_cast<size_t>(p + 1)]);
      }
    }
    query_start_loc.push_back(static_cast<int64_t>(input_ids_.size()));
    seq_lens_.push_back(end);
    if (item.samples) {
      sample_rows_.push_back(static_cast<int64_t>(input_ids_.size()) - 1);
      SamplerRow row;
      row.params = &s.params();
      row.prompt_token_ids = s.prompt_token_ids();
      row.output_token_ids = s.output_token_ids();
      row.generator = s.generator();
      row.min_tokens_blocked = s.min_tokens_blocked;
      sampler_rows_.push_back(row);
    }
  }
  context_.paged = true;
  context_.slot_mapping = slot_mapping_;
  context_.seq_lens = seq_lens_;
  context_.block_tables = block_tables_;
  context_.max_blocks_per_seq = max_blocks;
}

void ModelRunner::execute(const SchedulerOutput& step, const KVCacheManager& kv_cache,
                          StepResult& result) {
  build_batch(step, kv_cache);
  const auto num_tokens = static_cast<int64_t>(input_ids_.size());
  const Tensor ids = Tensor::from_blob(input_ids_.data(), {num_tokens}, DType::I64);
  const Tensor positions = Tensor::from_blob(positions_.data(), {num_tokens}, DType::I64);
  const Tensor hidden = model_->forward(ids, positions, context_);

  result.sampled.resize(step.scheduled.size());
  result.prompt_logprobs.resize(step.scheduled.size());
  for (auto& p : result.prompt_logprobs) p.clear();

  if (!sample_rows_.empty()) {
    Tensor logits = model_->compute_logits(gather_rows(hidden, sample_rows_));
    sampled_.resize(sampler_rows_.size());
    sampler_.sample(logits, sampler_rows_, sampled_);
    size_t next = 0;
    for (size_t i = 0; i < step.scheduled.size(); ++i)
      if (step.scheduled[i].samples) result.sampled[i] = std::move(sampled_[next++]);
  }

  if (!prompt_rows_.empty()) {
    const Tensor logits = model_->compute_logits(gather_rows(hidden, prompt_rows_));
    std::vector<SampledToken> prompt(prompt_rows_.size());
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
      const Tensor rows = logits.slice(0, static_cast<int64_t>(row), static_cast<int64_t>(row) + n);
      result.prompt_logprobs[i].resize(static_cast<size_t>(n));
      compute_token_logprobs(rows,
                             std::span(prompt_next_tokens_).subspan(row, static_cast<size_t>(n)),
                             *s.params().prompt_logprobs, result.prompt_logprobs[i]);
      row += static_cast<size_t>(n);
    }
  }
}

}  // namespace pagoda::engine
