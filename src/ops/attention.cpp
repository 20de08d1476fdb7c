#include "ops/attention.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/checks.h"
#include "ops/cpu/attention.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/attention_ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

constexpr std::string_view kOp = "causal_attention";

}  // namespace

void causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int64_t> query_start_loc, int64_t num_heads,
                      int64_t num_kv_heads, int64_t head_size, double scale,
                      std::optional<int64_t> sliding_window, std::optional<double> logits_soft_cap,
                      Tensor& out) {
  PAGODA_CHECK(num_heads > 0 && num_kv_heads > 0 && head_size > 0, InvalidArgument,
               fmt::format("{}: num_heads {}, num_kv_heads {}, head_size {}; expected all > 0", kOp,
                           num_heads, num_kv_heads, head_size),
               "pass this rank's head counts and the model's head_dim");
  PAGODA_CHECK(num_heads % num_kv_heads == 0, InvalidArgument,
               fmt::format("{}: num_heads {} is not a multiple of num_kv_heads {}; expected each "
                           "key/value head to serve the same number of query heads",
                           kOp, num_heads, num_kv_heads),
               "check num_attention_heads and num_key_value_heads in config.json");
  PAGODA_CHECK(std::isfinite(scale), InvalidArgument,
               fmt::format("{}: scale is {}; expected a finite number", kOp, scale),
               "pass 1 / sqrt(head_size) or the model's query_pre_attn_scalar ** -0.5");
  PAGODA_CHECK(
      !sliding_window || *sliding_window > 0, InvalidArgument,
      fmt::format("{}: sliding_window is {}; expected > 0 tokens", kOp, sliding_window.value_or(0)),
      "pass std::nullopt for full attention, or the model's sliding_window");
  PAGODA_CHECK(!logits_soft_cap || (*logits_soft_cap > 0 && std::isfinite(*logits_soft_cap)),
               InvalidArgument,
               fmt::format("{}: logits_soft_cap is {}; expected a finite number > 0", kOp,
                           logits_soft_cap.value_or(0.0)),
               "pass std::nullopt for no cap, or the model's attn_logit_softcapping");
  detail::check_defined(kOp, "q", q);
  detail::check_rank(kOp, "q", q, 2);
  const int64_t tokens = q.size(0);
  detail::check_token_rows(kOp, "q", q, tokens, num_heads, head_size, "num_heads");
  detail::check_token_rows(kOp, "k", k, tokens, num_kv_heads, head_size, "num_kv_heads");
  detail::check_token_rows(kOp, "v", v, tokens, num_kv_heads, head_size, "num_kv_heads");
  detail::check_same_dtype(kOp, "k", k, "q", q);
  detail::check_same_dtype(kOp, "v", v, "q", q);
  detail::check_token_rows(kOp, "out", out, tokens, num_heads, head_size, "num_heads");
  detail::check_writable(kOp, "out", out);
  detail::check_query_start_loc(kOp, query_start_loc, tokens);
  const Device device = detail::common_device(kOp, {{"q", q}, {"k", k}, {"v", v}, {"out", out}});
  std::optional<float> cap;
  if (logits_soft_cap) cap = static_cast<float>(*logits_soft_cap);
  if (device.is_cpu())
    return cpu::causal_attention(q, k, v, query_start_loc, num_heads, num_kv_heads, head_size,
                                 static_cast<float>(scale), sliding_window, cap, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda())
    return cuda::causal_attention(q, k, v, query_start_loc, num_heads, num_kv_heads, head_size,
                                  static_cast<float>(scale), sliding_window, cap, out);
#endif
  detail::unsupported_device(kOp, device);
}

}  // namespace pagoda::ops
