// The tensor-core attention kernel (FlashAttention-2 style) for bf16 and f16, over the paged
// cache or the token rows of a non-paged prefill, and the merge of split-KV partial results
// (flash-decoding). Included by one .cu file per dtype, which instantiates the launchers.
//
// Shape of the work. A block takes one KV head of one sequence and `tokens_per_tile` of its query
// tokens; its rows are (token, query head of the KV head's group) pairs, so the G query heads
// that share a KV head read each key and value tile once (GQA packed into the M dimension, as
// FlashAttention does for decode). Each warp owns 16 rows and computes S = Q K^T and O += P V with
// mma.sync m16n8k16 (f32 accumulators), keeping the online softmax (running max and sum, log2
// domain) in registers; S's accumulator layout is P's operand layout, so P never leaves registers.
// K and V tiles go to shared memory through cp.async (zero-filled past the key range) and are
// read with ldmatrix (V transposed). Rows are padded by 8 elements so that those reads are free
// of bank conflicts.
//
// Split-KV: blockIdx.z cuts the tile's key range into num_splits chunks; each split writes its
// unnormalized output, max and sum in f32, and `combine_kernel` merges them. The host asks for
// splits when the batch alone would leave most multiprocessors idle (long decode contexts).
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "ops/cuda/attention_kv.cuh"
#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"

namespace pagoda::cuda::flash {

struct Params {
  const void* q;
  void* out;
  int64_t q_stride, out_stride;  // elements between token rows
  const int32_t* query_start_loc;
  const int32_t* seq_lens;  // null: non-paged, every sequence's length is its query length
  int num_seqs, num_heads, group;
  int tokens_per_tile;  // query tokens of one sequence per block; rows = tokens * group
  float score_scale;    // scale * log2(e); with a soft cap, scale / cap
  float cap_log2;       // cap * log2(e); 0 without a soft cap
  int64_t window;       // sliding window (0: none)
  int num_splits;
  float* partial_out;    // [num_splits, tokens, num_heads, D], unnormalized (num_splits > 1)
  float* partial_stats;  // [num_splits, tokens, num_heads, 2]: max (log2 domain), sum
  int64_t tokens;        // rows of q
};

// The two block shapes: prefill (4 warps, 64 rows, 64-key tiles) and decode (1 warp, 16 rows,
// 32-key tiles, many small blocks so that enough loads are in flight when each sequence has a
// handful of rows).
template <int Warps, int BlockN>
struct Shape {
  static constexpr int kWarps = Warps, kBlockN = BlockN, kRows = 16 * Warps;
};
using PrefillShape = Shape<4, 64>;
using DecodeShape = Shape<1, 32>;

template <class T>
__device__ __forceinline__ void mma_16816(float (&c)[4], const uint32_t (&a)[4], uint32_t b0,
                                          uint32_t b1);

template <>
__device__ __forceinline__ void mma_16816<__nv_bfloat16>(float (&c)[4], const uint32_t (&a)[4],
                                                         uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

template <>
__device__ __forceinline__ void mma_16816<__half>(float (&c)[4], const uint32_t (&a)[4],
                                                  uint32_t b0, uint32_t b1) {
  asm volatile(
      "mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, "
      "{%8,%9}, {%0,%1,%2,%3};\n"
      : "+f"(c[0]), "+f"(c[1]), "+f"(c[2]), "+f"(c[3])
      : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b0), "r"(b1));
}

// Two floats as one register of two 16-bit values, the first in the low half.
template <class T>
__device__ __forceinline__ uint32_t pack2(float lo, float hi);

template <>
__device__ __forceinline__ uint32_t pack2<__nv_bfloat16>(float lo, float hi) {
  __nv_bfloat162 v = __floats2bfloat162_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

template <>
__device__ __forceinline__ uint32_t pack2<__half>(float lo, float hi) {
  __half2 v = __floats2half2_rn(lo, hi);
  return *reinterpret_cast<uint32_t*>(&v);
}

__device__ __forceinline__ uint32_t shared_address(const void* p) {
  return static_cast<uint32_t>(__cvta_generic_to_shared(p));
}

// Four 8x8 matrices of 16-bit values; thread t gives the address of row t % 8 of matrix t / 8.
__device__ __forceinline__ void ldmatrix_x4(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}

__device__ __forceinline__ void ldmatrix_x4_trans(uint32_t (&r)[4], const void* row) {
  asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];\n"
               : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
               : "r"(shared_address(row)));
}

