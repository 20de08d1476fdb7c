// Attention over the flattened batch, registered under its prefix.
//
// For now every token of a step is new and attends causally to the earlier tokens of its own
// sequence (a contiguous path, enough for prefill and for re-running a sequence); the paged KV
// cache, and decode against it, arrive with the engine.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "pagoda/model.h"

namespace pagoda {

// The batch layout of one forward step, built by the model runner (or a test).
struct ForwardContext {
  // Sequence boundaries in the flattened tokens: sequence i is tokens
  // [query_start_loc[i], query_start_loc[i+1]). Size num_seqs + 1, starting at 0.
  std::vector<int64_t> query_start_loc;

  // A single sequence of `num_tokens` tokens.
  static ForwardContext single_sequence(int64_t num_tokens) { return {{0, num_tokens}}; }
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
  Tensor forward(const Tensor& q, const Tensor& k, const Tensor& v, const ForwardContext& context) const;

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
};

// Every attention layer of a model by prefix; the KV cache manager sizes its cache from it.
class AttentionRegistry {
 public:
  // Throws pagoda::Error naming the prefix when it is already registered.
  void add(const std::string& prefix, const Attention* layer);
  const std::map<std::string, const Attention*>& layers() const { return layers_; }

 private:
  std::map<std::string, const Attention*> layers_;
};

}  // namespace pagoda
