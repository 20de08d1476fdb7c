// Attention over a paged KV cache: writing new keys/values into cache slots, and attention of new
// query tokens over everything a sequence has cached. One op serves prefill, chunked prefill over
// a cached prefix, and decode (one new token per sequence), mixed in one flattened batch.
//
// Cache layout (one pair per attention layer, allocated by the engine):
//   key_cache, value_cache: [num_blocks, block_size, num_kv_heads, head_size], contiguous,
//   f32, bf16 or f16 (the model dtype).
// A token's slot is block_id * block_size + offset; its key row is key_cache[block_id, offset]
// (num_kv_heads * head_size contiguous values). A sequence's block table maps its logical block
// i (positions [i * block_size, (i + 1) * block_size)) to a physical block id.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "pagoda/tensor.h"

namespace pagoda::ops {

// Writes token t's key and value rows into slot slot_mapping[t] of the caches; a slot of -1
// skips the token (padding).
//   k, v: [T, num_kv_heads * head_size], the caches' dtype; rows may be strided (slices of a fused
//         qkv buffer) as long as each row is contiguous.
//   slot_mapping: T slots, each -1 or in [0, num_blocks * block_size). Slots should be distinct
//         (two tokens written to one slot leave either one there).
// Throws Error(InvalidArgument) naming the argument for any inconsistency, before writing anything.
// `device_slot_mapping`, when defined, is the same slots as an i64 [T] tensor on k's device,
// uploaded once per step by the model runner: device backends read it instead of copying the span
// to the device in every layer. The CPU backend reads the span.
void reshape_and_cache(const Tensor& k, const Tensor& v, std::span<const int64_t> slot_mapping,
                       Tensor& key_cache, Tensor& value_cache,
                       const Tensor& device_slot_mapping = Tensor());

// The metadata below as i32 tensors on the device of q (CUDA), uploaded once per step by the model
// runner so that device kernels read it without a host round trip per layer, and so that a
// captured CUDA graph can replay with new contents. The upper bounds size kernel launches.
struct PagedAttentionDeviceMetadata {
  Tensor query_start_loc;     // i32 [num_seqs + 1]
  Tensor seq_lens;            // i32 [num_seqs]
  Tensor block_tables;        // i32 [num_seqs, max_blocks_per_seq], contiguous
  int64_t max_query_len = 0;  // >= every sequence's q_len
  int64_t max_seq_len = 0;    // >= every seq_len
};

// Where each sequence's queries and cached tokens are. Spans are borrowed for the call.
struct PagedAttentionMetadata {
  // num_seqs + 1 offsets into q's rows: sequence s owns rows [query_start_loc[s],
  // query_start_loc[s + 1]). Starts at 0, non-decreasing, ends at T.
  std::span<const int64_t> query_start_loc;
  // num_seqs: total tokens of each sequence, including its new ones.
  std::span<const int64_t> seq_lens;
  // num_seqs * max_blocks_per_seq physical block ids, row-major (one row per sequence).
  std::span<const int32_t> block_tables;
  int64_t max_blocks_per_seq = 0;
  // Optional: the same metadata already on q's device (see above). Without it a device backend
  // uploads the spans itself on every call.
  const PagedAttentionDeviceMetadata* device = nullptr;
};

// Sequence s has q_len = query_start_loc[s + 1] - query_start_loc[s] new tokens (0 <= q_len <=
// seq_lens[s]), the last q_len of its seq_lens[s] tokens. Its new query i sits at position
// p = seq_len - q_len + i and attends to the cached keys at positions j <= p (and j > p - window
// with a sliding window; the window counts the token itself):
//   out[row, h] = sum_j softmax_j(score(j)) * V[j, g(h)]
//   score(j) = cap * tanh(scale * q[row, h] . K[j, g(h)] / cap)   (scale * q . K without a cap)
// K[j] and V[j] are read from the caches through the sequence's block table (the new tokens' keys
// and values must have been written already, e.g. by reshape_and_cache). g(h) = h / (num_heads /
// num_kv_heads), num_kv_heads and head_size taken from the cache shape (GQA; MQA when 1).
//
//   q:   [T, num_heads * head_size], the caches' dtype; rows may be strided, each contiguous.
//   out: [T, num_heads * head_size], q's dtype, rows as q. May be q itself (each output row is
//        written after its query row is read).
//   scale: finite. sliding_window: > 0 when given. logits_soft_cap: finite and > 0 when given.
// Block-table entries of blocks wholly before the window or past seq_len are never read and may
// hold anything (0, a freed block, -1). The entries that are read must be valid block ids.
// Scores, softmax (online, max-subtracted) and the weighted sum are in f32; out is rounded once.
// Throws Error(InvalidArgument) naming the argument for any inconsistency.
void paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                     const PagedAttentionMetadata& meta, int64_t num_heads, double scale,
                     std::optional<int64_t> sliding_window, std::optional<double> logits_soft_cap,
                     Tensor& out);

}  // namespace pagoda::ops
