// Vocabulary-parallel embedding and LM head: rank r owns rows [r*padded/tp, (r+1)*padded/tp) of the
// padded vocabulary; rows past the real vocabulary are zero.
#include "pagoda/layers/vocab_embedding.h"

#include <fmt/format.h>

#include <algorithm>
#include <vector>

#include "layers/linear_shard.h"
#include "ops/embedding.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

using layers_detail::check_init_context;
using layers_detail::check_loaded_dtype;
using layers_detail::copy_shard;
using layers_detail::fill_zero;

int64_t padded_vocab(const ModelInitContext& ctx, int64_t vocab, int64_t dim, int64_t padding) {
  PAGODA_CHECK(
      vocab > 0 && dim > 0 && padding > 0, InvalidArgument,
      fmt::format("vocab-parallel layer '{}' with vocabulary {}, embedding dim {} and padding {}",
                  ctx.prefix, vocab, dim, padding),
      "check vocab_size and hidden_size in config.json; all sizes must be positive");
  return (vocab + padding - 1) / padding * padding;
}

int64_t vocab_per_rank(const ModelInitContext& ctx, int64_t padded, int64_t padding) {
  const int tp = ctx.parallel.tp_size;
  PAGODA_CHECK(
      tp >= 1 && padded % tp == 0, InvalidArgument,
      fmt::format(
          "layer '{}': the padded vocabulary ({} rows, a multiple of {}) is not divisible by "
          "the tensor-parallel size {}",
          ctx.prefix, padded, padding, tp),
      "choose a tensor-parallel size that divides the padded vocabulary");
  return padded / tp;
}

// Reads id t of an i32 or i64 tensor of any stride.
int64_t id_at(const Tensor& ids, int64_t t) {
  const int64_t i = t * ids.stride(0);
  return ids.dtype() == DType::I32 ? ids.data_as<int32_t>()[i] : ids.data_as<int64_t>()[i];
}

}  // namespace

VocabParallelEmbedding::VocabParallelEmbedding(const ModelInitContext& ctx, int64_t num_embeddings,
                                               int64_t embedding_dim, int64_t padding_size)
    : ctx_(ctx), num_embeddings_(num_embeddings), dim_(embedding_dim) {
  check_init_context(ctx, "vocab-parallel embedding");
  padded_ = padded_vocab(ctx, num_embeddings, embedding_dim, padding_size);
  per_rank_ = vocab_per_rank(ctx, padded_, padding_size);
  start_ = ctx.parallel.tp_rank * per_rank_;
  end_ = std::clamp(num_embeddings, start_, start_ + per_rank_);
  weight_ = Tensor::empty({per_rank_, dim_}, ctx.dtype, ctx.device);

  const std::string name = ctx.prefix + ".weight";
  const int64_t vocab = num_embeddings_, dim = dim_, start = start_, real_rows = end_ - start_;
  ctx.parameters->add(
      name, weight_,
      [name, vocab, dim, start, real_rows](Tensor& param, const Tensor& loaded,
                                           std::string_view shard_id, bool validate_only) {
        check_loaded_dtype(name, loaded);
        PAGODA_CHECK(shard_id.empty(), InvalidArgument,
                     fmt::format("parameter '{}' is not fused, but a '{}' shard was given for it",
                                 name, shard_id),
                     "map the checkpoint tensor to this parameter without a shard id");
        check_loaded_shape(name, Shape{vocab, dim}, loaded);
        if (validate_only) return;
        // A rank may hold only padding (a small vocabulary over many ranks): nothing to copy.
        if (real_rows > 0)
          copy_shard(param.slice(0, 0, real_rows), loaded.slice(0, start, start + real_rows));
        fill_zero(param.slice(0, real_rows, param.size(0)));
      });
}

