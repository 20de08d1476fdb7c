#include "ops/cpu/rotary.h"

#include <fmt/format.h>

#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/error.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

int64_t position_at(const Tensor& positions, int64_t t) {
  const int64_t s = positions.stride(0);
  return positions.dtype() == DType::I64
             ? positions.data_as<int64_t>()[t * s]
             : static_cast<int64_t>(positions.data_as<int32_t>()[t * s]);
}

// Pairs (x[i], x[i + half]): contiguous halves, which the compiler vectorises.
void rotate_neox(float* x, const float* cos, const float* sin, int64_t half) {
  float* y = x + half;
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = x[i], x2 = y[i];
    x[i] = x1 * cos[i] - x2 * sin[i];
    y[i] = x2 * cos[i] + x1 * sin[i];
  }
}

// Pairs (x[2i], x[2i + 1]).
void rotate_gptj(float* x, const float* cos, const float* sin, int64_t half) {
  for (int64_t i = 0; i < half; ++i) {
    const float x1 = x[2 * i], x2 = x[2 * i + 1];
    x[2 * i] = x1 * cos[i] - x2 * sin[i];
    x[2 * i + 1] = x2 * cos[i] + x1 * sin[i];
  }
}

struct Heads {
  char* base = nullptr;
  RowLayout layout;
  int64_t num_heads = 0;
};

}  // namespace

void apply_rotary(const Tensor& positions, Tensor& query, Tensor& key, const Tensor& cos_sin_cache,
                  int64_t head_size, bool is_neox) {
  const int64_t num_tokens = positions.size(0);
  const int64_t cache_rows = cos_sin_cache.size(0);
  // Check every position before rotating anything: a bad one must not leave q/k half-rotated.
  for (int64_t t = 0; t < num_tokens; ++t) {
    const int64_t p = position_at(positions, t);
    PAGODA_CHECK(p >= 0 && p < cache_rows, InvalidArgument,
                 fmt::format("apply_rotary: positions[{}] = {} is outside the cos/sin cache, which "
                             "covers positions [0, {})",
                             t, p, cache_rows),
                 "keep sequences within the model's max_position_embeddings (lower max_model_len), "
                 "or build the cache for more positions");
  }
  if (num_tokens == 0) return;
  const int64_t rotary_dim = cos_sin_cache.size(1);
  const int64_t half = rotary_dim / 2;
  const RowLayout cache_layout(cos_sin_cache);
  const float* cache = cos_sin_cache.data_as<float>();
  const DType dtype = query.dtype();
  const int64_t item = static_cast<int64_t>(query.itemsize());

  Heads targets[2] = {
      {static_cast<char*>(query.mutable_data()), RowLayout(query), query.size(1) / head_size},
      {nullptr, RowLayout(query), 0}};
  if (key.defined())
    targets[1] = {static_cast<char*>(key.mutable_data()), RowLayout(key), key.size(1) / head_size};

  const int64_t work_per_token = (targets[0].num_heads + targets[1].num_heads) * rotary_dim;
  parallel_for(0, num_tokens, row_grain(work_per_token, 8192), [&](int64_t begin, int64_t end) {
    float* buf = scratch(0, rotary_dim);
    for (int64_t t = begin; t < end; ++t) {
      const float* cos = cache + cache_layout.offset(position_at(positions, t));
      const float* sin = cos + half;
      for (const Heads& h : targets) {
        char* row = h.base + (h.num_heads ? h.layout.offset(t) * item : 0);
        for (int64_t head = 0; head < h.num_heads; ++head) {
          char* x = row + head * head_size * item;
          // f32 heads rotate in place; 16-bit ones through buf, storing back only rotary_dim
          // values so the pass-through dimensions are never rewritten.
          float* v = reinterpret_cast<float*>(x);
          if (dtype != DType::F32) {
            load_f32(x, dtype, rotary_dim, buf);
            v = buf;
          }
          if (is_neox)
            rotate_neox(v, cos, sin, half);
          else
            rotate_gptj(v, cos, sin, half);
          if (dtype != DType::F32) store_f32(v, x, dtype, rotary_dim);
        }
      }
    }
  });
}

}  // namespace pagoda::ops::cpu
