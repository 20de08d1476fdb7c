// Helpers shared by the tensor-parallel layers (linear family, vocab embedding): argument checks
// with messages naming the layer, and the checked copy of one rank's slice of a checkpoint tensor.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "pagoda/model.h"
#include "pagoda/tensor.h"

namespace pagoda::layers_detail {

// The context can hold parameters: a ParameterSet, a tensor-parallel group, a parameter dtype of
// f32, bf16 or f16. `layer` names the layer class in the error.
void check_init_context(const ModelInitContext& ctx, std::string_view layer);

// size / tp, or Error(InvalidArgument) naming the layer, what is split, the size and tp.
int64_t divide_for_tp(int64_t size, int tp, std::string_view what, const std::string& prefix);

// A checkpoint tensor Pagoda can convert to a parameter dtype (f64, f32, bf16, f16, fp8);
// otherwise Error(InvalidArgument) naming the parameter and the dtype.
void check_loaded_dtype(const std::string& parameter, const Tensor& loaded);

// Copies src into dst (a view of the parameter), converting the dtype.
void copy_shard(Tensor dst, const Tensor& src);

// Sets every element of dst (a view of a parameter) to zero.
void fill_zero(Tensor dst);

// "" when shard_id is empty, else " shard 'q'": for error messages.
std::string shard_suffix(std::string_view shard_id);

}  // namespace pagoda::layers_detail
