// The tensor-parallel linear family. Column layers (and their fused variants) shard rows of the
// checkpoint weight, row layers shard columns; which rows a rank owns is described once, as a list
// of parts, and one loader copies the parts for every column-family layer (weights and biases
// alike, since both are sliced along dimension 0).
#include "pagoda/layers/linear.h"

#include <fmt/format.h>

#include <numeric>
#include <utility>

#include "layers/linear_shard.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

using layers_detail::check_init_context;
using layers_detail::check_loaded_dtype;
using layers_detail::copy_shard;
using layers_detail::divide_for_tp;

// One logical part of a parameter sliced along dimension 0: the checkpoint tensor of shard `id`
// has `disk_rows` rows; this rank copies rows [src_start, src_start + rows) of it into rows
// [dst_start, dst_start + rows) of its parameter.
struct RowPart {
  std::string id;
  int64_t disk_rows;
  int64_t src_start;
  int64_t dst_start;
  int64_t rows;
};

std::string part_ids(const std::vector<RowPart>& parts) {
  std::string out;
  for (const RowPart& p : parts) out += (out.empty() ? "'" : ", '") + p.id + "'";
  return out;
}

void load_part(const std::string& name, const RowPart& part, Tensor& param, const Tensor& loaded,
               bool validate_only, std::string_view what) {
  Shape expected = param.shape();
  expected[0] = part.disk_rows;
  check_loaded_shape(name, expected, loaded, what);
  if (validate_only) return;
  copy_shard(param.slice(0, part.dst_start, part.dst_start + part.rows),
             loaded.slice(0, part.src_start, part.src_start + part.rows));
}

// The loader of a parameter sliced along dimension 0 into `parts`. A single part with id "" is an
// unfused parameter; otherwise the shard id names the part, and "" means all parts fused on disk,
// concatenated in order.
WeightLoader row_sharded_loader(std::string name, std::vector<RowPart> parts) {
  return [name = std::move(name), parts = std::move(parts)](
             Tensor& param, const Tensor& loaded, std::string_view shard_id, bool validate_only) {
    check_loaded_dtype(name, loaded);
    const bool fused = !(parts.size() == 1 && parts[0].id.empty());
    if (!fused) {
      PAGODA_CHECK(shard_id.empty(), InvalidArgument,
                   fmt::format("parameter '{}' is not fused, but a '{}' shard was given for it",
                               name, shard_id),
                   "map the checkpoint tensor to this parameter without a shard id");
      load_part(name, parts[0], param, loaded, validate_only, "");
      return;
    }
    if (shard_id.empty()) {
      // Fused on disk: check the whole tensor first so the error shows the full expected shape.
      int64_t total = 0;
      for (const RowPart& p : parts) total += p.disk_rows;
      Shape expected = param.shape();
      expected[0] = total;
      check_loaded_shape(name, expected, loaded, fmt::format("fused {} on disk", part_ids(parts)));
      int64_t offset = 0;
      for (const RowPart& p : parts) {
        load_part(name, p, param, loaded.slice(0, offset, offset + p.disk_rows), validate_only,
                  fmt::format("shard '{}'", p.id));
        offset += p.disk_rows;
      }
      return;
    }
    for (const RowPart& p : parts)
      if (p.id == shard_id)
        return load_part(name, p, param, loaded, validate_only, fmt::format("shard '{}'", p.id));
    throw_error(
        ErrorCode::InvalidArgument,
        fmt::format(
            "parameter '{}' has no shard '{}'; its shards are {} (or '' for all of them fused)",
            name, shard_id, part_ids(parts)),
        "map the checkpoint tensor to one of the parameter's shard ids");
  };
}

// The whole tensor on every rank.
WeightLoader replicated_loader(std::string name, int64_t rows) {
  return row_sharded_loader(std::move(name), {RowPart{"", rows, 0, 0, rows}});
}

// This rank's share of rows of a tensor split evenly over tp ranks.
WeightLoader column_loader(std::string name, int64_t rows, const ParallelState& ps) {
  const int64_t per_rank = rows / ps.tp_size;
  return row_sharded_loader(std::move(name),
                            {RowPart{"", rows, ps.tp_rank * per_rank, 0, per_rank}});
}