VocabParallelEmbedding::VocabParallelEmbedding(const ModelInitContext& ctx,
                                               const VocabParallelEmbedding& shared)
    : ctx_(ctx),
      num_embeddings_(shared.num_embeddings_),
      dim_(shared.dim_),
      padded_(shared.padded_),
      per_rank_(shared.per_rank_),
      start_(shared.start_),
      end_(shared.end_),
      weight_(shared.weight_) {
  PAGODA_CHECK(
      ctx.parallel.tp_rank == shared.ctx_.parallel.tp_rank &&
          ctx.parallel.tp_size == shared.ctx_.parallel.tp_size,
      InvalidArgument,
      fmt::format("layer '{}' (rank {} of {}) is tied to '{}' built for rank {} of {}", ctx.prefix,
                  ctx.parallel.tp_rank, ctx.parallel.tp_size, shared.ctx_.prefix,
                  shared.ctx_.parallel.tp_rank, shared.ctx_.parallel.tp_size),
      "tie the LM head to the embedding of the same rank");
}

Tensor VocabParallelEmbedding::forward(const Tensor& ids) const {
  PAGODA_CHECK(
      ids.defined() && ids.dim() == 1 && (ids.dtype() == DType::I32 || ids.dtype() == DType::I64),
      InvalidArgument,
      fmt::format("embedding '{}' was given ids {}; expected a 1-D i32 or i64 tensor", ctx_.prefix,
                  ids.defined() ? ids.to_string() : std::string("(undefined)")),
      "pass the flattened token ids [num_tokens]");
  const int64_t n = ids.size(0);
  if (!ids.device().is_cpu() && ctx_.parallel.tp_size == 1) {
    // One rank owns every row: the op reads the ids where they are and range-checks them on the
    // device before writing.
    Tensor out = Tensor::empty({n, dim_}, ctx_.dtype, weight_.device());
    ops::embedding(ids, weight_, out);
    return out;
  }
  // Ids are masked on the host (device ids are copied back first).
  const Tensor host_ids = ids.to(Device::cpu());
  // Two lookups, a fixed number of ops whatever the batch: ids this rank does not own first look
  // up row 0; then each token takes its own row of that result, or a zero row appended to it.
  // The all-reduce then brings in the owner's row.
  Tensor lookups = Tensor::empty({2, n}, DType::I64);
  int64_t* local_ids = lookups.mutable_data_as<int64_t>();
  int64_t* pick = local_ids + n;
  for (int64_t t = 0; t < n; ++t) {
    const int64_t id = id_at(host_ids, t);
    PAGODA_CHECK(
        id >= 0 && id < num_embeddings_, InvalidArgument,
        fmt::format("embedding '{}': token id {} at position {} is outside the vocabulary [0, {})",
                    ctx_.prefix, id, t, num_embeddings_),
        "check the tokenizer matches the model (vocab_size in config.json)");
    const bool mine = id >= start_ && id < end_;
    local_ids[t] = mine ? id - start_ : 0;
    pick[t] = mine ? t : n;
  }
  const Device device = weight_.device();
  const Tensor on_device = lookups.to(device);
  Tensor rows = Tensor::empty({n + 1, dim_}, ctx_.dtype, device);
  Tensor looked_up = rows.slice(0, 0, n);
  ops::embedding(on_device.select(0, 0), weight_, looked_up);
  fill_zero(rows.slice(0, n, n + 1));
  Tensor out = Tensor::empty({n, dim_}, ctx_.dtype, device);
  ops::embedding(on_device.select(0, 1), rows, out);
  if (ctx_.parallel.tp_size > 1) ctx_.parallel.tp_group->all_reduce_sum(out);
  return out;
}

ParallelLMHead::ParallelLMHead(const ModelInitContext& ctx, int64_t num_embeddings,
                               int64_t embedding_dim, int64_t padding_size)
    : VocabParallelEmbedding(ctx, num_embeddings, embedding_dim, padding_size) {}

ParallelLMHead::ParallelLMHead(const ModelInitContext& ctx, const VocabParallelEmbedding& tied_to)
    : VocabParallelEmbedding(ctx, tied_to), tied_(true) {}

}  // namespace pagoda
