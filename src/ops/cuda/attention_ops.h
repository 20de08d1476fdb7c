// The CUDA attention ops behind ops/attention.h and ops/paged_attention.h. Arguments arrive
// checked by the front ends (shapes, dtypes, metadata against the cache); these queue kernels on
// the device's stream.
#pragma once

#include <optional>
#include <span>

#include "ops/paged_attention.h"
#include "pagoda/tensor.h"

namespace pagoda::cuda {

void reshape_and_cache(const Tensor& k, const Tensor& v, std::span<const int64_t> slot_mapping,
                       const Tensor& device_slot_mapping, Tensor& key_cache, Tensor& value_cache);

void paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                     const ops::PagedAttentionMetadata& meta, int64_t num_heads, float scale,
                     std::optional<int64_t> sliding_window, std::optional<float> soft_cap,
                     Tensor& out);

void causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int64_t> query_start_loc, int64_t num_heads,
                      int64_t num_kv_heads, int64_t head_size, float scale,
                      std::optional<int64_t> sliding_window, std::optional<float> soft_cap,
                      Tensor& out);

// The tensor-core kernels (flash_attention.cu): bf16 and f16, head sizes 16, 32, 64, 80, 96 and
// 128, up to 64 query heads per KV head. The entry points below return false, queueing nothing,
// for a call they do not take (then attention.cu's CUDA-core kernel runs it). Metadata pointers
// are i32 device arrays as in ops::PagedAttentionDeviceMetadata; max_query_len and max_seq_len
// bound every sequence's (they size the grid and the key splits).
bool flash_attention_supports(DType dtype, int64_t head_size, int64_t group);

bool flash_paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                           const int32_t* query_start_loc, const int32_t* seq_lens,
                           const int32_t* block_tables, int64_t max_blocks_per_seq,
                           int64_t num_seqs, int64_t max_query_len, int64_t max_seq_len,
                           int64_t num_heads, float scale, std::optional<int64_t> sliding_window,
                           std::optional<float> soft_cap, Tensor& out);

bool flash_causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                            const int32_t* query_start_loc, int64_t num_seqs, int64_t max_query_len,
                            int64_t num_heads, int64_t num_kv_heads, int64_t head_size, float scale,
                            std::optional<int64_t> sliding_window, std::optional<float> soft_cap,
                            Tensor& out);

}  // namespace pagoda::cuda
