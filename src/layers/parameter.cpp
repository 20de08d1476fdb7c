#include "pagoda/layers/parameter.h"

#include <fmt/format.h>

#include "ops/cast.h"
#include "pagoda/error.h"

namespace pagoda {

void check_loaded_shape(const std::string& parameter, const Shape& expected, const Tensor& loaded,
                        std::string_view what) {
  PAGODA_CHECK(loaded.shape() == expected, InvalidArgument,
               fmt::format("checkpoint tensor for '{}'{} has shape {} but this rank's parameter needs {}", parameter,
                           what.empty() ? "" : fmt::format(" ({})", what), loaded.shape().to_string(),
                           expected.to_string()),
               "check that config.json matches the checkpoint (hidden_size, head counts, vocab_size, "
               "intermediate_size)");
}

void copy_with_cast(Tensor& dst, const Tensor& src) {
  if (dst.device() != src.device()) {
    // Checkpoint tensors are host memory: cast (and gather a strided shard) there, then move the
    // result in one contiguous transfer. A strided destination (a column slice of a device
    // parameter) takes a same-dtype cast on the device, which copies row by row.
    Tensor staged = Tensor::empty(dst.shape(), dst.dtype(), src.device());
    copy_with_cast(staged, src);
    if (dst.is_contiguous()) {
      dst.copy_from(staged);
    } else {
      ops::cast(staged.to(dst.device()), dst);
    }
    return;
  }
  if (dst.dtype() == src.dtype()) {
    dst.copy_from(src);
    return;
  }
  ops::cast(src, dst);
}

void default_weight_loader(Tensor& param, const Tensor& loaded, std::string_view shard_id, bool validate_only) {
  PAGODA_CHECK(shard_id.empty(), InvalidArgument,
               fmt::format("parameter of shape {} is not fused, but a '{}' shard was given for it",
                           param.shape().to_string(), shard_id),
               "map the checkpoint name to the fused parameter only for fused layers");
  check_loaded_shape("parameter", param.shape(), loaded);
  if (!validate_only) copy_with_cast(param, loaded);
}

Parameter& ParameterSet::add(const std::string& name, Tensor data, WeightLoader loader) {
  PAGODA_CHECK(!params_.contains(name), InvalidArgument,
               fmt::format("parameter '{}' is registered twice", name),
               "give every layer its own prefix (ModelInitContext::child)");
  auto p = std::make_unique<Parameter>(Parameter{name, std::move(data), std::move(loader)});
  Parameter& ref = *p;
  params_.emplace(name, std::move(p));
  return ref;
}

Parameter* ParameterSet::find(std::string_view name) {
  auto it = params_.find(name);
  return it == params_.end() ? nullptr : it->second.get();
}

const Parameter* ParameterSet::find(std::string_view name) const {
  auto it = params_.find(name);
  return it == params_.end() ? nullptr : it->second.get();
}

std::vector<std::string> ParameterSet::names() const {
  std::vector<std::string> out;
  out.reserve(params_.size());
  for (const auto& [name, p] : params_) out.push_back(name);
  return out;
}

}  // namespace pagoda