// 16 bytes from global to shared memory without passing through registers; zeros when !valid.
__device__ __forceinline__ void copy_16_async(void* dst, const void* src, bool valid) {
  asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(shared_address(dst)),
               "l"(src), "r"(valid ? 16 : 0));
}

__device__ __forceinline__ void copy_async_wait_all() {
  asm volatile("cp.async.commit_group;\ncp.async.wait_group 0;\n" ::);
}

__device__ __forceinline__ uint32_t load_pair(const void* p) {
  return *static_cast<const uint32_t*>(p);
}

// Max and sum over the four threads that hold one row's columns.
__device__ __forceinline__ float quad_max(float v) {
  v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 1));
  return fmaxf(v, __shfl_xor_sync(0xffffffffu, v, 2));
}
__device__ __forceinline__ float quad_sum(float v) {
  v += __shfl_xor_sync(0xffffffffu, v, 1);
  return v + __shfl_xor_sync(0xffffffffu, v, 2);
}

template <class T, int D, class S, class KV>
__global__ void __launch_bounds__(32 * S::kWarps) attention_kernel(Params p, KV kv) {
  constexpr int kBlockN = S::kBlockN;
  constexpr int kStride = D + 8;  // shared row, padded (see above)
  constexpr int kChunks = D / 8;  // 16-byte pieces of a row
  __shared__ __align__(16) T k_tile[kBlockN * kStride];
  __shared__ __align__(16) T v_tile[kBlockN * kStride];

  // The sequence of this block: query tiles of sequence s are numbered from
  // query_start_loc[s] / tokens_per_tile + s, which leaves each sequence at least as many
  // numbers as it has tiles without a prefix sum over the batch.
  const int tpt = p.tokens_per_tile;
  const int64_t bx = blockIdx.x;
  int lo = 0, hi = p.num_seqs - 1;
  while (lo < hi) {
    const int mid = (lo + hi + 1) / 2;
    if (p.query_start_loc[mid] / tpt + mid <= bx)
      lo = mid;
    else
      hi = mid - 1;
  }
  const int s = lo;
  const int64_t start = p.query_start_loc[s];
  const int64_t q_len = p.query_start_loc[s + 1] - start;
  const int64_t first_token = (bx - (start / tpt + s)) * tpt;
  if (first_token < 0 || first_token >= q_len) return;
  const int tile_tokens = static_cast<int>(q_len - first_token < tpt ? q_len - first_token : tpt);
  const int rows = tile_tokens * p.group;
  const int64_t seq_len = p.seq_lens ? p.seq_lens[s] : q_len;
  const int64_t pos0 = seq_len - q_len + first_token;  // the tile's first token's position

  // Keys the tile sees, and this split's share of them (whole key tiles).
  int64_t kv_begin = p.window > 0 ? pos0 - p.window + 1 : 0;
  if (kv_begin < 0) kv_begin = 0;
  const int64_t kv_end = pos0 + tile_tokens;
  const int64_t per_split = (kv_end - kv_begin + p.num_splits - 1) / p.num_splits;
  const int64_t chunk = (per_split + kBlockN - 1) / kBlockN * kBlockN;
  const int64_t split_begin = kv_begin + blockIdx.z * chunk;
  const int64_t split_end = split_begin + chunk < kv_end ? split_begin + chunk : kv_end;

  const int kv_head = blockIdx.y;
  const int warp = threadIdx.x >> 5, lane = threadIdx.x & 31;
  const int quad_row = lane >> 2, quad_col = lane & 3;
  // This thread's two rows, and for each its token row in q/out, head and position.
  int64_t token[2], pos[2];
  int head[2];
  bool live[2];
#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const int r = warp * 16 + quad_row + 8 * h;
    live[h] = r < rows;
    token[h] = start + first_token + r / p.group;
    head[h] = kv_head * p.group + r % p.group;
    pos[h] = live[h] ? pos0 + r / p.group : -1;  // -1 masks every key
  }
  const bool warp_live = warp * 16 < rows;

  // Q as mma A operands, loaded once.
  const T* q = static_cast<const T*>(p.q);
  uint32_t qf[D / 16][4];
#pragma unroll
  for (int kc = 0; kc < D / 16; ++kc) {
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const T* row = q + token[h] * p.q_stride + int64_t{head[h]} * D + kc * 16 + quad_col * 2;
      qf[kc][h] = live[h] ? load_pair(row) : 0u;
      qf[kc][h + 2] = live[h] ? load_pair(row + 8) : 0u;
    }
  }

  float o[D / 8][4];
