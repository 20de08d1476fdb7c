#include "ops/attention.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/checks.h"
#include "ops/cpu/attention.h"
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

constexpr std::string_view kOp = "causal_attention";

// A [T, heads * head_size] token-row tensor.
void check_token_rows(std::string_view name, const Tensor& t, int64_t tokens, int64_t heads,
                      int64_t head_size, std::string_view heads_name) {
  detail::check_defined(kOp, name, t);
  detail::check_activation_dtype(kOp, name, t);
  detail::check_rank(kOp, name, t, 2);
  detail::check_rows(kOp, name, t);
  PAGODA_CHECK(t.size(0) == tokens && t.size(1) == heads * head_size, InvalidArgument,
               fmt::format("{}: argument '{}' has shape {}; expected [{}, {}] ({} tokens as q, "
                           "{} = {} * head_size {})",
                           kOp, name, t.shape().to_string(), tokens, heads * head_size, tokens,
                           heads_name, heads, head_size),
               fmt::format("pass '{}' as [tokens, {} * head_size]", name, heads_name));
}

void check_query_start_loc(std::span<const int64_t> loc, int64_t tokens) {
  PAGODA_CHECK(
      !loc.empty() && loc.front() == 0, InvalidArgument,
      fmt::format("{}: argument 'query_start_loc' {}; expected num_seqs + 1 offsets "
                  "starting at 0",
                  kOp,
                  loc.empty() ? std::string("is empty") : fmt::format("starts at {}", loc.front())),
      "pass the sequence boundaries [0, end of sequence 0, ..., num_tokens]");
  for (size_t i = 1; i < loc.size(); ++i)
    PAGODA_CHECK(loc[i] >= loc[i - 1], InvalidArgument,
                 fmt::format("{}: argument 'query_start_loc' decreases at index {} ({} after {}); "
                             "expected non-decreasing offsets",
                             kOp, i, loc[i], loc[i - 1]),
                 "pass cumulative sequence lengths");
  PAGODA_CHECK(loc.back() == tokens, InvalidArgument,
               fmt::format("{}: argument 'query_start_loc' ends at {} but q has {} tokens; "
                           "expected the last offset to equal the number of tokens",
                           kOp, loc.back(), tokens),
               "make the sequences cover exactly the rows of q");
}

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
  check_token_rows("q", q, tokens, num_heads, head_size, "num_heads");
  check_token_rows("k", k, tokens, num_kv_heads, head_size, "num_kv_heads");
  check_token_rows("v", v, tokens, num_kv_heads, head_size, "num_kv_heads");
  detail::check_same_dtype(kOp, "k", k, "q", q);
  detail::check_same_dtype(kOp, "v", v, "q", q);
  check_token_rows("out", out, tokens, num_heads, head_size, "num_heads");
  detail::check_writable(kOp, "out", out);
  check_query_start_loc(query_start_loc, tokens);
  const Device device = detail::common_device(kOp, {{"q", q}, {"k", k}, {"v", v}, {"out", out}});
  std::optional<float> cap;
  if (logits_soft_cap) cap = static_cast<float>(*logits_soft_cap);
  if (device.is_cpu())
    return cpu::causal_attention(q, k, v, query_start_loc, num_heads, num_kv_heads, head_size,
                                 static_cast<float>(scale), sliding_window, cap, out);
  detail::unsupported_device(kOp, device);
}

}  // namespace pagoda::ops
