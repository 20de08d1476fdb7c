#include "engine/model_worker.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <random>
#include <span>

#include "engine/decode_graphs.h"
#include "ops/checks.h"
#include "ops/embedding.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "pagoda/model_registry.h"
#include "pagoda/safetensors.h"

namespace pagoda::engine {
namespace {

// Copies rows `rows` of a [T, H] tensor into a new contiguous [rows.size(), H] tensor. On a
// device the embedding op gathers them: a row lookup is exactly what it does.
Tensor gather_rows(const Tensor& hidden, std::span<const int64_t> rows, const Tensor& device_rows) {
  const int64_t width = hidden.size(1);
  if (!hidden.device().is_cpu()) {
    Tensor out = Tensor::empty({device_rows.size(0), width}, hidden.dtype(), hidden.device());
    ops::embedding(device_rows, hidden.contiguous(), out);
    return out;
  }
  Tensor out = Tensor::empty({static_cast<int64_t>(rows.size()), width}, hidden.dtype());
  const size_t row_bytes = static_cast<size_t>(width) * hidden.itemsize();
  const auto* src = static_cast<const char*>(hidden.data());
  auto* dst = static_cast<char*>(out.mutable_data());
  const size_t stride_bytes = static_cast<size_t>(hidden.stride(0)) * hidden.itemsize();
  for (size_t i = 0; i < rows.size(); ++i)
    std::memcpy(dst + i * row_bytes, src + static_cast<size_t>(rows[i]) * stride_bytes, row_bytes);
  return out;
}

// The step's batch on the model's device: one upload of the i64 fields and one of the i32 ones,
// viewed as the tensors the model and its attention layers read.
struct DeviceBatch {
  Tensor ids, positions, logit_rows;
};

DeviceBatch upload_batch(const StepBatch& batch, Device device, ForwardContext& context) {
  const auto n = [](const auto& v) { return static_cast<int64_t>(v.size()); };
  std::vector<int64_t> wide;
  wide.reserve(batch.input_ids.size() * 3 + batch.logit_rows.size());
  for (const auto* f : {&batch.input_ids, &batch.positions, &batch.slot_mapping, &batch.logit_rows})
    wide.insert(wide.end(), f->begin(), f->end());
  std::vector<int32_t> narrow;
  narrow.reserve(batch.query_start_loc.size() + batch.seq_lens.size() + batch.block_tables.size());
  for (int64_t v : batch.query_start_loc) narrow.push_back(static_cast<int32_t>(v));
  for (int64_t v : batch.seq_lens) narrow.push_back(static_cast<int32_t>(v));
  narrow.insert(narrow.end(), batch.block_tables.begin(), batch.block_tables.end());
  const Tensor w = Tensor::from_blob(wide.data(), {n(wide)}, DType::I64).to(device);
  const Tensor s = Tensor::from_blob(narrow.data(), {n(narrow)}, DType::I32).to(device);

  const int64_t tokens = n(batch.input_ids), seqs = n(batch.seq_lens);
  DeviceBatch out;
  out.ids = w.slice(0, 0, tokens);
  out.positions = w.slice(0, tokens, 2 * tokens);
  context.device_slot_mapping = w.slice(0, 2 * tokens, 3 * tokens);
  out.logit_rows = w.slice(0, 3 * tokens, n(wide));
  context.device_query_start_loc = s.slice(0, 0, seqs + 1);
  context.device_seq_lens = s.slice(0, seqs + 1, 2 * seqs + 1);
  context.device_block_tables =
      s.slice(0, 2 * seqs + 1, n(narrow)).view({seqs, batch.max_blocks_per_seq});
  for (int64_t i = 0; i < seqs; ++i) {
    const int64_t q_len = batch.query_start_loc[static_cast<size_t>(i + 1)] -
                          batch.query_start_loc[static_cast<size_t>(i)];
    context.max_query_len = std::max(context.max_query_len, q_len);
    context.max_seq_len = std::max(context.max_seq_len, batch.seq_lens[static_cast<size_t>(i)]);
  }
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
                         const distributed::RankGroups& groups, const WorkerOptions& options)
    : config_(config),
      groups_(groups),
      parallel_(groups.parallel()),
      options_(options),
      device_(options.device) {
  const Device device = device_;
  const ResolvedModel resolved = ModelRegistry::global().resolve(config.architectures);
  check_split(config, resolved, parallel_);
  ModelInitContext ctx;
  ctx.config = &config;
  ctx.parallel = parallel_;
  ctx.parameters = &parameters_;
  ctx.attention = &attention_;
  ctx.dtype = config.dtype;
  ctx.device = device;
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
  log::info("loaded {}{} ({} parameters, {:.1f} MiB, {}, {})", resolved.architecture, where,
            parameters_.size(), static_cast<double>(parameter_bytes_) / (1 << 20),
            dtype_name(config.dtype), device.to_string());
}

ModelWorker::~ModelWorker() = default;

WorkerOptions WorkerOptions::from(const EngineArgs& args, const distributed::RankGroups& groups) {
  WorkerOptions o;
  o.device = groups.device;
  const bool parallel = groups.tp->size() * groups.pp->size() > 1;
  o.enforce_eager = args.enforce_eager || (parallel && o.device.is_cuda());
  o.max_num_seqs = args.max_num_seqs;
  return o;
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
    layer->bind_kv_cache(Tensor::empty(shape, layer->dtype(), device_),
                         Tensor::empty(shape, layer->dtype(), device_));
  }
  graphs_.reset();
  if (device_.is_cuda() && !options_.enforce_eager) {
    const int64_t max_blocks = (config_.max_model_len + block_size - 1) / block_size;
    try {
      graphs_ = std::make_unique<DecodeGraphs>(*model_, device_, options_.max_num_seqs, max_blocks,
                                               block_size, config_.vocab_size);
    } catch (const Error& e) {
      log::warn("decode steps run eagerly: {}", e.what());
    }
  }
}

Tensor ModelWorker::execute(const StepBatch& batch, bool logits_on_device) {
  logits_on_device = logits_on_device && can_sample_on_device();
  const int64_t num_tokens = batch.num_tokens();
  if (graphs_ && graphs_->fits(batch)) {
    const Tensor logits = graphs_->run(batch);
    return logits_on_device ? logits : logits.to(Device::cpu());
  }
  ForwardContext context = batch.context();
  DeviceBatch on_device;
  if (!device_.is_cpu()) on_device = upload_batch(batch, device_, context);
  // On the CPU the model reads ids and positions in place: the tensors borrow the batch's buffers.
  const Tensor ids = device_.is_cpu() ? Tensor::from_blob_read_only(batch.input_ids.data(),
                                                                    {num_tokens}, DType::I64)
                                      : on_device.ids;
  const Tensor positions = device_.is_cpu() ? Tensor::from_blob_read_only(batch.positions.data(),
                                                                          {num_tokens}, DType::I64)
                                            : on_device.positions;
  Communicator& pp = *parallel_.pp_group;

  IntermediateTensors inputs;
  if (!parallel_.is_first_stage()) {
    inputs = model_->make_empty_intermediate_tensors(num_tokens);
    for (auto& [name, tensor] : inputs.tensors) pp.recv(tensor, parallel_.pp_rank - 1);
  }
  // Token ids were checked against the vocabulary when the requests arrived, positions against
  // max_model_len by the scheduler: device ops need not wait to check them again.
  const ops::detail::ScopedTrustedIndices trusted;
  IntermediateTensors outputs = model_->forward_stage(ids, positions, context, inputs);
  if (!parallel_.is_last_stage()) {
    for (const auto& [name, tensor] : outputs.tensors) pp.send(tensor, parallel_.pp_rank + 1);
  }

  const auto rows = static_cast<int64_t>(batch.logit_rows.size());
  const bool driver = groups_.world_rank() == 0;
  if (rows == 0) return Tensor();
  if (parallel_.is_last_stage()) {
    // Every tensor-parallel rank of the last stage takes part (the LM head is split by vocab).
    Tensor logits = model_->compute_logits(
        gather_rows(outputs.at("hidden_states"), batch.logit_rows, on_device.logit_rows));
    // The sampler runs where the caller asks: on the host, or (a GPU rank alone) on the device.
    if (driver) return logits_on_device ? logits : logits.to(Device::cpu());
    // The last stage's first rank hands them to the first stage's, world rank 0.
    if (parallel_.tp_rank == 0) pp.send(logits, 0);
    return Tensor();
  }
  if (!driver) return Tensor();
  // Received where the pipeline group moves tensors (a GPU's for NCCL), sampled on the host.
  Tensor logits = Tensor::empty({rows, config_.vocab_size}, DType::F32, device_);
  pp.recv(logits, parallel_.pp_size - 1);
  return device_.is_cpu() ? logits : logits.to(Device::cpu());
}

}  // namespace pagoda::engine
