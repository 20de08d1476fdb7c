// Host side of the tensor-core attention (flash_attention.cuh): which calls it takes, the block
// shape and split count for a batch, the split-KV scratch and the merge. The kernels themselves
// are instantiated per dtype in flash_attention_bf16.cu and flash_attention_f16.cu (two files so
// that the build compiles them in parallel).
#include <algorithm>
#include <array>
#include <cmath>

#include "ops/cuda/attention_ops.h"
#include "ops/cuda/flash_attention.cuh"

namespace pagoda::cuda {
namespace flash {
#define PAGODA_FLASH_EXTERN(T)                                                                    \
  extern template void launch_attention<T, PagedKV<T>>(const Params&, const PagedKV<T>&, int64_t, \
                                                       bool, dim3, cudaStream_t);                 \
  extern template void launch_attention<T, RowKV<T>>(const Params&, const RowKV<T>&, int64_t,     \
                                                     bool, dim3, cudaStream_t);                   \
  extern template void launch_combine<T>(const Params&, int64_t, cudaStream_t);
PAGODA_FLASH_EXTERN(__nv_bfloat16)
PAGODA_FLASH_EXTERN(__half)
#undef PAGODA_FLASH_EXTERN
}  // namespace flash

namespace {

int multiprocessors(int device) {
  static std::array<int, 64> counts{};  // 0: not read yet (benign race: same value)
  const auto i = static_cast<size_t>(device);
  if (i >= counts.size()) return 132;
  if (counts[i] == 0)
    check(cudaDeviceGetAttribute(&counts[i], cudaDevAttrMultiProcessorCount, device),
          "cudaDeviceGetAttribute(multiProcessorCount)");
  return counts[i];
}

// Block shape, tiles and splits for one call.
struct Plan {
  bool decode_shape = false;
  int tokens_per_tile = 0;
  int splits = 1;
  dim3 grid;
};

Plan make_plan(int64_t tokens, int64_t num_seqs, int64_t num_kv_heads, int64_t group,
               int64_t max_query_len, int64_t max_seq_len, int device) {
  Plan plan;
  // Decode-like batches (every sequence's rows fit one warp) take the one-warp blocks.
  plan.decode_shape = max_query_len * group <= flash::DecodeShape::kRows;
  const int rows = plan.decode_shape ? flash::DecodeShape::kRows : flash::PrefillShape::kRows;
  const int block_n =
      plan.decode_shape ? flash::DecodeShape::kBlockN : flash::PrefillShape::kBlockN;
  plan.tokens_per_tile = static_cast<int>(rows / group);
  const int64_t tiles = tokens / plan.tokens_per_tile + num_seqs;
  // Blocks with work: at least one per sequence, at least the tokens' tiles.
  const int64_t busy =
      std::max(num_seqs, (tokens + plan.tokens_per_tile - 1) / plan.tokens_per_tile) * num_kv_heads;
  const int64_t target = 2 * int64_t{multiprocessors(device)};
  if (busy < target) {
    // Split the keys when the batch would leave multiprocessors idle, but keep each split at
    // two key tiles or more (below that the merge costs more than it saves).
    const int64_t by_keys = std::max<int64_t>(1, max_seq_len / (2 * block_n));
    plan.splits = static_cast<int>(std::min<int64_t>({(target + busy - 1) / busy, by_keys, 32}));
  }
  plan.grid = dim3(static_cast<unsigned>(tiles), static_cast<unsigned>(num_kv_heads),
                   static_cast<unsigned>(plan.splits));
  return plan;
}

bool aligned16(const void* p) {
  return reinterpret_cast<uintptr_t>(p) % 16 == 0;
}

flash::Params make_params(const Tensor& q, Tensor& out, const int32_t* qsl, const int32_t* seq_lens,
                          int64_t num_seqs, int64_t num_heads, int64_t group, float scale,
                          std::optional<int64_t> sliding_window, std::optional<float> soft_cap) {
  flash::Params p{};
  p.q = q.data();
  p.out = out.mutable_data();
  p.q_stride = q.stride(0);
  p.out_stride = out.stride(0);
  p.query_start_loc = qsl;
  p.seq_lens = seq_lens;
  p.num_seqs = static_cast<int>(num_seqs);
  p.num_heads = static_cast<int>(num_heads);
  p.group = static_cast<int>(group);
  constexpr float kLog2e = 1.4426950408889634f;
  if (soft_cap) {
    p.score_scale = scale / *soft_cap;
    p.cap_log2 = *soft_cap * kLog2e;
  } else {
    p.score_scale = scale * kLog2e;
    p.cap_log2 = 0.0f;
  }
  p.window = sliding_window.value_or(0);
  p.tokens = q.size(0);
  return p;
}

// Queues the kernel (and the merge when split) for KV policy `kv`.
template <class T, class KV>
void run(flash::Params p, const KV& kv, const Plan& plan, int64_t head_size, const Tensor& q) {
  cudaStream_t stream = use_device(q.device());
  p.tokens_per_tile = plan.tokens_per_tile;
  p.num_splits = plan.splits;
  Tensor partial_out, partial_stats;
  if (plan.splits > 1) {
    const int64_t rows = int64_t{plan.splits} * p.tokens * p.num_heads;
    partial_out = Tensor::empty({rows * head_size}, DType::F32, q.device());
    partial_stats = Tensor::empty({rows * 2}, DType::F32, q.device());
    p.partial_out = static_cast<float*>(partial_out.mutable_data());
    p.partial_stats = static_cast<float*>(partial_stats.mutable_data());
  }
  flash::launch_attention<T, KV>(p, kv, head_size, plan.decode_shape, plan.grid, stream);
  check_launch("flash attention");
  if (plan.splits > 1) {
    flash::launch_combine<T>(p, head_size, stream);
    check_launch("flash attention (split merge)");
  }
}

template <class Fn>
void dispatch_half(DType dtype, Fn&& fn) {
  if (dtype == DType::BF16) return fn(__nv_bfloat16{});
  return fn(__half{});
}

}  // namespace

bool flash_attention_supports(DType dtype, int64_t head_size, int64_t group) {
  const bool sized = head_size == 16 || head_size == 32 || head_size == 64 || head_size == 80 ||
                     head_size == 96 || head_size == 128;
  return (dtype == DType::BF16 || dtype == DType::F16) && sized && group >= 1 &&
         group <= flash::PrefillShape::kRows;
}

bool flash_paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                           const int32_t* query_start_loc, const int32_t* seq_lens,
                           const int32_t* block_tables, int64_t max_blocks_per_seq,
                           int64_t num_seqs, int64_t max_query_len, int64_t max_seq_len,
                           int64_t num_heads, float scale, std::optional<int64_t> sliding_window,
                           std::optional<float> soft_cap, Tensor& out) {
  const int64_t num_kv_heads = key_cache.size(2), head_size = key_cache.size(3);
  const int64_t group = num_heads / num_kv_heads;
  if (!flash_attention_supports(q.dtype(), head_size, group) || !aligned16(key_cache.data()) ||
      !aligned16(value_cache.data()))
    return false;
  const Plan plan = make_plan(q.size(0), num_seqs, num_kv_heads, group, max_query_len, max_seq_len,
                              q.device().index);
  const flash::Params p = make_params(q, out, query_start_loc, seq_lens, num_seqs, num_heads, group,
                                      scale, sliding_window, soft_cap);
  dispatch_half(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const PagedKV<T> kv{static_cast<const T*>(key_cache.data()),
                        static_cast<const T*>(value_cache.data()),
                        block_tables,
                        max_blocks_per_seq,
                        key_cache.size(1),
                        num_kv_heads * head_size};
    run<T>(p, kv, plan, head_size, q);
  });
  return true;
}

