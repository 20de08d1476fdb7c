// Attention over the flattened batch, registered under its prefix.
//
// Two paths. With a paged KV cache bound to the layer (the engine's model runner binds one per
// layer) and paged metadata in the ForwardContext, each step writes its new keys and values into
// the cache through the slot mapping and attends over everything each sequence has cached (prefill,
// chunked prefill over a cached prefix and decode alike). Without them (tests, `pagoda check`),
// every token of the step is new and attends causally to the earlier tokens of its own sequence.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pagoda/model.h"

namespace pagoda {

// The batch layout of one forward step, built by the model runner (or a test).
struct ForwardContext {
  // Sequence boundaries in the flattened tokens: sequence i is tokens
  // [query_start_loc[i], query_start_loc[i+1]). Size num_seqs + 1, starting at 0.
  std::vector<int64_t> query_start_loc;

  // The paged KV cache's view of the step (see ops/paged_attention.h); used when `paged`.
  bool paged = false;
  std::span<const int64_t> slot_mapping;  // one KV-cache slot per token (-1: write nothing)
  std::span<const int64_t> seq_lens;      // per sequence: cached + new tokens
  std::span<const int32_t> block_tables;  // num_seqs rows of max_blocks_per_seq block ids
  int64_t max_blocks_per_seq = 0;

  // The same metadata on the model's device for device kernels (CUDA), uploaded once per step by
  // the model worker; undefined on the CPU. The bounds size kernel launches.
  Tensor device_slot_mapping;     // i64 [T]
  Tensor device_query_start_loc;  // i32 [num_seqs + 1]
  Tensor device_seq_lens;         // i32 [num_seqs]
  Tensor device_block_tables;     // i32 [num_seqs, max_blocks_per_seq]
  int64_t max_query_len = 0;      // >= every sequence's new tokens
  int64_t max_seq_len = 0;        // >= every seq_len

  // A single sequence of `num_tokens` tokens.
  static ForwardContext single_sequence(int64_t num_tokens) {
    ForwardContext c;
    c.query_start_loc = {0, num_tokens};
    return c;
  }
};

class Attention {
 public:
  // Head counts are this rank's; num_heads must be a multiple of num_kv_heads (GQA/MQA).
  // Registers itself in ctx.attention under ctx.prefix (a duplicate prefix is an error).
  Attention(const ModelInitContext& ctx, int64_t num_heads, int64_t head_size, double scale,
            int64_t num_kv_heads, std::optional<int64_t> sliding_window = std::nullopt,
            std::optional<double> logits_soft_cap = std::nullopt);
  Attention(const Attention&) = delete;
  Attention& operator=(const Attention&) = delete;

  // q [T, heads*head_size], k and v [T, kv_heads*head_size] (rows may be strided slices of a
  // fused qkv output) -> [T, heads*head_size].
  Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v,
                 const ForwardContext& context) const;

  // The layer's KV cache: key and value [num_blocks, block_size, num_kv_heads, head_size] in the
  // layer's dtype. Paged forwards read and write it.
  void bind_kv_cache(Tensor key_cache, Tensor value_cache);
  const Tensor& key_cache() const { return key_cache_; }
  const Tensor& value_cache() const { return value_cache_; }
  std::optional<int64_t> sliding_window() const { return sliding_window_; }
  DType dtype() const { return dtype_; }

  const std::string& prefix() const { return prefix_; }
  int64_t num_heads() const { return num_heads_; }
  int64_t num_kv_heads() const { return num_kv_heads_; }
  int64_t head_size() const { return head_size_; }

 private:
  std::string prefix_;
  int64_t num_heads_, head_size_, num_kv_heads_;
  double scale_;
  std::optional<int64_t> sliding_window_;
  std::optional<double> soft_cap_;
  DType dtype_;
  Tensor key_cache_, value_cache_;
};

// Every attention layer of a model by prefix; the KV cache manager sizes its cache from it.
class AttentionRegistry {
 public:
  // Throws pagoda::Error naming the prefix when it is already registered.
  void add(const std::string& prefix, Attention* layer);
  const std::map<std::string, Attention*>& layers() const { return layers_; }

 private:
  std::map<std::string, Attention*> layers_;
};

}  // namespace pagoda
