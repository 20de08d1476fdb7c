// Attention on CUDA cores, for every layout the ops take: one block of four warps per (query
// row, query head). The warps split the row's keys, each keeping an online softmax (running max,
// sum and weighted values in f32); the block merges the four at the end. Keys and values are
// found through a policy: the paged cache through the block table, or the token rows of a
// non-paged prefill.
//
// bf16 and f16 calls of the usual head sizes go to the tensor-core kernels (flash_attention.cu);
// this one takes the rest: f32 (exact to the CPU op's arithmetic), head sizes up to 256 that the
// tensor-core kernels are not built for, and very large GQA groups. It reads each key once per
// query head.
#include <algorithm>
#include <string>
#include <vector>

#include "ops/cuda/attention_kv.cuh"
#include "ops/cuda/attention_ops.h"
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "pagoda/error.h"

namespace pagoda::cuda {
namespace {

constexpr int kWarps = 4;
constexpr int kMaxChunks = 8;  // head_size <= 32 * kMaxChunks

struct Params {
  int num_seqs, num_heads, group, head_size;
  float scale;
  int64_t window;  // 0: none
  float cap;       // 0: none
  int64_t q_stride, out_stride;
};

__device__ __forceinline__ float warp_sum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// seq_lens null: the sequence's length is its query length (non-paged prefill).
template <class T, class KV>
__global__ void __launch_bounds__(32 * kWarps)
    attention_kernel(const T* q, T* out, KV kv, const int32_t* query_start_loc,
                     const int32_t* seq_lens, Params p) {
  const int64_t row = blockIdx.x;
  const int head = blockIdx.y;
  // The sequence owning this row: the last s with query_start_loc[s] <= row.
  int lo = 0, hi = p.num_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (query_start_loc[mid] <= row)
      lo = mid;
    else
      hi = mid - 1;
  }
  const int s = lo;
  const int64_t start = query_start_loc[s];
  const int64_t q_len = query_start_loc[s + 1] - start;
  if (row >= start + q_len) return;  // past the last sequence: not a row of the batch
  const int64_t seq_len = seq_lens ? seq_lens[s] : q_len;
  const int64_t pos = seq_len - q_len + (row - start);
  const int64_t first = p.window > 0 && pos - p.window + 1 > 0 ? pos - p.window + 1 : 0;
  const int kv_head = head / p.group;
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;

  float qv[kMaxChunks], acc[kMaxChunks];
  const T* qrow = q + row * p.q_stride + int64_t{head} * p.head_size;
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) {
    const int d = lane + 32 * c;
    qv[c] = d < p.head_size ? to_float(qrow[d]) : 0.0f;
    acc[c] = 0.0f;
  }
  float m = -INFINITY, l = 0.0f;
  const int64_t head_off = int64_t{kv_head} * p.head_size;
  for (int64_t j = first + warp; j <= pos; j += kWarps) {
    const T* krow = kv.key(s, start, j) + head_off;
    float dot = 0.0f;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      const int d = lane + 32 * c;
      if (d < p.head_size) dot += qv[c] * to_float(krow[d]);
    }
    float score = warp_sum(dot) * p.scale;
    if (p.cap > 0.0f) score = p.cap * tanhf(score / p.cap);
    const float m_new = fmaxf(m, score);
    const float correction = __expf(m - m_new);
    const float weight = __expf(score - m_new);
    l = l * correction + weight;
    const T* vrow = kv.value(s, start, j) + head_off;
#pragma unroll
    for (int c = 0; c < kMaxChunks; ++c) {
      const int d = lane + 32 * c;
      if (d < p.head_size) acc[c] = acc[c] * correction + weight * to_float(vrow[d]);
    }
    m = m_new;
  }

  // Merge the warps: each rescales to the block's max.
  __shared__ float warp_m[kWarps], warp_l[kWarps];
  __shared__ float warp_acc[kWarps][32 * kMaxChunks];
  if (lane == 0) {
    warp_m[warp] = m;
    warp_l[warp] = l;
  }
