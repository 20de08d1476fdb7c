#include "ops/paged_attention.h"

#include <fmt/format.h>

#include <cmath>
#include <string>
#include <string_view>

#include "ops/checks.h"
#include "ops/cpu/paged_attention.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/attention_ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

constexpr std::string_view kCacheOp = "reshape_and_cache";
constexpr std::string_view kAttentionOp = "paged_attention";

// The geometry both caches share, read from key_cache's shape.
struct CacheShape {
  int64_t num_blocks, block_size, num_kv_heads, head_size;
  int64_t num_slots() const { return num_blocks * block_size; }
  int64_t row_size() const { return num_kv_heads * head_size; }
};

// key_cache and value_cache: defined, [num_blocks, block_size, num_kv_heads, head_size] with the
// last three > 0, contiguous (slots are addressed by arithmetic), one dtype and one shape.
CacheShape check_caches(std::string_view op, const Tensor& key_cache, const Tensor& value_cache) {
  for (const auto& [name, t] : {std::pair<std::string_view, const Tensor&>{"key_cache", key_cache},
                                {"value_cache", value_cache}}) {
    detail::check_defined(op, name, t);
    detail::check_activation_dtype(op, name, t);
    PAGODA_CHECK(t.dim() == 4, InvalidArgument,
                 fmt::format("{}: argument '{}' has shape {} (rank {}); expected [num_blocks, "
                             "block_size, num_kv_heads, head_size]",
                             op, name, t.shape().to_string(), t.dim()),
                 "pass the layer's KV cache tensor as the engine allocated it");
    PAGODA_CHECK(t.size(1) > 0 && t.size(2) > 0 && t.size(3) > 0, InvalidArgument,
                 fmt::format("{}: argument '{}' has shape {}; expected block_size, num_kv_heads "
                             "and head_size (dimensions 1 to 3) all > 0",
                             op, name, t.shape().to_string()),
                 "allocate the cache with the model's KV head count and head_dim");
    PAGODA_CHECK(t.is_contiguous(), InvalidArgument,
                 fmt::format("{}: argument '{}' (shape {}, strides {}) is not contiguous; slots "
                             "are addressed as block_id * block_size + offset",
                             op, name, t.shape().to_string(), t.strides().to_string()),
                 fmt::format("pass the whole contiguous '{}' tensor, not a view of it", name));
  }
  detail::check_same_dtype(op, "value_cache", value_cache, "key_cache", key_cache);
  detail::check_shape(op, "value_cache", value_cache, key_cache.shape(), "the shape of key_cache");
  return {key_cache.size(0), key_cache.size(1), key_cache.size(2), key_cache.size(3)};
}

