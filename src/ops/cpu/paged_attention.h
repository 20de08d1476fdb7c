// CPU implementation of ops/paged_attention.h. Arguments are validated by the device-agnostic
// entry.
#pragma once

#include "ops/paged_attention.h"

namespace pagoda::ops::cpu {

void reshape_and_cache(const Tensor& k, const Tensor& v, std::span<const int64_t> slot_mapping,
                       Tensor& key_cache, Tensor& value_cache);

void paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                     const PagedAttentionMetadata& meta, int64_t num_heads, float scale,
                     std::optional<int64_t> sliding_window, std::optional<float> logits_soft_cap,
                     Tensor& out);

}  // namespace pagoda::ops::cpu
