#include "pagoda/layers/attention.h"

#include <fmt/format.h>

#include "ops/attention.h"
#include "ops/paged_attention.h"
#include "pagoda/error.h"

namespace pagoda {

Attention::Attention(const ModelInitContext& ctx, int64_t num_heads, int64_t head_size,
                     double scale, int64_t num_kv_heads, std::optional<int64_t> sliding_window,
                     std::optional<double> logits_soft_cap)
    : prefix_(ctx.prefix),
      num_heads_(num_heads),
      head_size_(head_size),
      num_kv_heads_(num_kv_heads),
      scale_(scale),
      sliding_window_(sliding_window),
      soft_cap_(logits_soft_cap),
      dtype_(ctx.dtype) {
  PAGODA_CHECK(num_heads > 0 && num_kv_heads > 0 && head_size > 0 && num_heads % num_kv_heads == 0,
               InvalidArgument,
               fmt::format("attention layer '{}': num_heads {}, num_kv_heads {}, head_size {}; "
                           "expected positive counts with num_heads a multiple of num_kv_heads",
                           prefix_, num_heads, num_kv_heads, head_size),
               "check num_attention_heads, num_key_value_heads and head_dim in config.json, and "
               "that the tensor-parallel size divides them");
  if (ctx.attention) ctx.attention->add(prefix_, this);
}

Tensor Attention::forward(const Tensor& q, const Tensor& k, const Tensor& v,
                          const ForwardContext& context) const {
  const int64_t tokens = q.defined() && q.dim() >= 1 ? q.size(0) : 0;
  Tensor out = Tensor::empty({tokens, num_heads_ * head_size_}, dtype_, q.device());
  if (context.paged) {
    PAGODA_CHECK(key_cache_.defined(), InvalidArgument,
                 fmt::format("attention layer '{}' ran a paged step without a KV cache", prefix_),
                 "bind the layer's cache with bind_kv_cache before paged forwards");
    // The cache tensors are shared storage: writing through copies of the handles is intended.
    Tensor key_cache = key_cache_, value_cache = value_cache_;
    ops::reshape_and_cache(k, v, context.slot_mapping, key_cache, value_cache,
                           context.device_slot_mapping);
    ops::PagedAttentionMetadata meta;
    meta.query_start_loc = context.query_start_loc;
    meta.seq_lens = context.seq_lens;
    meta.block_tables = context.block_tables;
    meta.max_blocks_per_seq = context.max_blocks_per_seq;
    ops::PagedAttentionDeviceMetadata device_meta;
    if (context.device_seq_lens.defined()) {
      device_meta.query_start_loc = context.device_query_start_loc;
      device_meta.seq_lens = context.device_seq_lens;
      device_meta.block_tables = context.device_block_tables;
      device_meta.max_query_len = context.max_query_len;
      device_meta.max_seq_len = context.max_seq_len;
      meta.device = &device_meta;
    }
    ops::paged_attention(q, key_cache_, value_cache_, meta, num_heads_, scale_, sliding_window_,
                         soft_cap_, out);
    return out;
  }
  ops::causal_attention(q, k, v, context.query_start_loc, num_heads_, num_kv_heads_, head_size_,
                        scale_, sliding_window_, soft_cap_, out);
  return out;
}

void Attention::bind_kv_cache(Tensor key_cache, Tensor value_cache) {
  for (const Tensor* t : {&key_cache, &value_cache})
    PAGODA_CHECK(t->defined() && t->dim() == 4 && t->size(2) == num_kv_heads_ &&
                     t->size(3) == head_size_ && t->dtype() == dtype_ && t->is_contiguous(),
                 InvalidArgument,
                 fmt::format("attention layer '{}': KV cache {} {}; expected a contiguous "
                             "[num_blocks, block_size, {}, {}] {} tensor",
                             prefix_, t->defined() ? t->shape().to_string() : "undefined",
                             t->defined() ? dtype_name(t->dtype()) : "", num_kv_heads_, head_size_,
                             dtype_name(dtype_)),
                 "allocate the cache from the layer's num_kv_heads, head_size and dtype");
  key_cache_ = std::move(key_cache);
  value_cache_ = std::move(value_cache);
}

void AttentionRegistry::add(const std::string& prefix, Attention* layer) {
  PAGODA_CHECK(!layers_.contains(prefix), InvalidArgument,
               fmt::format("attention layer '{}' is registered twice", prefix),
               "give every attention layer its own prefix (ModelInitContext::child)");
  layers_.emplace(prefix, layer);
}

}  // namespace pagoda