#pragma unroll
  for (int i = 0; i < D / 8; ++i) o[i][0] = o[i][1] = o[i][2] = o[i][3] = 0.0f;
  float m[2] = {-INFINITY, -INFINITY}, l[2] = {0.0f, 0.0f};

  for (int64_t n0 = split_begin; n0 < split_end; n0 += kBlockN) {
    __syncthreads();  // the previous tile has been read by every warp
    for (int i = threadIdx.x; i < kBlockN * kChunks; i += 32 * S::kWarps) {
      const int r = i / kChunks, c = i % kChunks;
      const int64_t j = n0 + r;
      const bool valid = j < split_end;
      const T* ksrc = valid ? kv.key(s, start, j) + int64_t{kv_head} * D + c * 8 : kv.any();
      const T* vsrc = valid ? kv.value(s, start, j) + int64_t{kv_head} * D + c * 8 : kv.any();
      copy_16_async(&k_tile[r * kStride + c * 8], ksrc, valid);
      copy_16_async(&v_tile[r * kStride + c * 8], vsrc, valid);
    }
    copy_async_wait_all();
    __syncthreads();
    if (!warp_live) continue;

    // S = Q K^T for this warp's 16 rows and the tile's keys.
    float sc[kBlockN / 8][4];
#pragma unroll
    for (int i = 0; i < kBlockN / 8; ++i) sc[i][0] = sc[i][1] = sc[i][2] = sc[i][3] = 0.0f;
#pragma unroll
    for (int kc = 0; kc < D / 16; ++kc) {
#pragma unroll
      for (int nc = 0; nc < kBlockN / 16; ++nc) {
        uint32_t b[4];
        const int key = nc * 16 + (lane & 7) + (lane >> 4) * 8;
        const int d = kc * 16 + ((lane >> 3) & 1) * 8;
        ldmatrix_x4(b, &k_tile[key * kStride + d]);
        mma_16816<T>(sc[2 * nc], qf[kc], b[0], b[1]);
        mma_16816<T>(sc[2 * nc + 1], qf[kc], b[2], b[3]);
      }
    }

    // Scale (and cap) into the log2 domain, mask, and update the online softmax.
    float tile_max[2] = {-INFINITY, -INFINITY};
#pragma unroll
    for (int nc = 0; nc < kBlockN / 8; ++nc) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        const int h = e >> 1;
        const int64_t j = n0 + nc * 8 + quad_col * 2 + (e & 1);
        float x = sc[nc][e];
        x = p.cap_log2 > 0.0f ? p.cap_log2 * tanhf(x * p.score_scale) : x * p.score_scale;
        const bool visible =
            j < split_end && j <= pos[h] && (p.window <= 0 || j > pos[h] - p.window);
        sc[nc][e] = visible ? x : -INFINITY;
        tile_max[h] = fmaxf(tile_max[h], sc[nc][e]);
      }
    }
    float base[2];
#pragma unroll
    for (int h = 0; h < 2; ++h) {
      const float m_new = fmaxf(m[h], quad_max(tile_max[h]));
      base[h] = m_new == -INFINITY ? 0.0f : m_new;  // all masked so far: keep exp2 finite
      const float correction = exp2f(m[h] - base[h]);
      l[h] *= correction;
#pragma unroll
      for (int i = 0; i < D / 8; ++i) {
        o[i][2 * h] *= correction;
        o[i][2 * h + 1] *= correction;
      }
      m[h] = m_new;
    }
#pragma unroll
    for (int nc = 0; nc < kBlockN / 8; ++nc) {
#pragma unroll
      for (int e = 0; e < 4; ++e) {
        sc[nc][e] = exp2f(sc[nc][e] - base[e >> 1]);
        l[e >> 1] += sc[nc][e];  // this thread's columns; the quad's sum is taken at the end
      }
    }

    // O += P V, P straight from S's registers.
#pragma unroll
    for (int kc = 0; kc < kBlockN / 16; ++kc) {
      const uint32_t a[4] = {pack2<T>(sc[2 * kc][0], sc[2 * kc][1]),
                             pack2<T>(sc[2 * kc][2], sc[2 * kc][3]),
                             pack2<T>(sc[2 * kc + 1][0], sc[2 * kc + 1][1]),
                             pack2<T>(sc[2 * kc + 1][2], sc[2 * kc + 1][3])};
#pragma unroll
      for (int dc = 0; dc < D / 16; ++dc) {
        uint32_t b[4];
        const int key = kc * 16 + (lane & 7) + ((lane >> 3) & 1) * 8;
        const int d = dc * 16 + (lane >> 4) * 8;
        ldmatrix_x4_trans(b, &v_tile[key * kStride + d]);
        mma_16816<T>(o[2 * dc], a, b[0], b[1]);
        mma_16816<T>(o[2 * dc + 1], a, b[2], b[3]);
      }
    }
  }