// seq_lens, max_blocks_per_seq and block_tables against query_start_loc and the cache, including
// every block id the op will read (and only those: entries outside the window or past seq_len
// may hold anything).
void check_sequences(const PagedAttentionMetadata& meta, const CacheShape& cache,
                     std::optional<int64_t> sliding_window) {
  const int64_t num_seqs = static_cast<int64_t>(meta.query_start_loc.size()) - 1;
  PAGODA_CHECK(static_cast<int64_t>(meta.seq_lens.size()) == num_seqs, InvalidArgument,
               fmt::format("{}: argument 'seq_lens' has {} entries but query_start_loc describes "
                           "{} sequences; expected one length per sequence",
                           kAttentionOp, meta.seq_lens.size(), num_seqs),
               "pass one seq_len per sequence of the batch");
  PAGODA_CHECK(meta.max_blocks_per_seq >= 0, InvalidArgument,
               fmt::format("{}: argument 'max_blocks_per_seq' is {}; expected >= 0", kAttentionOp,
                           meta.max_blocks_per_seq),
               "pass the row length of the block table");
  const int64_t table_size = static_cast<int64_t>(meta.block_tables.size());
  PAGODA_CHECK(num_seqs == 0 ||
                   (table_size % num_seqs == 0 && table_size / num_seqs == meta.max_blocks_per_seq),
               InvalidArgument,
               fmt::format("{}: argument 'block_tables' has {} entries; expected num_seqs {} * "
                           "max_blocks_per_seq {}",
                           kAttentionOp, table_size, num_seqs, meta.max_blocks_per_seq),
               "pass a row-major [num_seqs, max_blocks_per_seq] block table");
  const int64_t bs = cache.block_size;
  for (int64_t s = 0; s < num_seqs; ++s) {
    const size_t su = static_cast<size_t>(s);
    const int64_t seq_len = meta.seq_lens[su];
    const int64_t q_len = meta.query_start_loc[su + 1] - meta.query_start_loc[su];
    PAGODA_CHECK(seq_len >= q_len, InvalidArgument,
                 fmt::format("{}: argument 'seq_lens' entry {} is {} but sequence {} has {} new "
                             "query tokens; expected seq_len >= its new tokens (they are its last)",
                             kAttentionOp, s, seq_len, s, q_len),
                 "pass each sequence's total length including the tokens of this step");
    // Dividing, not multiplying, so that huge values cannot overflow.
    PAGODA_CHECK(seq_len / bs + (seq_len % bs != 0) <= meta.max_blocks_per_seq, InvalidArgument,
                 fmt::format("{}: argument 'seq_lens' entry {} is {}, more than max_blocks_per_seq "
                             "{} * block_size {} tokens fit in sequence {}'s block table row",
                             kAttentionOp, s, seq_len, meta.max_blocks_per_seq, bs, s),
                 "allocate enough blocks for the sequence, or widen the block table");
    if (q_len == 0) continue;  // nothing is read for this sequence
    const int64_t first_query = seq_len - q_len;
    const int64_t first_key = sliding_window && first_query - *sliding_window + 1 > 0
                                  ? first_query - *sliding_window + 1
                                  : 0;
    for (int64_t b = first_key / bs; b <= (seq_len - 1) / bs; ++b) {
      const int64_t id = meta.block_tables[static_cast<size_t>(s * meta.max_blocks_per_seq + b)];
      PAGODA_CHECK(id >= 0 && id < cache.num_blocks, InvalidArgument,
                   fmt::format("{}: argument 'block_tables' maps block {} of sequence {} to "
                               "block id {}; expected an id in [0, {}) (the cache's num_blocks)",
                               kAttentionOp, b, s, id, cache.num_blocks),
                   "fill the block table from the KV cache manager of this cache");
    }
  }
}

}  // namespace

void reshape_and_cache(const Tensor& k, const Tensor& v, std::span<const int64_t> slot_mapping,
                       Tensor& key_cache, Tensor& value_cache, const Tensor& device_slot_mapping) {
  const CacheShape cache = check_caches(kCacheOp, key_cache, value_cache);
  detail::check_writable(kCacheOp, "key_cache", key_cache);
  detail::check_writable(kCacheOp, "value_cache", value_cache);
  detail::check_defined(kCacheOp, "k", k);
  detail::check_rank(kCacheOp, "k", k, 2);
  const int64_t tokens = k.size(0);
  detail::check_token_rows(kCacheOp, "k", k, tokens, cache.num_kv_heads, cache.head_size,
                           "num_kv_heads");
  detail::check_token_rows(kCacheOp, "v", v, tokens, cache.num_kv_heads, cache.head_size,
                           "num_kv_heads");
  detail::check_same_dtype(kCacheOp, "k", k, "key_cache", key_cache);
  detail::check_same_dtype(kCacheOp, "v", v, "value_cache", value_cache);
  PAGODA_CHECK(static_cast<int64_t>(slot_mapping.size()) == tokens, InvalidArgument,
               fmt::format("{}: argument 'slot_mapping' has {} entries but k has {} tokens; "
                           "expected one slot per token",
                           kCacheOp, slot_mapping.size(), tokens),
               "pass one slot per row of k and v (-1 for padding)");
  for (size_t t = 0; t < slot_mapping.size(); ++t)
    PAGODA_CHECK(slot_mapping[t] >= -1 && slot_mapping[t] < cache.num_slots(), InvalidArgument,
                 fmt::format("{}: argument 'slot_mapping' entry {} is {}; expected -1 (skip) or "
                             "a slot in [0, {}) (num_blocks {} * block_size {})",
                             kCacheOp, t, slot_mapping[t], cache.num_slots(), cache.num_blocks,
                             cache.block_size),
                 "compute slots as block_id * block_size + offset from this cache's blocks");
  const Device device = detail::common_device(
      kCacheOp, {{"k", k}, {"v", v}, {"key_cache", key_cache}, {"value_cache", value_cache}});
  if (device.is_cpu()) return cpu::reshape_and_cache(k, v, slot_mapping, key_cache, value_cache);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) {
    if (device_slot_mapping.defined()) {
      detail::check_dtype(kCacheOp, "device_slot_mapping", device_slot_mapping, {DType::I64});
      detail::check_shape(kCacheOp, "device_slot_mapping", device_slot_mapping, Shape{tokens},
                          "one slot per token");
      detail::common_device(kCacheOp, {{"k", k}, {"device_slot_mapping", device_slot_mapping}});
    }
    return cuda::reshape_and_cache(k, v, slot_mapping, device_slot_mapping, key_cache,
                                   value_cache);
  }
