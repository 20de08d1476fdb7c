#include "ops/cpu/paged_attention.h"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <vector>

#include "ops/cpu/kernels/matmul_gemv.h"
#include "ops/cpu/kernels/paged_attention.h"
#include "ops/cpu/row_io.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

// A work item is one KV head of one tile of up to `tile_tokens` consecutive new tokens of one
// sequence, with all query heads of that KV head's group: its M = tokens * group query rows share
// every key and value row it loads (GQA), so the cache is streamed once per KV head and tile.
// Decode (one token) makes one item per (sequence, KV head); a long prefill splits into many
// tiles, so both a big batch of short decodes and one long prompt spread over all threads.
// Tiles aim at kQueryRows query rows; keys are visited in tiles of kKeyTile with an online
// softmax, so the working set does not grow with the context.
constexpr int64_t kQueryRows = 32;
constexpr int64_t kKeyTile = 128;

// Scratch slots (per thread, see row_io.h): scaled queries, scores, accumulators with the
// running max and sum of each row.
constexpr int kQuerySlot = 0;
constexpr int kScoreSlot = 1;
constexpr int kAccSlot = 2;

struct QueryTile {
  int64_t seq;        // index of the sequence
  int64_t row_begin;  // first row of q (and out)
  int64_t tokens;     // rows in the tile
  int64_t position;   // position of the first row in its sequence
};

// scores[m * ldo + j] = q[m] . k[j] for M query rows (f32, ld D) and n key rows of any dtype.
void dot_keys(const float* q, int64_t M, const char* k, int64_t k_stride, DType dtype, int64_t n,
              int64_t D, float* scores, int64_t ldo) {
  switch (dtype) {
    case DType::F32:
      PAGODA_CPU_DISPATCH(matmul_gemv_f32)
      (q, D, reinterpret_cast<const float*>(k), k_stride, nullptr, scores, ldo, M, n, D);
      return;
    case DType::BF16:
      PAGODA_CPU_DISPATCH(matmul_gemv_bf16)
      (q, D, reinterpret_cast<const uint16_t*>(k), k_stride, nullptr, scores, ldo, M, n, D);
      return;
    default:
      PAGODA_CPU_DISPATCH(matmul_gemv_f16)
      (q, D, reinterpret_cast<const uint16_t*>(k), k_stride, nullptr, scores, ldo, M, n, D);
      return;
  }
}

// acc[m * D + d] += sum_j p[m * ldp + j] * v[j][d] for n value rows of any dtype.
void add_weighted_values(const float* p, int64_t ldp, int64_t M, const char* v, int64_t v_stride,
                         DType dtype, int64_t n, int64_t D, float* acc) {
  switch (dtype) {
    case DType::F32:
      PAGODA_CPU_DISPATCH(attention_pv_f32)
      (p, ldp, reinterpret_cast<const float*>(v), v_stride, acc, D, M, n, D);
      return;
    case DType::BF16:
      PAGODA_CPU_DISPATCH(attention_pv_bf16)
      (p, ldp, reinterpret_cast<const uint16_t*>(v), v_stride, acc, D, M, n, D);
      return;
    default:
      PAGODA_CPU_DISPATCH(attention_pv_f16)
      (p, ldp, reinterpret_cast<const uint16_t*>(v), v_stride, acc, D, M, n, D);
      return;
  }
}

// Calls fn(offset in the range, cache row of the first position, count) for each run of
// positions [begin, end) that lies in one block: positions are contiguous within a block only.
template <typename Fn>
void for_each_block_run(int64_t begin, int64_t end, int64_t block_size, const int32_t* table,
                        Fn&& fn) {
  for (int64_t pos = begin; pos < end;) {
    const int64_t block = pos / block_size;
    const int64_t offset = pos - block * block_size;
    const int64_t count = std::min(block_size - offset, end - pos);
    fn(pos - begin, static_cast<int64_t>(table[block]) * block_size + offset, count);
    pos += count;
  }
}

}  // namespace

void reshape_and_cache(const Tensor& k, const Tensor& v, std::span<const int64_t> slot_mapping,
                       Tensor& key_cache, Tensor& value_cache) {
  const int64_t tokens = k.size(0);
  if (tokens == 0) return;
  const int64_t item = static_cast<int64_t>(k.itemsize());
  const size_t row_bytes = static_cast<size_t>(k.size(1) * item);
  const int64_t ks = k.stride(0) * item, vs = v.stride(0) * item;
  const char* kb = static_cast<const char*>(k.data());
  const char* vb = static_cast<const char*>(v.data());
  char* kc = static_cast<char*>(key_cache.mutable_data());
  char* vc = static_cast<char*>(value_cache.mutable_data());
  parallel_for(0, tokens, row_grain(k.size(1)), [&](int64_t begin, int64_t end) {
    for (int64_t t = begin; t < end; ++t) {
      const int64_t slot = slot_mapping[static_cast<size_t>(t)];
      if (slot < 0) continue;  // padding
      std::memcpy(kc + static_cast<size_t>(slot) * row_bytes, kb + t * ks, row_bytes);
      std::memcpy(vc + static_cast<size_t>(slot) * row_bytes, vb + t * vs, row_bytes);
    }
  });
}

