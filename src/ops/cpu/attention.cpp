#include "ops/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

#include "ops/cpu/kernels/matmul_gemv.h"
#include "ops/cpu/row_io.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

// A work item is one query head over a block of up to kQueryBlock consecutive tokens of one
// sequence. Blocks bound the f32 working set and split long prompts across threads; keys are
// visited in tiles of kKeyTile with an online softmax, so memory does not grow with the sequence.
constexpr int64_t kQueryBlock = 32;
constexpr int64_t kKeyTile = 128;

// Scratch slots (per thread): queries, scores, the transposed value tile, accumulators.
constexpr int kQuerySlot = 0;
constexpr int kScoreSlot = 1;
constexpr int kValueSlot = 2;
constexpr int kAccSlot = 3;

struct QueryBlock {
  int64_t seq_begin;   // first token of the sequence
  int64_t begin, end;  // the block's tokens
};

// scores[m * n + j] = q[m] . k[j] for M query rows (f32, ld D) and n key rows of any dtype.
void dot_keys(const float* q, int64_t M, const char* k, int64_t k_stride, DType dtype, int64_t n,
              int64_t D, float* scores) {
  switch (dtype) {
    case DType::F32:
      PAGODA_CPU_DISPATCH(matmul_gemv_f32)
      (q, D, reinterpret_cast<const float*>(k), k_stride, nullptr, scores, n, M, n, D);
      return;
    case DType::BF16:
      PAGODA_CPU_DISPATCH(matmul_gemv_bf16)
      (q, D, reinterpret_cast<const uint16_t*>(k), k_stride, nullptr, scores, n, M, n, D);
      return;
    default:
      PAGODA_CPU_DISPATCH(matmul_gemv_f16)
      (q, D, reinterpret_cast<const uint16_t*>(k), k_stride, nullptr, scores, n, M, n, D);
      return;
  }
}

}  // namespace

