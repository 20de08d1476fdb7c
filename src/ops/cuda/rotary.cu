// Rotary position embedding on CUDA (ops/rotary.h), in place: positions are range-checked on the
// device first (index_check.h), then one block per token rotates every (pair, head) of q and k.
// The products and the difference/sum are rounded separately (no fused multiply-add) so f32
// results match the CPU op bit for bit. Dimensions [rotary_dim, head_size) are never touched.
#include <string>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/index_check.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"
#include "pagoda/error.h"

namespace pagoda::cuda {
namespace {

struct Heads {
  void* data = nullptr;
  int64_t row_stride = 0;  // elements between tokens
  int64_t count = 0;       // heads per token
};

template <class T, class P>
__global__ void rotary_kernel(const P* positions, int64_t pos_stride, Heads q, Heads k,
                              const float* cache, int64_t cache_stride, int64_t head_size,
                              int64_t half, bool neox) {
  const int64_t t = blockIdx.x;
  const float* cos = cache + static_cast<int64_t>(positions[t * pos_stride]) * cache_stride;
  const float* sin = cos + half;
  const int64_t pairs = (q.count + k.count) * half;
  for (int64_t i = threadIdx.x; i < pairs; i += blockDim.x) {
    const int64_t head = i / half, j = i % half;
    const bool is_q = head < q.count;
    const Heads& h = is_q ? q : k;
    T* x = static_cast<T*>(h.data) + t * h.row_stride + (is_q ? head : head - q.count) * head_size;
    const int64_t a = neox ? j : 2 * j, b = neox ? j + half : 2 * j + 1;
    const float x1 = to_float(x[a]), x2 = to_float(x[b]), c = cos[j], s = sin[j];
    x[a] = from_float<T>(__fsub_rn(__fmul_rn(x1, c), __fmul_rn(x2, s)));
    x[b] = from_float<T>(__fadd_rn(__fmul_rn(x2, c), __fmul_rn(x1, s)));
  }
}

}  // namespace

void apply_rotary(const Tensor& positions, Tensor& query, Tensor& key, const Tensor& cos_sin_cache,
                  int64_t head_size, bool is_neox) {
  const int64_t tokens = positions.size(0), cache_rows = cos_sin_cache.size(0);
  const OutOfRange bad = first_out_of_range(positions, cache_rows);
  PAGODA_CHECK(bad.position < 0, InvalidArgument,
               "apply_rotary: positions[" + std::to_string(bad.position) +
                   "] = " + std::to_string(bad.value) +
                   " is outside the cos/sin cache, which covers positions [0, " +
                   std::to_string(cache_rows) + ")",
               "keep sequences within the model's max_position_embeddings (lower max_model_len), "
               "or build the cache for more positions");
  if (tokens == 0) return;
  const int64_t half = cos_sin_cache.size(1) / 2;
  const Heads q{query.mutable_data(), query.stride(0), query.size(1) / head_size};
  const Heads k =
      key.defined() ? Heads{key.mutable_data(), key.stride(0), key.size(1) / head_size} : Heads{};
  const int64_t pairs = (q.count + k.count) * half;
  if (pairs == 0) return;
  const int threads = pairs >= 256 ? 256 : 32 * static_cast<int>((pairs + 31) / 32);
  cudaStream_t stream = use_device(query.device());
  const auto launch = [&](auto t, auto* pos) {
    using T = decltype(t);
    rotary_kernel<T><<<static_cast<unsigned>(tokens), threads, 0, stream>>>(
        pos, positions.stride(0), q, k, cos_sin_cache.data_as<float>(), cos_sin_cache.stride(0),
        head_size, half, is_neox);
  };
  const auto with_positions = [&](auto t) {
    if (positions.dtype() == DType::I64)
      launch(t, positions.data_as<int64_t>());
    else
      launch(t, positions.data_as<int32_t>());
  };
  if (query.dtype() == DType::F32)
    with_positions(float{});
  else if (query.dtype() == DType::BF16)
    with_positions(__nv_bfloat16{});
  else
    with_positions(__half{});
  check_launch("apply_rotary");
}

}  // namespace pagoda::cuda
