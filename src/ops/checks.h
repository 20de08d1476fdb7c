// Argument checks shared by the device-agnostic op entries (src/ops/<op>.cpp).
//
// Every check throws pagoda::Error naming the op, the argument, what was expected and what was
// given, and a fix, e.g. "rms_norm: argument 'weight' has shape [4096] but x has 2048 columns
// (shape [7, 2048]); expected [2048]. Fix: pass the norm weight of this layer's hidden size".
#pragma once

#include <initializer_list>
#include <span>
#include <string>
#include <string_view>

#include "pagoda/device.h"
#include "pagoda/dtype.h"
#include "pagoda/tensor.h"

namespace pagoda::ops::detail {

// A tensor argument and the name the op's documentation gives it.
struct NamedTensor {
  std::string_view name;
  const Tensor& tensor;
};

// "f32, bf16 or f16"
std::string dtype_list(std::initializer_list<DType> dtypes);

void check_defined(std::string_view op, std::string_view name, const Tensor& t);
void check_dtype(std::string_view op, std::string_view name, const Tensor& t,
                 std::initializer_list<DType> allowed);
// f32, bf16 or f16: the dtypes activations may have.
void check_activation_dtype(std::string_view op, std::string_view name, const Tensor& t);
void check_rank(std::string_view op, std::string_view name, const Tensor& t, int rank);
void check_shape(std::string_view op, std::string_view name, const Tensor& t, const Shape& expected,
                 std::string_view why);
// A per-column vector (norm weight, bias): shape [x.size(-1)].
void check_per_column(std::string_view op, std::string_view name, const Tensor& t, const Tensor& x);
void check_same_dtype(std::string_view op, std::string_view name, const Tensor& t,
                      std::string_view other_name, const Tensor& other);
// The tensor is a set of rows: rank >= 1 and the last dimension contiguous (stride 1), so every
// row is one contiguous run. The rows themselves may lie anywhere (a slice of a wider buffer).
void check_rows(std::string_view op, std::string_view name, const Tensor& t);
void check_writable(std::string_view op, std::string_view name, const Tensor& t);

// A [tokens, heads * head_size] token-row tensor of activations (attention's q, k, v, out): every
// problem names `op`, `name` and `heads_name` ("num_heads" or "num_kv_heads").
void check_token_rows(std::string_view op, std::string_view name, const Tensor& t, int64_t tokens,
                      int64_t heads, int64_t head_size, std::string_view heads_name);
// Sequence boundaries over `tokens` rows: num_seqs + 1 offsets from 0, non-decreasing, ending at
// `tokens`.
void check_query_start_loc(std::string_view op, std::span<const int64_t> loc, int64_t tokens);

// Set by a caller that has range-checked on the host every index it passes to ops on this thread
// (the model worker: token ids against the vocabulary when requests arrive, positions against
// max_model_len in the scheduler). Device ops then skip their own range check of index tensors,
// which waits for the device on every call and is not allowed inside a CUDA graph capture.
class ScopedTrustedIndices {
 public:
  ScopedTrustedIndices();
  ~ScopedTrustedIndices();
  ScopedTrustedIndices(const ScopedTrustedIndices&) = delete;
  ScopedTrustedIndices& operator=(const ScopedTrustedIndices&) = delete;

 private:
  bool previous_;
};
bool indices_trusted();

// All tensors on one device (undefined ones are skipped); returns it.
Device common_device(std::string_view op, std::initializer_list<NamedTensor> tensors);
// Throws Error(Unsupported): no backend for this op on `device` yet.
[[noreturn]] void unsupported_device(std::string_view op, Device device);

}  // namespace pagoda::ops::detail
