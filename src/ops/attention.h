// Causal self-attention over a flattened batch of sequences whose tokens are all new (prefill, or
// re-running a whole sequence): no KV cache is read or written.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "pagoda/tensor.h"

namespace pagoda::ops {

// For every sequence s (tokens [query_start_loc[s], query_start_loc[s+1])), every query head h and
// every token i of s:
//   out[i, h] = sum_j softmax_j(score(i, j)) * v[j, g(h)]
//   score(i, j) = cap * tanh(scale * q[i, h] . k[j, g(h)] / cap)   (just scale * q . k without a
//   cap)
// over the tokens j of the same sequence with j <= i and, with a sliding window, j > i - window
// (the window counts the token itself, as Hugging Face and vLLM do). g(h) = h / (num_heads /
// num_kv_heads) is the key/value head that query head h shares (GQA; MQA when num_kv_heads = 1).
//
//   q:    [T, num_heads * head_size] f32, bf16 or f16; rows may be strided (the q slice of a fused
//         qkv buffer) as long as each row is contiguous.
//   k, v: [T, num_kv_heads * head_size], q's dtype, rows as q.
//   query_start_loc: num_seqs + 1 offsets, starting at 0, non-decreasing, ending at T.
//   scale: multiplies q . k (usually 1 / sqrt(head_size)).
//   sliding_window: > 0 when given. logits_soft_cap: > 0 when given (Gemma 2).
//   out:  [T, num_heads * head_size] f32, bf16 or f16, rows as q. It may be q itself (each
//         output row is written after its query row is read) but must not overlap k or v.
// Scores, softmax (online, max-subtracted) and the weighted sum are computed in f32; out is
// rounded once. Throws Error(InvalidArgument) naming the argument for any inconsistency.
void causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int64_t> query_start_loc, int64_t num_heads,
                      int64_t num_kv_heads, int64_t head_size, double scale,
                      std::optional<int64_t> sliding_window, std::optional<double> logits_soft_cap,
                      Tensor& out);

}  // namespace pagoda::ops