bool flash_causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                            const int32_t* query_start_loc, int64_t num_seqs, int64_t max_query_len,
                            int64_t num_heads, int64_t num_kv_heads, int64_t head_size, float scale,
                            std::optional<int64_t> sliding_window, std::optional<float> soft_cap,
                            Tensor& out) {
  const int64_t group = num_heads / num_kv_heads;
  // cp.async copies 16 bytes: every key and value row must start 16-byte aligned.
  const auto row_aligned = [](const Tensor& t) {
    return aligned16(t.data()) && (t.stride(0) * dtype_size(t.dtype())) % 16 == 0;
  };
  if (!flash_attention_supports(q.dtype(), head_size, group) || !row_aligned(k) || !row_aligned(v))
    return false;
  const Plan plan = make_plan(q.size(0), num_seqs, num_kv_heads, group, max_query_len,
                              max_query_len, q.device().index);
  const flash::Params p = make_params(q, out, query_start_loc, nullptr, num_seqs, num_heads, group,
                                      scale, sliding_window, soft_cap);
  dispatch_half(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    const RowKV<T> kv{static_cast<const T*>(k.data()), static_cast<const T*>(v.data()), k.stride(0),
                      v.stride(0)};
    run<T>(p, kv, plan, head_size, q);
  });
  return true;
}

}  // namespace pagoda::cuda