#else
  (void)device_slot_mapping;  // read by device backends only
#endif
  detail::unsupported_device(kCacheOp, device);
}

void paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                     const PagedAttentionMetadata& meta, int64_t num_heads, double scale,
                     std::optional<int64_t> sliding_window, std::optional<double> logits_soft_cap,
                     Tensor& out) {
  PAGODA_CHECK(num_heads > 0, InvalidArgument,
               fmt::format("{}: num_heads is {}; expected > 0", kAttentionOp, num_heads),
               "pass this rank's number of query heads");
  PAGODA_CHECK(std::isfinite(scale), InvalidArgument,
               fmt::format("{}: scale is {}; expected a finite number", kAttentionOp, scale),
               "pass 1 / sqrt(head_size) or the model's query_pre_attn_scalar ** -0.5");
  PAGODA_CHECK(!sliding_window || *sliding_window > 0, InvalidArgument,
               fmt::format("{}: sliding_window is {}; expected > 0 tokens", kAttentionOp,
                           sliding_window.value_or(0)),
               "pass std::nullopt for full attention, or the model's sliding_window");
  PAGODA_CHECK(!logits_soft_cap || (*logits_soft_cap > 0 && std::isfinite(*logits_soft_cap)),
               InvalidArgument,
               fmt::format("{}: logits_soft_cap is {}; expected a finite number > 0", kAttentionOp,
                           logits_soft_cap.value_or(0.0)),
               "pass std::nullopt for no cap, or the model's attn_logit_softcapping");
  const CacheShape cache = check_caches(kAttentionOp, key_cache, value_cache);
  PAGODA_CHECK(
      num_heads % cache.num_kv_heads == 0, InvalidArgument,
      fmt::format("{}: num_heads {} is not a multiple of num_kv_heads {} (key_cache shape "
                  "{}); expected each key/value head to serve the same number of query "
                  "heads",
                  kAttentionOp, num_heads, cache.num_kv_heads, key_cache.shape().to_string()),
      "check num_attention_heads and num_key_value_heads in config.json");
  detail::check_defined(kAttentionOp, "q", q);
  detail::check_rank(kAttentionOp, "q", q, 2);
  const int64_t tokens = q.size(0);
  detail::check_token_rows(kAttentionOp, "q", q, tokens, num_heads, cache.head_size, "num_heads");
  detail::check_same_dtype(kAttentionOp, "q", q, "key_cache", key_cache);
  detail::check_token_rows(kAttentionOp, "out", out, tokens, num_heads, cache.head_size,
                           "num_heads");
  detail::check_same_dtype(kAttentionOp, "out", out, "q", q);
  detail::check_writable(kAttentionOp, "out", out);
  detail::check_query_start_loc(kAttentionOp, meta.query_start_loc, tokens);
  check_sequences(meta, cache, sliding_window);
  const Device device = detail::common_device(
      kAttentionOp,
      {{"q", q}, {"key_cache", key_cache}, {"value_cache", value_cache}, {"out", out}});
  std::optional<float> cap;
  if (logits_soft_cap) cap = static_cast<float>(*logits_soft_cap);
  if (device.is_cpu())
    return cpu::paged_attention(q, key_cache, value_cache, meta, num_heads,
                                static_cast<float>(scale), sliding_window, cap, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda())
    return cuda::paged_attention(q, key_cache, value_cache, meta, num_heads,
                                 static_cast<float>(scale), sliding_window, cap, out);
#endif
  detail::unsupported_device(kAttentionOp, device);
}

}  // namespace pagoda::ops
