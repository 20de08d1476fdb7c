#include "engine/model_worker.h"

#include <fmt/format.h>

#include <cstring>
#include <random>
#include <span>

#include "pagoda/error.h"
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
// weights do not depend on the order parameters were registered in, nor on the rank: a shard
// gets the values the whole parameter would have had there only at tp = 1.
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

// vLLM's start-up checks: what must divide evenly for the model to split over the ranks.
void check_split(const ModelConfig& c, const ResolvedModel& model, const ParallelState& p) {
  const int tp = p.tp_size;
  PAGODA_CHECK(c.num_attention_heads % tp == 0, InvalidArgument,
               fmt::format("{} attention heads do not split over tensor_parallel_size {}",
                           c.num_attention_heads, tp),
               "use a tensor-parallel size that divides num_attention_heads");
  PAGODA_CHECK(
      c.num_kv_heads % tp == 0 || tp % c.num_kv_heads == 0, InvalidArgument,
      fmt::format("{} key/value heads neither split over nor replicate evenly across "
                  "tensor_parallel_size {}",
                  c.num_kv_heads, tp),
      "use a tensor-parallel size that divides num_key_value_heads or is a multiple of it");
  if (c.intermediate_size)
    PAGODA_CHECK(*c.intermediate_size % tp == 0, InvalidArgument,
                 fmt::format("the MLP width {} (intermediate_size) does not split over "
                             "tensor_parallel_size {}",
                             *c.intermediate_size, tp),
                 "use a tensor-parallel size that divides intermediate_size");
  const int64_t padded_vocab = (c.vocab_size + 63) / 64 * 64;  // VocabParallelEmbedding's padding
  PAGODA_CHECK(padded_vocab % tp == 0, InvalidArgument,
               fmt::format("the vocabulary ({} tokens, padded to {}) does not split over "
                           "tensor_parallel_size {}",
                           c.vocab_size, padded_vocab, tp),
               "use a tensor-parallel size that divides 64 (1, 2, 4, 8, ...)");
  if (p.pp_size > 1) {
    PAGODA_CHECK(model.capabilities.pipeline_parallel, Unsupported,
                 fmt::format("{} does not support pipeline parallelism", model.architecture),
                 "use --pipeline-parallel-size 1 (tensor parallelism still works)");
    PAGODA_CHECK(c.num_hidden_layers >= p.pp_size, InvalidArgument,
                 fmt::format("{} layers cannot be split over pipeline_parallel_size {}",
                             c.num_hidden_layers, p.pp_size),
                 fmt::format("use --pipeline-parallel-size {} or less", c.num_hidden_layers));
  }
}

}  // namespace

ModelWorker::ModelWorker(const ModelConfig& config, const std::filesystem::path& model_dir,
                         uint64_t seed, bool dummy_weights, const LoadProgress& load_progress,
                         const distributed::RankGroups& groups)
    : config_(config), groups_(groups), parallel_(groups.parallel()) {
  const ResolvedModel resolved = ModelRegistry::global().resolve(config.architectures);
  check_split(config, resolved, parallel_);
  ModelInitContext ctx;
  ctx.config = &config;
  ctx.parallel = parallel_;
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
  const bool parallel = parallel_.tp_size * parallel_.pp_size > 1;
  const std::string where =
      parallel
          ? fmt::format(" on rank {} (tp {}/{}, pp {}/{})", groups_.world_rank(), parallel_.tp_rank,
                        parallel_.tp_size, parallel_.pp_rank, parallel_.pp_size)
          : std::string();
  log::info("loaded {}{} ({} parameters, {:.1f} MiB, {})", resolved.architecture, where,
            parameters_.size(), static_cast<double>(parameter_bytes_) / (1 << 20),
            dtype_name(config.dtype));
}

int64_t ModelWorker::kv_cache_bytes_per_token() const {
  int64_t bytes = 0;
  for (const auto& [prefix, layer] : attention_.layers())
    bytes += 2 * layer->num_kv_heads() * layer->head_size() *
             static_cast<int64_t>(dtype_size(layer->dtype()));
  return bytes;
}

int64_t ModelWorker::sliding_window_code() const {
  std::optional<int64_t> code;
  for (const auto& [prefix, layer] : attention_.layers()) {
    const int64_t mine = layer->sliding_window().value_or(kFullAttention);
    if (code && *code != mine) return kMixedWindows;
    code = mine;
  }
  return code.value_or(kFullAttention);
}

void ModelWorker::allocate_kv_cache(int64_t num_blocks, int64_t block_size) {
  for (const auto& [prefix, layer] : attention_.layers()) {
    const Shape shape{num_blocks, block_size, layer->num_kv_heads(), layer->head_size()};
    layer->bind_kv_cache(Tensor::empty(shape, layer->dtype()),
                         Tensor::empty(shape, layer->dtype()));
  }
}

Tensor ModelWorker::execute(const StepBatch& batch) {
  const int64_t num_tokens = batch.num_tokens();
  // The model reads ids and positions; the tensors only borrow the batch's buffers.
  const Tensor ids = Tensor::from_blob_read_only(batch.input_ids.data(), {num_tokens}, DType::I64);
  const Tensor positions =
      Tensor::from_blob_read_only(batch.positions.data(), {num_tokens}, DType::I64);
  ForwardContext context = batch.context();
  Communicator& pp = *parallel_.pp_group;

  IntermediateTensors inputs;
  if (!parallel_.is_first_stage()) {
    inputs = model_->make_empty_intermediate_tensors(num_tokens);
    for (auto& [name, tensor] : inputs.tensors) pp.recv(tensor, parallel_.pp_rank - 1);
  }
  IntermediateTensors outputs = model_->forward_stage(ids, positions, context, inputs);
  if (!parallel_.is_last_stage()) {
    for (const auto& [name, tensor] : outputs.tensors) pp.send(tensor, parallel_.pp_rank + 1);
  }

  const auto rows = static_cast<int64_t>(batch.logit_rows.size());
  const bool driver = groups_.world_rank() == 0;
  if (rows == 0) return Tensor();
  if (parallel_.is_last_stage()) {
    // Every tensor-parallel rank of the last stage takes part (the LM head is split by vocab).
    Tensor logits =
        model_->compute_logits(gather_rows(outputs.at("hidden_states"), batch.logit_rows));
    if (driver) return logits;
    // The last stage's first rank hands them to the first stage's, world rank 0.
    if (parallel_.tp_rank == 0) pp.send(logits, 0);
    return Tensor();
  }
  if (!driver) return Tensor();
  Tensor logits = Tensor::empty({rows, config_.vocab_size}, DType::F32);
  pp.recv(logits, parallel_.pp_size - 1);
  return logits;
}

}  // namespace pagoda::engine