#pragma unroll
  for (int h = 0; h < 2; ++h) {
    const float sum = quad_sum(l[h]);
    if (!live[h]) continue;
    const int64_t row_head = token[h] * p.num_heads + head[h];
    if (p.num_splits == 1) {
      // Every live row sees at least its own key, so sum > 0; the guard keeps padding finite.
      const float inv = sum > 0.0f ? 1.0f / sum : 0.0f;
      T* out = static_cast<T*>(p.out) + token[h] * p.out_stride + int64_t{head[h]} * D;
#pragma unroll
      for (int i = 0; i < D / 8; ++i)
        *reinterpret_cast<uint32_t*>(out + i * 8 + quad_col * 2) =
            pack2<T>(o[i][2 * h] * inv, o[i][2 * h + 1] * inv);
    } else {
      const int64_t at = int64_t{blockIdx.z} * p.tokens * p.num_heads + row_head;
      float* out = p.partial_out + at * D;
#pragma unroll
      for (int i = 0; i < D / 8; ++i)
        *reinterpret_cast<float2*>(out + i * 8 + quad_col * 2) =
            make_float2(o[i][2 * h], o[i][2 * h + 1]);
      if (quad_col == 0)
        *reinterpret_cast<float2*>(p.partial_stats + at * 2) = make_float2(m[h], sum);
    }
  }
}

// One block per (token row, head): out = sum_k w_k O_k / sum_k w_k l_k, w_k = 2^(m_k - max m).
template <class T, int D>
__global__ void combine_kernel(Params p) {
  const int64_t t = blockIdx.x;
  const int head = blockIdx.y;
  const int64_t row_head = t * p.num_heads + head;
  const int64_t split_step = p.tokens * p.num_heads;
  float max_m = -INFINITY;
  for (int k = 0; k < p.num_splits; ++k)
    max_m = fmaxf(max_m, p.partial_stats[(k * split_step + row_head) * 2]);
  const float base = max_m == -INFINITY ? 0.0f : max_m;
  T* out = static_cast<T*>(p.out) + t * p.out_stride + int64_t{head} * D;
  for (int d = threadIdx.x; d < D; d += blockDim.x) {
    float sum = 0.0f, acc = 0.0f;
    for (int k = 0; k < p.num_splits; ++k) {
      const int64_t at = k * split_step + row_head;
      const float w = exp2f(p.partial_stats[at * 2] - base);
      sum += w * p.partial_stats[at * 2 + 1];
      acc += w * p.partial_out[at * D + d];
    }
    out[d] = from_float<T>(sum > 0.0f ? acc / sum : 0.0f);
  }
}

// Calls fn(std::integral_constant<int, D>{}) for the head sizes the kernels are built for.
template <class Fn>
void dispatch_head_size(int64_t head_size, Fn&& fn) {
  switch (head_size) {
    case 16:
      return fn(std::integral_constant<int, 16>{});
    case 32:
      return fn(std::integral_constant<int, 32>{});
    case 64:
      return fn(std::integral_constant<int, 64>{});
    case 80:
      return fn(std::integral_constant<int, 80>{});
    case 96:
      return fn(std::integral_constant<int, 96>{});
    case 128:
      return fn(std::integral_constant<int, 128>{});
    default:
      return;  // flash_attention_supports() refuses every other size
  }
}

template <class T, class KV>
void launch_attention(const Params& p, const KV& kv, int64_t head_size, bool decode_shape,
                      dim3 grid, cudaStream_t stream) {
  dispatch_head_size(head_size, [&](auto d) {
    constexpr int D = decltype(d)::value;
    if (decode_shape)
      attention_kernel<T, D, DecodeShape, KV><<<grid, 32 * DecodeShape::kWarps, 0, stream>>>(p, kv);
    else
      attention_kernel<T, D, PrefillShape, KV>
          <<<grid, 32 * PrefillShape::kWarps, 0, stream>>>(p, kv);
  });
}

template <class T>
void launch_combine(const Params& p, int64_t head_size, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>(p.tokens), static_cast<unsigned>(p.num_heads));
  const int threads = head_size >= 128 ? 128 : 32 * static_cast<int>((head_size + 31) / 32);
  dispatch_head_size(head_size, [&](auto d) {
    combine_kernel<T, decltype(d)::value><<<grid, threads, 0, stream>>>(p);
  });
}

}  // namespace pagoda::cuda::flash