void causal_attention(const Tensor& q, const Tensor& k, const Tensor& v,
                      std::span<const int64_t> query_start_loc, int64_t num_heads,
                      int64_t num_kv_heads, int64_t head_size, float scale,
                      std::optional<int64_t> sliding_window, std::optional<float> logits_soft_cap,
                      Tensor& out) {
  if (q.size(0) == 0) return;
  const int64_t D = head_size;
  const int64_t group = num_heads / num_kv_heads;
  std::vector<QueryBlock> blocks;
  for (size_t s = 0; s + 1 < query_start_loc.size(); ++s)
    for (int64_t b = query_start_loc[s]; b < query_start_loc[s + 1]; b += kQueryBlock)
      blocks.push_back({query_start_loc[s], b, std::min(b + kQueryBlock, query_start_loc[s + 1])});

  const DType dtype = q.dtype(), out_dtype = out.dtype();
  const int64_t item = static_cast<int64_t>(q.itemsize());
  const int64_t out_item = static_cast<int64_t>(out.itemsize());
  const int64_t qs = q.stride(0), ks = k.stride(0), vs = v.stride(0), os = out.stride(0);
  const char* qb = static_cast<const char*>(q.data());
  const char* kb = static_cast<const char*>(k.data());
  const char* vb = static_cast<const char*>(v.data());
  char* ob = static_cast<char*>(out.mutable_data());
  const int64_t window = sliding_window.value_or(0);
  const float cap = logits_soft_cap.value_or(0.0f);
  const int64_t num_items = static_cast<int64_t>(blocks.size()) * num_heads;

  parallel_for(0, num_items, 1, [&](int64_t item_begin, int64_t item_end) {
    float* qf = scratch(kQuerySlot, kQueryBlock * D);
    float* scores = scratch(kScoreSlot, kQueryBlock * kKeyTile);
    float* vt = scratch(kValueSlot, D * kKeyTile);
    float* acc = scratch(kAccSlot, 2 * kQueryBlock * D + 2 * kQueryBlock);
    float* tmp = acc + kQueryBlock * D;  // P @ V of one tile; also a row buffer for loading V
    float* row_max = tmp + kQueryBlock * D;
    float* row_sum = row_max + kQueryBlock;

    for (int64_t it = item_begin; it < item_end; ++it) {
      const QueryBlock& blk = blocks[static_cast<size_t>(it / num_heads)];
      const int64_t h = it % num_heads;
      const int64_t g = h / group;
      const int64_t M = blk.end - blk.begin;
      // The scale is folded into the queries: one multiply per query element, not per score.
      for (int64_t m = 0; m < M; ++m) {
        float* dst = qf + m * D;
        const float* src = load_f32(qb + ((blk.begin + m) * qs + h * D) * item, dtype, D, dst);
        for (int64_t d = 0; d < D; ++d) dst[d] = src[d] * scale;
        row_max[m] = -INFINITY;
        row_sum[m] = 0.0f;
      }
      std::fill(acc, acc + M * D, 0.0f);

      // Keys the block can see: from the earliest key of its first query to its last query.
      const int64_t key_begin =
          window > 0 ? std::max(blk.seq_begin, blk.begin - window + 1) : blk.seq_begin;
      for (int64_t j0 = key_begin; j0 < blk.end; j0 += kKeyTile) {
        const int64_t n = std::min(kKeyTile, blk.end - j0);
        dot_keys(qf, M, kb + (j0 * ks + g * D) * item, ks, dtype, n, D, scores);

        // Online softmax: rescale what was accumulated when a row's running max grows.
        for (int64_t m = 0; m < M; ++m) {
          const int64_t t = blk.begin + m;
          const int64_t first =
              window > 0 ? std::max(blk.seq_begin, t - window + 1) : blk.seq_begin;
          const int64_t lo = std::max(first, j0) - j0;
          const int64_t hi = std::min(t + 1, j0 + n) - j0;
          float* s = scores + m * n;
          if (lo >= hi) {  // no visible key in this tile: the row contributes nothing
            std::fill(s, s + n, 0.0f);
            continue;
          }
          if (cap > 0.0f)
            for (int64_t j = lo; j < hi; ++j) s[j] = cap * std::tanh(s[j] / cap);
          float mx = row_max[m];
          for (int64_t j = lo; j < hi; ++j) mx = std::max(mx, s[j]);
          const float correction = std::exp(row_max[m] - mx);
          row_max[m] = mx;
          float sum = 0.0f;
          std::fill(s, s + lo, 0.0f);
          for (int64_t j = lo; j < hi; ++j) {
            s[j] = std::exp(s[j] - mx);
            sum += s[j];
          }
          std::fill(s + hi, s + n, 0.0f);
          row_sum[m] = row_sum[m] * correction + sum;
          if (correction != 1.0f)
            for (int64_t d = 0; d < D; ++d) acc[m * D + d] *= correction;
        }

        // acc += P @ V, with V transposed to [D, n] so the product is the kernel's x @ w^T.
        for (int64_t j = 0; j < n; ++j) {
          const float* vr = load_f32(vb + ((j0 + j) * vs + g * D) * item, dtype, D, tmp);
          for (int64_t d = 0; d < D; ++d) vt[d * n + j] = vr[d];
        }
        PAGODA_CPU_DISPATCH(matmul_gemv_f32)(scores, n, vt, n, nullptr, tmp, D, M, D, n);
        for (int64_t i = 0; i < M * D; ++i) acc[i] += tmp[i];
      }

      for (int64_t m = 0; m < M; ++m) {
        float* a = acc + m * D;
        const float inv = 1.0f / row_sum[m];
        for (int64_t d = 0; d < D; ++d) a[d] *= inv;
        store_f32(a, ob + ((blk.begin + m) * os + h * D) * out_item, out_dtype, D);
      }
    }
  });
}

}  // namespace pagoda::ops::cpu