// RowParallelLinear's weight: this rank's columns [rank*in/tp, (rank+1)*in/tp).
WeightLoader input_sharded_loader(std::string name, int64_t input_size, const ParallelState& ps) {
  const int64_t per_rank = input_size / ps.tp_size;
  const int64_t start = ps.tp_rank * per_rank;
  return [name = std::move(name), input_size, per_rank, start](
             Tensor& param, const Tensor& loaded, std::string_view shard_id, bool validate_only) {
    check_loaded_dtype(name, loaded);
    PAGODA_CHECK(shard_id.empty(), InvalidArgument,
                 fmt::format("parameter '{}' is not fused, but a '{}' shard was given for it", name,
                             shard_id),
                 "map the checkpoint tensor to this parameter without a shard id");
    check_loaded_shape(name, Shape{param.size(0), input_size}, loaded);
    if (validate_only) return;
    copy_shard(param, loaded.slice(1, start, start + per_rank));
  };
}

std::string weight_name(const std::string& prefix) {
  return prefix + ".weight";
}
std::string bias_name(const std::string& prefix) {
  return prefix + ".bias";
}

int tp_size(const ModelInitContext& ctx) {
  PAGODA_CHECK(
      ctx.parallel.tp_size >= 1, InvalidArgument,
      fmt::format("layer '{}': tensor-parallel size {}", ctx.prefix, ctx.parallel.tp_size),
      "build the parallel state with ParallelState::single() or ParallelState::from(communicator)");
  return ctx.parallel.tp_size;
}

int64_t sum(const std::vector<int64_t>& v) {
  return std::accumulate(v.begin(), v.end(), int64_t{0});
}

}  // namespace

// ------------------------------------------------------------------------------- LinearBase

LinearBase::LinearBase(const ModelInitContext& ctx, int64_t input_size, int64_t output_size,
                       int64_t input_per_rank, int64_t output_per_rank)
    : ctx_(ctx),
      prefix_(ctx.prefix),
      input_size_(input_size),
      output_size_(output_size),
      input_per_rank_(input_per_rank),
      output_per_rank_(output_per_rank) {
  check_init_context(ctx, "linear layer");
  PAGODA_CHECK(input_size > 0 && output_size > 0, InvalidArgument,
               fmt::format("linear layer '{}' of input size {} and output size {}", prefix_,
                           input_size, output_size),
               "check the sizes in config.json; both must be positive");
}

void LinearBase::create_weights(bool bias, WeightLoader weight_loader, WeightLoader bias_loader,
                                int64_t bias_size) {
  weight_ = Tensor::empty({output_per_rank_, input_per_rank_}, ctx_.dtype, ctx_.device);
  ctx_.parameters->add(weight_name(prefix_), weight_, std::move(weight_loader));
  if (bias) {
    bias_ = Tensor::empty({bias_size}, ctx_.dtype, ctx_.device);
    ctx_.parameters->add(bias_name(prefix_), bias_, std::move(bias_loader));
  }
}

Tensor LinearBase::apply(const Tensor& x, bool add_bias) const {
  PAGODA_CHECK(
      x.defined() && x.dim() == 2 && x.size(1) == input_per_rank_, InvalidArgument,
      fmt::format("linear layer '{}' was given input {}; expected [tokens, {}]", prefix_,
                  x.defined() ? x.to_string() : std::string("(undefined)"), input_per_rank_),
      "pass this rank's [tokens, input_size_per_partition] activations");
  Tensor out = Tensor::empty({x.size(0), output_per_rank_}, ctx_.dtype, x.device());
  ops::matmul(x, weight_, add_bias ? bias_ : Tensor(), out);
  return out;
}

Tensor LinearBase::forward(const Tensor& x) const {
  return apply(x, true);
}

// ------------------------------------------------------------------------- ReplicatedLinear

ReplicatedLinear::ReplicatedLinear(const ModelInitContext& ctx, int64_t input_size,
                                   int64_t output_size, bool bias)
    : LinearBase(ctx, input_size, output_size, input_size, output_size) {
  create_weights(bias, replicated_loader(weight_name(prefix_), output_size),
                 replicated_loader(bias_name(prefix_), output_size), output_size);
}

// --------------------------------------------------------------------- ColumnParallelLinear

ColumnParallelLinear::ColumnParallelLinear(const ModelInitContext& ctx, int64_t input_size,
                                           int64_t output_size, int64_t output_per_rank)
    : LinearBase(ctx, input_size, output_size, input_size, output_per_rank) {}