#pragma unroll
  for (int c = 0; c < kMaxChunks; ++c) warp_acc[warp][lane + 32 * c] = acc[c];
  __syncthreads();
  float block_m = -INFINITY;
  for (int w = 0; w < kWarps; ++w) block_m = fmaxf(block_m, warp_m[w]);
  float total = 0.0f;
  float factor[kWarps];
  for (int w = 0; w < kWarps; ++w) {
    // A warp that saw no key has m = -inf and contributes nothing.
    factor[w] = warp_m[w] == -INFINITY ? 0.0f : __expf(warp_m[w] - block_m);
    total += warp_l[w] * factor[w];
  }
  T* orow = out + row * p.out_stride + int64_t{head} * p.head_size;
  for (int d = threadIdx.x; d < p.head_size; d += blockDim.x) {
    float o = 0.0f;
    for (int w = 0; w < kWarps; ++w) o += warp_acc[w][d] * factor[w];
    orow[d] = from_float<T>(o / total);
  }
}

template <class T>
__global__ void reshape_and_cache_kernel(const T* k, int64_t k_stride, const T* v, int64_t v_stride,
                                         const int64_t* slots, T* key_cache, T* value_cache,
                                         int64_t row) {
  const int64_t t = blockIdx.x;
  const int64_t slot = slots[t];
  if (slot < 0) return;
  for (int64_t i = threadIdx.x; i < row; i += blockDim.x) {
    key_cache[slot * row + i] = k[t * k_stride + i];
    value_cache[slot * row + i] = v[t * v_stride + i];
  }
}

template <class Fn>
void dispatch(DType dtype, Fn&& fn) {
  if (dtype == DType::F32) return fn(float{});
  if (dtype == DType::BF16) return fn(__nv_bfloat16{});
  return fn(__half{});
}

// Host values as an i32 tensor on `device` (metadata the caller did not upload itself).
Tensor upload_i32(const std::vector<int32_t>& values, Device device) {
  std::vector<int32_t> copy = values;
  return Tensor::from_blob(copy.data(), {static_cast<int64_t>(copy.size())}, DType::I32).to(device);
}

template <class T>
std::vector<int32_t> narrow(std::span<const T> values) {
  return std::vector<int32_t>(values.begin(), values.end());
}

void check_head_size(const char* op, int64_t head_size) {
  PAGODA_CHECK(head_size <= 32 * kMaxChunks, Unsupported,
               std::string(op) + ": head_size " + std::to_string(head_size) +
                   " is above the CUDA kernel's limit of " + std::to_string(32 * kMaxChunks),
               "run this model on the CPU (--device cpu)");
}

template <class KV, class T>
void launch(const Tensor& q, Tensor& out, const KV& kv, const int32_t* qsl, const int32_t* seq_lens,
            const Params& p, int64_t tokens) {
  cudaStream_t stream = use_device(q.device());
  const dim3 grid(static_cast<unsigned>(tokens), static_cast<unsigned>(p.num_heads));
  attention_kernel<T, KV><<<grid, 32 * kWarps, 0, stream>>>(
      static_cast<const T*>(q.data()), static_cast<T*>(out.mutable_data()), kv, qsl, seq_lens, p);
}

Params make_params(const Tensor& q, const Tensor& out, int64_t num_seqs, int64_t num_heads,
                   int64_t num_kv_heads, int64_t head_size, float scale,
                   std::optional<int64_t> sliding_window, std::optional<float> soft_cap) {
  Params p;
  p.num_seqs = static_cast<int>(num_seqs);
  p.num_heads = static_cast<int>(num_heads);
  p.group = static_cast<int>(num_heads / num_kv_heads);
  p.head_size = static_cast<int>(head_size);
  p.scale = scale;
  p.window = sliding_window.value_or(0);
  p.cap = soft_cap.value_or(0.0f);
  p.q_stride = q.stride(0);
  p.out_stride = out.stride(0);
  return p;
}

}  // namespace

void reshape_and_cache(const Tensor& k, const Tensor& v, std::span<const int64_t> slot_mapping,
                       const Tensor& device_slot_mapping, Tensor& key_cache, Tensor& value_cache) {
  const int64_t tokens = k.size(0);
  if (tokens == 0) return;
  Tensor slots = device_slot_mapping;
  if (!slots.defined()) {
    std::vector<int64_t> copy(slot_mapping.begin(), slot_mapping.end());
    slots = Tensor::from_blob(copy.data(), {tokens}, DType::I64).to(k.device());
  }
  const int64_t row = key_cache.size(2) * key_cache.size(3);
  cudaStream_t stream = use_device(k.device());
  const int threads = row >= 256 ? 256 : 32 * static_cast<int>((row + 31) / 32);
  dispatch(k.dtype(), [&](auto tag) {
    using T = decltype(tag);
    reshape_and_cache_kernel<T><<<static_cast<unsigned>(tokens), threads, 0, stream>>>(
        static_cast<const T*>(k.data()), k.stride(0), static_cast<const T*>(v.data()), v.stride(0),
        static_cast<const int64_t*>(slots.data()), static_cast<T*>(key_cache.mutable_data()),
        static_cast<T*>(value_cache.mutable_data()), row);
  });
  check_launch("reshape_and_cache");
}

void paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                     const ops::PagedAttentionMetadata& meta, int64_t num_heads, float scale,
                     std::optional<int64_t> sliding_window, std::optional<float> soft_cap,
                     Tensor& out) {
  const int64_t tokens = q.size(0), head_size = key_cache.size(3);
  const int64_t num_seqs = static_cast<int64_t>(meta.query_start_loc.size()) - 1;
  check_head_size("paged_attention", head_size);
  if (tokens == 0 || num_seqs <= 0) return;
  Tensor qsl, seq_lens, tables;
  if (meta.device) {
    qsl = meta.device->query_start_loc;
    seq_lens = meta.device->seq_lens;
    tables = meta.device->block_tables;
  } else {
    qsl = upload_i32(narrow(meta.query_start_loc), q.device());
    seq_lens = upload_i32(narrow(meta.seq_lens), q.device());
    tables = upload_i32(narrow(meta.block_tables), q.device());
  }
  int64_t max_query_len = 0, max_seq_len = 0;
  if (meta.device) {
    max_query_len = meta.device->max_query_len;
    max_seq_len = meta.device->max_seq_len;
  } else {
    for (int64_t s = 0; s < num_seqs; ++s) {
      const auto u = static_cast<size_t>(s);
      max_query_len =
          std::max(max_query_len, meta.query_start_loc[u + 1] - meta.query_start_loc[u]);
      max_seq_len = std::max(max_seq_len, meta.seq_lens[u]);
    }
  }
  if (flash_paged_attention(q, key_cache, value_cache, static_cast<const int32_t*>(qsl.data()),
                            static_cast<const int32_t*>(seq_lens.data()),
                            static_cast<const int32_t*>(tables.data()), meta.max_blocks_per_seq,
                            num_seqs, max_query_len, max_seq_len, num_heads, scale, sliding_window,
                            soft_cap, out))
    return;
  const Params p = make_params(q, out, num_seqs, num_heads, key_cache.size(2), head_size, scale,
                               sliding_window, soft_cap);
  dispatch(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    PagedKV<T> kv{static_cast<const T*>(key_cache.data()),
                  static_cast<const T*>(value_cache.data()),
                  static_cast<const int32_t*>(tables.data()),
                  meta.max_blocks_per_seq,
                  key_cache.size(1),
                  key_cache.size(2) * head_size};
    launch<PagedKV<T>, T>(q, out, kv, static_cast<const int32_t*>(qsl.data()),
                          static_cast<const int32_t*>(seq_lens.data()), p, tokens);
  });
  check_launch("paged_attention");
}

void causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int64_t> query_start_loc, int64_t num_heads,
                      int64_t num_kv_heads, int64_t head_size, float scale,
                      std::optional<int64_t> sliding_window, std::optional<float> soft_cap,
                      Tensor& out) {
  const int64_t tokens = q.size(0);
  const int64_t num_seqs = static_cast<int64_t>(query_start_loc.size()) - 1;
  check_head_size("causal_attention", head_size);
  if (tokens == 0 || num_seqs <= 0) return;
  const Tensor qsl = upload_i32(narrow(query_start_loc), q.device());
  int64_t max_query_len = 0;
  for (size_t s = 0; s + 1 < query_start_loc.size(); ++s)
    max_query_len = std::max(max_query_len, query_start_loc[s + 1] - query_start_loc[s]);
  if (flash_causal_attention(q, k, v, static_cast<const int32_t*>(qsl.data()), num_seqs,
                             max_query_len, num_heads, num_kv_heads, head_size, scale,
                             sliding_window, soft_cap, out))
    return;
  const Params p = make_params(q, out, num_seqs, num_heads, num_kv_heads, head_size, scale,
                               sliding_window, soft_cap);
  dispatch(q.dtype(), [&](auto tag) {
    using T = decltype(tag);
    RowKV<T> kv{static_cast<const T*>(k.data()), static_cast<const T*>(v.data()), k.stride(0),
                v.stride(0)};
    launch<RowKV<T>, T>(q, out, kv, static_cast<const int32_t*>(qsl.data()), nullptr, p, tokens);
  });
  check_launch("causal_attention");
}

}  // namespace pagoda::cuda
