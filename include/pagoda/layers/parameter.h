// Model parameters and their weight loaders.
//
// Each layer registers its parameters in the model's ParameterSet under full state-dict names
// ("model.layers.0.self_attn.qkv_proj.weight"), each with a loader that knows which part of a
// checkpoint tensor this tensor-parallel rank owns. Loading is then a loop: map the checkpoint
// name to a parameter name (and a shard id for fused parameters), call the loader.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "pagoda/tensor.h"

namespace pagoda {

// Fills (its part of) `param` from the checkpoint tensor `loaded`. `shard_id` names the part of a
// fused parameter the tensor is: "q", "k", "v" for QKVParallelLinear; "0", "1", ... for
// MergedColumnParallelLinear; "" for the whole parameter. Loaders check shapes and throw
// pagoda::Error naming the parameter, the expected and the found shape. When `validate_only` is
// set they check and return without copying anything (`pagoda check`).
using WeightLoader =
    std::function<void(Tensor& param, const Tensor& loaded, std::string_view shard_id, bool validate_only)>;

struct Parameter {
  std::string name;
  Tensor data;  // this rank's tensor, in the model's dtype
  WeightLoader loader;
};

// The loader of unsharded parameters: `loaded` must have param's shape; copied with a dtype cast.
void default_weight_loader(Tensor& param, const Tensor& loaded, std::string_view shard_id,
                           bool validate_only);

// Copies `src` into `dst` (same shape, any dtypes among f32/bf16/f16/f64/fp8, any strides).
void copy_with_cast(Tensor& dst, const Tensor& src);

// Throws pagoda::Error(InvalidArgument) naming `parameter` when `loaded` is not `expected` in shape.
void check_loaded_shape(const std::string& parameter, const Shape& expected, const Tensor& loaded,
                        std::string_view what = "");

class ParameterSet {
 public:
  // Registers a parameter; a second parameter of the same name is an error (two layers were given
  // one prefix). Returns the stored parameter, whose address stays valid.
  Parameter& add(const std::string& name, Tensor data, WeightLoader loader = default_weight_loader);
  Parameter* find(std::string_view name);
  const Parameter* find(std::string_view name) const;
  // Names in sorted order.
  std::vector<std::string> names() const;
  size_t size() const { return params_.size(); }

 private:
  std::map<std::string, std::unique_ptr<Parameter>, std::less<>> params_;
};

}  // namespace pagoda