ColumnParallelLinear::ColumnParallelLinear(const ModelInitContext& ctx, int64_t input_size,
                                           int64_t output_size, bool bias, bool gather_output)
    : ColumnParallelLinear(ctx, input_size, output_size,
                           divide_for_tp(output_size, tp_size(ctx), "output_size", ctx.prefix)) {
  gather_output_ = gather_output;
  create_weights(bias, column_loader(weight_name(prefix_), output_size, ctx.parallel),
                 column_loader(bias_name(prefix_), output_size, ctx.parallel), output_per_rank_);
}

Tensor ColumnParallelLinear::forward(const Tensor& x) const {
  Tensor local = apply(x, true);
  if (!gather_output_ || ctx_.parallel.tp_size == 1) return local;
  Tensor full = Tensor::empty({local.size(0), output_size_}, local.dtype(), local.device());
  ctx_.parallel.tp_group->all_gather(local, full, 1);
  return full;
}

// --------------------------------------------------------------- MergedColumnParallelLinear

namespace {

int64_t merged_per_rank(const std::vector<int64_t>& sizes, const ModelInitContext& ctx) {
  PAGODA_CHECK(!sizes.empty(), InvalidArgument,
               fmt::format("merged linear layer '{}' was given no output sizes", ctx.prefix),
               "pass the output size of every fused projection");
  int64_t per_rank = 0;
  for (size_t i = 0; i < sizes.size(); ++i)
    per_rank += divide_for_tp(sizes[i], tp_size(ctx),
                              fmt::format("output size {} (part {})", sizes[i], i), ctx.prefix);
  return per_rank;
}

std::vector<RowPart> merged_parts(const std::vector<int64_t>& sizes, const ParallelState& ps) {
  std::vector<RowPart> parts;
  int64_t dst = 0;
  for (size_t i = 0; i < sizes.size(); ++i) {
    const int64_t per_rank = sizes[i] / ps.tp_size;
    parts.push_back(RowPart{std::to_string(i), sizes[i], ps.tp_rank * per_rank, dst, per_rank});
    dst += per_rank;
  }
  return parts;
}

}  // namespace

MergedColumnParallelLinear::MergedColumnParallelLinear(const ModelInitContext& ctx,
                                                       int64_t input_size,
                                                       std::vector<int64_t> output_sizes, bool bias)
    : ColumnParallelLinear(ctx, input_size, sum(output_sizes), merged_per_rank(output_sizes, ctx)),
      output_sizes_(std::move(output_sizes)) {
  const std::vector<RowPart> parts = merged_parts(output_sizes_, ctx.parallel);
  create_weights(bias, row_sharded_loader(weight_name(prefix_), parts),
                 row_sharded_loader(bias_name(prefix_), parts), output_per_rank_);
}

// ------------------------------------------------------------------------ QKVParallelLinear

namespace {

// This rank's head counts: {query heads, kv heads, ranks sharing each kv head}.
struct QkvHeads {
  int64_t q, kv, replicas;
};

QkvHeads qkv_heads(const ModelInitContext& ctx, int64_t head_size, int64_t total_heads,
                   int64_t total_kv_heads) {
  const int tp = tp_size(ctx);
  PAGODA_CHECK(head_size > 0 && total_heads > 0 && total_kv_heads > 0, InvalidArgument,
               fmt::format("QKV layer '{}' with head size {}, {} heads and {} kv heads", ctx.prefix,
                           head_size, total_heads, total_kv_heads),
               "check head_dim, num_attention_heads and num_key_value_heads in config.json");
  const int64_t q = divide_for_tp(total_heads, tp, "the number of attention heads", ctx.prefix);
  if (tp >= total_kv_heads) {
    // Fewer kv heads than ranks: each rank holds one kv head, shared by tp / kv_heads ranks.
    PAGODA_CHECK(
        tp % total_kv_heads == 0, InvalidArgument,
        fmt::format("layer '{}': the tensor-parallel size {} is not a multiple of the {} key/value "
                    "heads, so they cannot be replicated evenly",
                    ctx.prefix, tp, total_kv_heads),
        "choose a tensor-parallel size that is a multiple or a divisor of num_key_value_heads");
    return {q, 1, tp / total_kv_heads};
  }
  return {q, divide_for_tp(total_kv_heads, tp, "the number of key/value heads", ctx.prefix), 1};
}

std::vector<RowPart> qkv_parts(const ParallelState& ps, int64_t head_size, int64_t total_heads,
                               int64_t total_kv_heads, const QkvHeads& h) {
  const int64_t q_rows = h.q * head_size;
  const int64_t kv_rows = h.kv * head_size;
  const int64_t kv_start = (ps.tp_rank / h.replicas) * kv_rows;
  return {RowPart{"q", total_heads * head_size, ps.tp_rank * q_rows, 0, q_rows},
          RowPart{"k", total_kv_heads * head_size, kv_start, q_rows, kv_rows},
          RowPart{"v", total_kv_heads * head_size, kv_start, q_rows + kv_rows, kv_rows}};
}

}  // namespace

