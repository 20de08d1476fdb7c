// CPU implementation of ops/attention.h. Arguments are validated by the device-agnostic entry.
#pragma once

#include "ops/attention.h"

namespace pagoda::ops::cpu {

void causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int64_t> query_start_loc, int64_t num_heads,
                      int64_t num_kv_heads, int64_t head_size, float scale,
                      std::optional<int64_t> sliding_window, std::optional<float> logits_soft_cap,
                      Tensor& out);

}  // namespace pagoda::ops::cpu
