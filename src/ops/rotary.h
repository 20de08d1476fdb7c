// Rotary position embedding applied to queries and keys in place (vLLM's rotary_embedding op).
#pragma once

#include <cstdint>

#include "ops/rotary_cache.h"
#include "pagoda/tensor.h"

namespace pagoda::ops {

// Rotates dimensions [0, rotary_dim) of every head of query and key by the angles of each token's
// position, in place: for each pair (x1, x2), x1' = x1 cos - x2 sin and x2' = x2 cos + x1 sin,
// with cos and sin read from row positions[t] of cos_sin_cache. Computed in f32.
//   positions:     [T] i64 or i32 (any stride), each in [0, cos_sin_cache rows).
//   query:         [T, num_heads * head_size] f32, bf16 or f16; rows may be strided (the q slice
//                  of a fused qkv buffer) as long as each row is contiguous.
//   key:           [T, num_kv_heads * head_size] of query's dtype, rows as query; or an
//                  undefined Tensor to rotate query only.
//   cos_sin_cache: f32 [rows, rotary_dim] (RotaryCache::cos_sin); rotary_dim even and
//                  <= head_size. Dimensions [rotary_dim, head_size) of each head stay untouched.
//   is_neox:       true: pairs (x[i], x[i + rotary_dim/2]) (GPT-NeoX, Llama); false: pairs
//                  (x[2i], x[2i+1]) (GPT-J, GLM).
// A position outside the cache throws Error(InvalidArgument) before anything is written.
void apply_rotary(const Tensor& positions, Tensor& query, Tensor& key, const Tensor& cos_sin_cache,
                  int64_t head_size, bool is_neox);

}  // namespace pagoda::ops
