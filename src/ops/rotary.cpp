#include "ops/rotary.h"

#include <fmt/format.h>

#include "ops/checks.h"
#include "ops/cpu/rotary.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

constexpr std::string_view kOp = "apply_rotary";

void check_heads(std::string_view name, const Tensor& t, const Tensor& positions,
                 int64_t head_size) {
  detail::check_rank(kOp, name, t, 2);
  detail::check_rows(kOp, name, t);
  PAGODA_CHECK(t.size(0) == positions.size(0), InvalidArgument,
               fmt::format("{}: argument '{}' has {} rows (shape {}) but positions has {} tokens",
                           kOp, name, t.size(0), t.shape().to_string(), positions.size(0)),
               "pass one position per token row");
  PAGODA_CHECK(t.size(1) % head_size == 0, InvalidArgument,
               fmt::format("{}: argument '{}' has {} columns (shape {}), not a multiple of "
                           "head_size {}",
                           kOp, name, t.size(1), t.shape().to_string(), head_size),
               fmt::format("pass '{}' as [tokens, num_heads * head_size]", name));
  detail::check_writable(kOp, name, t);
}

}  // namespace

void apply_rotary(const Tensor& positions, Tensor& query, Tensor& key, const Tensor& cos_sin_cache,
                  int64_t head_size, bool is_neox) {
  detail::check_defined(kOp, "positions", positions);
  detail::check_defined(kOp, "query", query);
  detail::check_defined(kOp, "cos_sin_cache", cos_sin_cache);
  detail::check_dtype(kOp, "positions", positions, {DType::I64, DType::I32});
  detail::check_rank(kOp, "positions", positions, 1);
  PAGODA_CHECK(head_size > 0, InvalidArgument,
               fmt::format("{}: head_size is {}; expected > 0", kOp, head_size),
               "pass the model's head_dim");
  detail::check_activation_dtype(kOp, "query", query);
  check_heads("query", query, positions, head_size);
  if (key.defined()) {
    detail::check_same_dtype(kOp, "key", key, "query", query);
    check_heads("key", key, positions, head_size);
  }
  detail::check_dtype(kOp, "cos_sin_cache", cos_sin_cache, {DType::F32});
  detail::check_rank(kOp, "cos_sin_cache", cos_sin_cache, 2);
  detail::check_rows(kOp, "cos_sin_cache", cos_sin_cache);
  const int64_t rotary_dim = cos_sin_cache.size(1);
  PAGODA_CHECK(rotary_dim > 0 && rotary_dim % 2 == 0 && rotary_dim <= head_size, InvalidArgument,
               fmt::format("{}: cos_sin_cache has shape {}, so rotary_dim is {}; expected an even "
                           "number in [2, head_size = {}]",
                           kOp, cos_sin_cache.shape().to_string(), rotary_dim, head_size),
               "build the cache with build_rotary_cache() from this attention layer's RopeConfig");
  const Device device = detail::common_device(
      kOp,
      {{"positions", positions}, {"query", query}, {"key", key}, {"cos_sin_cache", cos_sin_cache}});
  if (device.is_cpu())
    return cpu::apply_rotary(positions, query, key, cos_sin_cache, head_size, is_neox);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda())
    return cuda::apply_rotary(positions, query, key, cos_sin_cache, head_size, is_neox);
#endif
  detail::unsupported_device(kOp, device);
}

}  // namespace pagoda::ops
