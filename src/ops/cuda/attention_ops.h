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

}  // namespace pagoda::cuda
