// The cos/sin table rotary position embeddings read, built from a model's RopeConfig the way
// vLLM's rotary embedding classes build theirs.
#pragma once

#include <cstdint>

#include "pagoda/rope_config.h"
#include "pagoda/tensor.h"

namespace pagoda::ops {

struct RotaryCache {
  // f32 [rows, rotary_dim] on the CPU. Row p holds cos(p * f_i) * m for i < rotary_dim / 2, then
  // sin(p * f_i) * m: vLLM's cos_sin_cache layout, with f_i the (scaled) inverse frequencies and m
  // the attention scale (mscale) of yarn and longrope, 1 otherwise. The angle p * f_i and its
  // cos/sin are computed in double and rounded once to f32 (vLLM computes them in f32, which errs
  // by up to p * 2^-24 radians at position p).
  Tensor cos_sin;
  // longrope only: rows [0, original_max_position_embeddings) use the short factors; rows
  // [long_offset, long_offset + max_position_embeddings) the long factors. A sequence that uses
  // the long factors (vLLM: whenever max_model_len > original_max_position_embeddings) adds
  // long_offset to its positions. 0 for every other rope type.
  int64_t long_offset = 0;
};

// Builds the cache for `config`. Rows (positions covered):
//   default, llama3:  max_position_embeddings
//   linear, dynamic:  ceil(max_position_embeddings * factor)   (positions of linear divided by
//                     factor; dynamic: vLLM's DynamicNTKScalingRotaryEmbedding, whose base
//                     theta * (max_len / max_pos - (factor - 1))^(d / (d - 2)) equals theta)
//   yarn:             max(ceil(original_max * factor), max_position_embeddings), with
//                     m = attn_factor * yarn_mscale (mscale / mscale_all_dim ratio when both set)
//   longrope:         original_max + max_position_embeddings (see long_offset)
// Throws Error(InvalidConfig) naming the field for inconsistent values (odd or oversized
// rotary_dim, missing original_max_position_embeddings, factor lists of the wrong length, ...) and
// Error(Unsupported) for other rope types.
RotaryCache build_rotary_cache(const RopeConfig& config);

}  // namespace pagoda::ops
