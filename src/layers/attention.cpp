#include "pagoda/layers/attention.h"

#include <fmt/format.h>

#include "ops/attention.h"
#include "pagoda/error.h"

namespace pagoda {

Attention::Attention(const ModelInitContext& ctx, int64_t num_heads, int64_t head_size,
                     double scale, int64_t num_kv_heads, std::optional<int64_t> sliding_window,
                     std::optional<double> logits_soft_cap)
    : prefix_(ctx.prefix),
      num_heads_(num_heads),
      head_size_(head_size),
      num_kv_heads_(num_kv_heads),
      scale_(scale),
      sliding_window_(sliding_window),
      soft_cap_(logits_soft_cap),
      dtype_(ctx.dtype) {
  PAGODA_CHECK(num_heads > 0 && num_kv_heads > 0 && head_size > 0 && num_heads % num_kv_heads == 0,
               InvalidArgument,
               fmt::format("attention layer '{}': num_heads {}, num_kv_heads {}, head_size {}; "
                           "expected positive counts with num_heads a multiple of num_kv_heads",
                           prefix_, num_heads, num_kv_heads, head_size),
               "check num_attention_heads, num_key_value_heads and head_dim in config.json, and "
               "that the tensor-parallel size divides them");
  if (ctx.attention) ctx.attention->add(prefix_, this);
}

Tensor Attention::forward(const Tensor& q, const Tensor& k, const Tensor& v,
                          const ForwardContext& context) const {
  const int64_t tokens = q.defined() && q.dim() >= 1 ? q.size(0) : 0;
  Tensor out = Tensor::empty({tokens, num_heads_ * head_size_}, dtype_, q.device());
  ops::causal_attention(q, k, v, context.query_start_loc, num_heads_, num_kv_heads_, head_size_,
                        scale_, sliding_window_, soft_cap_, out);
  return out;
}

void AttentionRegistry::add(const std::string& prefix, const Attention* layer) {
  PAGODA_CHECK(!layers_.contains(prefix), InvalidArgument,
               fmt::format("attention layer '{}' is registered twice", prefix),
               "give every attention layer its own prefix (ModelInitContext::child)");
  layers_.emplace(prefix, layer);
}

}  // namespace pagoda