void paged_attention(const Tensor& q, const Tensor& key_cache, const Tensor& value_cache,
                     const PagedAttentionMetadata& meta, int64_t num_heads, float scale,
                     std::optional<int64_t> sliding_window, std::optional<float> logits_soft_cap,
                     Tensor& out) {
  if (q.size(0) == 0) return;
  const int64_t block_size = key_cache.size(1);
  const int64_t num_kv_heads = key_cache.size(2);
  const int64_t D = key_cache.size(3);
  const int64_t group = num_heads / num_kv_heads;
  const int64_t tile_tokens = std::max<int64_t>(1, kQueryRows / group);
  const int64_t max_rows = tile_tokens * group;

  // Reused across calls on this thread: no allocation once it has grown to the largest batch.
  // Named through a plain reference because the workers must see this thread's list: inside the
  // lambda a thread_local name would mean the worker's own (empty) one.
  thread_local std::vector<QueryTile> tile_storage;
  std::vector<QueryTile>& tiles = tile_storage;
  tiles.clear();
  for (size_t s = 0; s + 1 < meta.query_start_loc.size(); ++s) {
    const int64_t begin = meta.query_start_loc[s], end = meta.query_start_loc[s + 1];
    const int64_t first_position = meta.seq_lens[s] - (end - begin);
    // Last tile first: causal tiles later in a sequence see more keys, and the pool hands out
    // chunks in order, so the longest work starts first and the short tiles fill in at the end.
    if (end == begin) continue;
    for (int64_t t = begin + (end - begin - 1) / tile_tokens * tile_tokens; t >= begin;
         t -= tile_tokens)
      tiles.push_back({static_cast<int64_t>(s), t, std::min(tile_tokens, end - t),
                       first_position + (t - begin)});
  }

  const DType dtype = q.dtype();
  const int64_t item = static_cast<int64_t>(q.itemsize());
  const int64_t qs = q.stride(0), os = out.stride(0);
  const int64_t cache_row = num_kv_heads * D;  // elements between consecutive slots
  const char* qb = static_cast<const char*>(q.data());
  const char* kc = static_cast<const char*>(key_cache.data());
  const char* vc = static_cast<const char*>(value_cache.data());
  char* ob = static_cast<char*>(out.mutable_data());
  const int64_t window = sliding_window.value_or(0);
  const float cap = logits_soft_cap.value_or(0.0f);
  const int64_t num_items = static_cast<int64_t>(tiles.size()) * num_kv_heads;

  parallel_for(0, num_items, 1, [&](int64_t item_begin, int64_t item_end) {
    float* qf = scratch(kQuerySlot, max_rows * D);
    float* scores = scratch(kScoreSlot, max_rows * kKeyTile);
    float* acc = scratch(kAccSlot, max_rows * D + 2 * max_rows);
    float* row_max = acc + max_rows * D;
    float* row_sum = row_max + max_rows;

    for (int64_t it = item_begin; it < item_end; ++it) {
      const QueryTile& tile = tiles[static_cast<size_t>(it / num_kv_heads)];
      const int64_t g = it % num_kv_heads;
      const int64_t M =
          tile.tokens * group;  // query row r: token r / group, head g*group + r%group
      // The scale is folded into the queries: one multiply per query element, not per score.
      for (int64_t r = 0; r < M; ++r) {
        const int64_t h = g * group + r % group;
        float* dst = qf + r * D;
        const float* src =
            load_f32(qb + ((tile.row_begin + r / group) * qs + h * D) * item, dtype, D, dst);
        for (int64_t d = 0; d < D; ++d) dst[d] = src[d] * scale;
        row_max[r] = -INFINITY;
        row_sum[r] = 0.0f;
      }
      std::fill(acc, acc + M * D, 0.0f);

      // Keys the tile can see: from the earliest key of its first query to its last query.
      const int64_t last_position = tile.position + tile.tokens - 1;
      const int64_t key_begin = window > 0 ? std::max<int64_t>(0, tile.position - window + 1) : 0;
      const int32_t* table = meta.block_tables.data() + tile.seq * meta.max_blocks_per_seq;
      const char* k_head = kc + g * D * item;
      const char* v_head = vc + g * D * item;
      for (int64_t j0 = key_begin; j0 <= last_position; j0 += kKeyTile) {
        const int64_t n = std::min(kKeyTile, last_position + 1 - j0);
        for_each_block_run(j0, j0 + n, block_size, table,
                           [&](int64_t col, int64_t slot, int64_t count) {
                             dot_keys(qf, M, k_head + slot * cache_row * item, cache_row, dtype,
                                      count, D, scores + col, n);
                           });
        for (int64_t r = 0; r < M; ++r) {
          const int64_t p = tile.position + r / group;
          const int64_t first = window > 0 ? std::max<int64_t>(0, p - window + 1) : 0;
          const int64_t lo = std::max(first, j0) - j0;
          const int64_t hi = std::min(p + 1, j0 + n) - j0;
          PAGODA_CPU_DISPATCH(attention_softmax_step)
          (scores + r * n, n, lo, hi, cap, row_max + r, row_sum + r, acc + r * D, D);
        }
        for_each_block_run(
            j0, j0 + n, block_size, table, [&](int64_t col, int64_t slot, int64_t count) {
              add_weighted_values(scores + col, n, M, v_head + slot * cache_row * item, cache_row,
                                  dtype, count, D, acc);
            });
      }

      for (int64_t r = 0; r < M; ++r) {
        const int64_t h = g * group + r % group;
        float* a = acc + r * D;
        const float inv = 1.0f / row_sum[r];
        for (int64_t d = 0; d < D; ++d) a[d] *= inv;
        store_f32(a, ob + ((tile.row_begin + r / group) * os + h * D) * item, dtype, D);
      }
    }
  });
}

}  // namespace pagoda::ops::cpu