QKVParallelLinear::QKVParallelLinear(const ModelInitContext& ctx, int64_t hidden_size,
                                     int64_t head_size, int64_t total_num_heads,
                                     int64_t total_num_kv_heads, bool bias)
    : ColumnParallelLinear(ctx, hidden_size, (total_num_heads + 2 * total_num_kv_heads) * head_size,
                           [&] {
                             const QkvHeads h =
                                 qkv_heads(ctx, head_size, total_num_heads, total_num_kv_heads);
                             return (h.q + 2 * h.kv) * head_size;
                           }()),
      head_size_(head_size),
      total_num_heads_(total_num_heads),
      total_num_kv_heads_(total_num_kv_heads) {
  const QkvHeads h = qkv_heads(ctx, head_size, total_num_heads, total_num_kv_heads);
  num_heads_ = h.q;
  num_kv_heads_ = h.kv;
  const std::vector<RowPart> parts =
      qkv_parts(ctx.parallel, head_size, total_num_heads, total_num_kv_heads, h);
  create_weights(bias, row_sharded_loader(weight_name(prefix_), parts),
                 row_sharded_loader(bias_name(prefix_), parts), output_per_rank_);
}

// ------------------------------------------------------------------------ RowParallelLinear

RowParallelLinear::RowParallelLinear(const ModelInitContext& ctx, int64_t input_size,
                                     int64_t output_size, bool bias, bool input_is_parallel,
                                     bool reduce_results)
    : LinearBase(ctx, input_size, output_size,
                 divide_for_tp(input_size, tp_size(ctx), "input_size", ctx.prefix), output_size),
      input_is_parallel_(input_is_parallel),
      reduce_results_(reduce_results) {
  // The bias is the whole [output_size] on every rank: it is added once, after the reduction.
  create_weights(bias, input_sharded_loader(weight_name(prefix_), input_size, ctx.parallel),
                 replicated_loader(bias_name(prefix_), output_size), output_size);
}

Tensor RowParallelLinear::forward(const Tensor& x) const {
  Tensor local_x = x;
  if (!input_is_parallel_) {
    PAGODA_CHECK(
        x.defined() && x.dim() == 2 && x.size(1) == input_size_, InvalidArgument,
        fmt::format("row-parallel layer '{}' (input not parallel) was given input {}; expected "
                    "[tokens, {}]",
                    prefix_, x.defined() ? x.to_string() : std::string("(undefined)"), input_size_),
        "pass the whole [tokens, input_size] activations");
    const int64_t start = ctx_.parallel.tp_rank * input_per_rank_;
    local_x = x.slice(1, start, start + input_per_rank_);
  }
  if (ctx_.parallel.tp_size == 1) return apply(local_x, true);
  Tensor out = apply(local_x, false);
  if (reduce_results_) ctx_.parallel.tp_group->all_reduce_sum(out);
  // After the reduction every rank adds the bias; without one, only rank 0 does, so that a later
  // sum over ranks still counts it once.
  const bool add_bias = bias_.defined() && (reduce_results_ || ctx_.parallel.tp_rank == 0);
  if (add_bias && out.size(0) > 0) {
    // The bias seen as [T, out] with row stride 0: every row reads the same vector.
    const Tensor rows =
        Tensor::from_storage(bias_.storage(), bias_.byte_offset(), {out.size(0), output_size_},
                             {0, bias_.stride(0)}, bias_.dtype());
    ops::add(out, rows, out);
  }
  return out;
}

}  // namespace pagoda
