#include "layers/linear_shard.h"

#include <fmt/format.h>

#include "pagoda/error.h"
#include "pagoda/layers/parameter.h"

namespace pagoda::layers_detail {

void check_init_context(const ModelInitContext& ctx, std::string_view layer) {
  PAGODA_CHECK(
      ctx.parameters != nullptr, InvalidArgument,
      fmt::format("{} '{}' was constructed with no ParameterSet in its ModelInitContext", layer,
                  ctx.prefix),
      "set ModelInitContext::parameters to the model's ParameterSet before building layers");
  PAGODA_CHECK(
      ctx.parallel.tp_group != nullptr && ctx.parallel.tp_size >= 1 && ctx.parallel.tp_rank >= 0 &&
          ctx.parallel.tp_rank < ctx.parallel.tp_size,
      InvalidArgument,
      fmt::format("{} '{}': invalid tensor-parallel state (rank {} of {}, group {})", layer,
                  ctx.prefix, ctx.parallel.tp_rank, ctx.parallel.tp_size,
                  ctx.parallel.tp_group ? "set" : "missing"),
      "build the parallel state with ParallelState::single() or ParallelState::from(communicator)");
  PAGODA_CHECK(ctx.dtype == DType::F32 || ctx.dtype == DType::BF16 || ctx.dtype == DType::F16,
               Unsupported,
               fmt::format("{} '{}': parameters of dtype {} are not supported", layer, ctx.prefix,
                           dtype_name(ctx.dtype)),
               "use f32, bf16 or f16 as the model dtype");
}

int64_t divide_for_tp(int64_t size, int tp, std::string_view what, const std::string& prefix) {
  PAGODA_CHECK(size > 0, InvalidArgument,
               fmt::format("layer '{}': {} is {}; expected a positive size", prefix, what, size),
               "check the sizes in config.json");
  PAGODA_CHECK(size % tp == 0, InvalidArgument,
               fmt::format("layer '{}': {} ({}) is not divisible by the tensor-parallel size {}",
                           prefix, what, size, tp),
               "choose a tensor-parallel size that divides it");
  return size / tp;
}

void check_loaded_dtype(const std::string& parameter, const Tensor& loaded) {
  switch (loaded.dtype()) {
    case DType::F64:
    case DType::F32:
    case DType::BF16:
    case DType::F16:
    case DType::FP8_E4M3:
    case DType::FP8_E5M2:
      return;
    default:
      throw_error(
          ErrorCode::InvalidArgument,
          fmt::format("checkpoint tensor for '{}' has dtype {}; a floating-point tensor is needed",
                      parameter, dtype_name(loaded.dtype())),
          "check that the checkpoint name maps to the right parameter");
  }
}

void copy_shard(Tensor dst, const Tensor& src) {
  copy_with_cast(dst, src);
}

void fill_zero(Tensor dst) {
  if (dst.numel() == 0) return;
  dst.copy_from(Tensor::zeros(dst.shape(), dst.dtype(), dst.device()));
}

std::string shard_suffix(std::string_view shard_id) {
  return shard_id.empty() ? std::string() : fmt::format(" shard '{}'", shard_id);
}

}  // namespace pagoda::layers_detail
