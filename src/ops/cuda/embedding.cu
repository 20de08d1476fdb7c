// Token embedding lookup on CUDA (ops/embedding.h): every id is range-checked on the device first
// (index_check.h), then one block per token copies its table row, converting the dtype when out's
// differs from the table's (16-bit to 16-bit goes through f32, exact for these formats).
// Memory-bound: one read and one write of each output row.
#include <string>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/index_check.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"
#include "pagoda/error.h"

namespace pagoda::cuda {
namespace {

// Tokens on blockIdx.x (up to 2^31 - 1 of them, unlike gridDim.y's 65535); threads stride over
// the hidden dimension.
template <class I, class Tt, class To>
__global__ void embedding_kernel(const I* ids, int64_t id_stride, const Tt* table,
                                 int64_t table_stride, To* out, int64_t out_stride, int64_t h) {
  const int64_t t = blockIdx.x;
  const Tt* src = table + static_cast<int64_t>(ids[t * id_stride]) * table_stride;
  To* dst = out + t * out_stride;
  for (int64_t i = threadIdx.x; i < h; i += blockDim.x) dst[i] = from_float<To>(to_float(src[i]));
}

template <class Fn>
void dispatch_activation(DType dtype, Fn&& fn) {
  if (dtype == DType::F32) return fn(float{});
  if (dtype == DType::BF16) return fn(__nv_bfloat16{});
  return fn(__half{});
}

}  // namespace

void embedding(const Tensor& ids, const Tensor& table, Tensor& out) {
  const int64_t tokens = ids.size(0), vocab = table.size(0), h = table.size(1);
  const OutOfRange bad = first_out_of_range(ids, vocab);
  PAGODA_CHECK(bad.position < 0, InvalidArgument,
               "embedding: ids[" + std::to_string(bad.position) +
                   "] = " + std::to_string(bad.value) + " is outside the vocabulary [0, " +
                   std::to_string(vocab) + ")",
               "token ids must come from the model's own tokenizer; check that the tokenizer "
               "and the checkpoint belong together (vocab_size in config.json)");
  if (tokens == 0 || h == 0) return;
  cudaStream_t stream = use_device(out.device());
  const int threads = h >= 256 ? 256 : 32 * static_cast<int>((h + 31) / 32);
  dispatch_activation(table.dtype(), [&](auto tt) {
    dispatch_activation(out.dtype(), [&](auto to) {
      using Tt = decltype(tt);
      using To = decltype(to);
      const auto launch = [&](auto* id_ptr) {
        embedding_kernel<<<static_cast<unsigned>(tokens), threads, 0, stream>>>(
            id_ptr, ids.stride(0), static_cast<const Tt*>(table.data()), table.stride(0),
            static_cast<To*>(out.mutable_data()), out.stride(0), h);
      };
      if (ids.dtype() == DType::I64)
        launch(static_cast<const int64_t*>(ids.data()));
      else
        launch(static_cast<const int32_t*>(ids.data()));
    });
  });
  check_launch("embedding");
}

}  // namespace pagoda::cuda
