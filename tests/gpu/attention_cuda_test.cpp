// CUDA paged_attention and causal_attention against the CPU op and a float64 reference, on random
// queries and caches with shuffled block tables: batches mixing decode, chunked prefill over a
// cached prefix, whole prompts and empty query ranges; GQA groups of 1 to 16 (MHA, GQA, a group
// of 3 that does not divide the tile); head sizes of the tensor-core kernels (16 to 128) and one
// above them (256, the CUDA-core kernel); sliding windows and soft caps; key splits (long decode
// contexts, and the inflated max_seq_len a CUDA graph is captured with). Block-table entries the
// op must not read hold -1, and outputs start as NaN.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/attention.h"
#include "ops/paged_attention.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

struct Seq {
  int64_t q_len, seq_len;
};

struct Case {
  std::string name;
  std::vector<Seq> seqs;
  int64_t num_heads, num_kv_heads, head_size;
  std::optional<int64_t> window;
  std::optional<double> cap;
  int64_t block_size = 16;
};

// out[row, h] in float64 from the (rounded) inputs, exactly as paged_attention.h defines it.
// key(s, j, g, d) and value(...) read the cache of sequence s.
template <class KeyFn, class ValueFn>
std::vector<double> reference(const Case& c, const Tensor& q, KeyFn key, ValueFn value,
                              double scale) {
  const int64_t D = c.head_size, H = c.num_heads, G = H / c.num_kv_heads;
  int64_t tokens = 0;
  for (const Seq& s : c.seqs) tokens += s.q_len;
  std::vector<double> out(static_cast<size_t>(tokens * H * D), 0.0);
  int64_t row = 0;
  for (size_t s = 0; s < c.seqs.size(); ++s) {
    const Seq& seq = c.seqs[s];
    for (int64_t i = 0; i < seq.q_len; ++i, ++row) {
      const int64_t pos = seq.seq_len - seq.q_len + i;
      const int64_t first = c.window ? std::max<int64_t>(0, pos - *c.window + 1) : 0;
      for (int64_t h = 0; h < H; ++h) {
        std::vector<double> scores;
        double max_score = -INFINITY;
        for (int64_t j = first; j <= pos; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += static_cast<double>(value_at(q, row * H * D + h * D + d)) *
                   key(static_cast<int64_t>(s), j, h / G, d);
          double score = scale * dot;
          if (c.cap) score = *c.cap * std::tanh(score / *c.cap);
          scores.push_back(score);
          max_score = std::max(max_score, score);
        }
        double total = 0;
        for (double& sc : scores) total += (sc = std::exp(sc - max_score));
        for (int64_t d = 0; d < D; ++d) {
          double acc = 0;
          for (int64_t j = first; j <= pos; ++j)
            acc += scores[static_cast<size_t>(j - first)] *
                   value(static_cast<int64_t>(s), j, h / G, d);
          out[static_cast<size_t>((row * H + h) * D + d)] = acc / total;
        }
      }
    }
  }
  return out;
}

void expect_close_to_reference(const Tensor& got, const std::vector<double>& want, double rel,
                               const std::string& what) {
  ASSERT_EQ(got.numel(), static_cast<int64_t>(want.size())) << what;
  double max_err = 0, max_ref = 1e-30;
  for (int64_t i = 0; i < got.numel(); ++i) {
    const double g = value_at(got, i);
    ASSERT_FALSE(std::isnan(g)) << what << ": element " << i << " was not written";
    max_err = std::max(max_err, std::fabs(g - want[static_cast<size_t>(i)]));
    max_ref = std::max(max_ref, std::fabs(want[static_cast<size_t>(i)]));
  }
  EXPECT_LE(max_err / max_ref, rel) << what << " (float64 reference)";
}

// Random caches, shuffled tables (unread entries -1), and the op on both devices.
void check_paged(const Case& c, DType dtype, uint32_t seed, bool device_metadata,
                 int64_t inflated_max_seq_len = 0) {
  const std::string what =
      c.name + " " + std::string(dtype_name(dtype)) + (device_metadata ? " (device meta)" : "");
  std::mt19937 rng(seed);
  const int64_t D = c.head_size, H = c.num_heads, KVH = c.num_kv_heads, bs = c.block_size;
  const int64_t num_seqs = static_cast<int64_t>(c.seqs.size());
  int64_t max_blocks = 1, total_blocks = 1, tokens = 0, max_q = 0, max_len = 0;
  for (const Seq& s : c.seqs) {
    const int64_t blocks = (s.seq_len + bs - 1) / bs;
    max_blocks = std::max(max_blocks, blocks);
    total_blocks += blocks;
    tokens += s.q_len;
    max_q = std::max(max_q, s.q_len);
    max_len = std::max(max_len, s.seq_len);
  }
  std::vector<int32_t> ids(static_cast<size_t>(total_blocks));
  std::iota(ids.begin(), ids.end(), 0);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<int32_t> tables(static_cast<size_t>(num_seqs * max_blocks), -1);
  size_t next = 0;
  for (int64_t s = 0; s < num_seqs; ++s) {
    const Seq& seq = c.seqs[static_cast<size_t>(s)];
    const int64_t first_pos = seq.seq_len - seq.q_len;
    const int64_t first_key = c.window ? std::max<int64_t>(0, first_pos - *c.window + 1) : 0;
    for (int64_t b = 0; b * bs < seq.seq_len; ++b) {
      const int32_t id = ids[next++];
      // Blocks wholly before every query's window are never read: leave them -1.
      if ((b + 1) * bs > first_key) tables[static_cast<size_t>(s * max_blocks + b)] = id;
    }
  }
  std::vector<int64_t> qsl{0}, seq_lens;
  for (const Seq& s : c.seqs) {
    qsl.push_back(qsl.back() + s.q_len);
    seq_lens.push_back(s.seq_len);
  }
  const Tensor q = random_cpu({tokens, H * D}, dtype, rng);
  const Tensor kc = random_cpu({total_blocks, bs, KVH, D}, dtype, rng);
  const Tensor vc = random_cpu({total_blocks, bs, KVH, D}, dtype, rng);
  const double scale = 1.0 / std::sqrt(static_cast<double>(D));

  ops::PagedAttentionMetadata meta;
  meta.query_start_loc = qsl;
  meta.seq_lens = seq_lens;
  meta.block_tables = tables;
  meta.max_blocks_per_seq = max_blocks;

  Tensor cpu_out = Tensor::empty({tokens, H * D}, dtype);
  ops::paged_attention(q, kc, vc, meta, H, scale, c.window, c.cap, cpu_out);

  const Tensor gq = to_gpu(q), gk = to_gpu(kc), gv = to_gpu(vc);
  ops::PagedAttentionDeviceMetadata dmeta;
  if (device_metadata) {
    std::vector<int32_t> qsl32(qsl.begin(), qsl.end()), lens32(seq_lens.begin(), seq_lens.end());
    dmeta.query_start_loc = to_gpu(Tensor::from_blob(qsl32.data(), {num_seqs + 1}, DType::I32));
    dmeta.seq_lens = to_gpu(Tensor::from_blob(lens32.data(), {num_seqs}, DType::I32));
    dmeta.block_tables =
        to_gpu(Tensor::from_blob(tables.data(), {num_seqs, max_blocks}, DType::I32));
    dmeta.max_query_len = max_q;
    dmeta.max_seq_len = std::max(max_len, inflated_max_seq_len);
    meta.device = &dmeta;
  }
  Tensor gout = poisoned_gpu_bytes({tokens, H * D}, dtype);
  ops::paged_attention(gq, gk, gv, meta, H, scale, c.window, c.cap, gout);
  const Tensor got = to_cpu(gout);

  const auto cache_at = [&](const Tensor& cache, int64_t s, int64_t j, int64_t g, int64_t d) {
    const int32_t block = tables[static_cast<size_t>(s * max_blocks + j / bs)];
    return static_cast<double>(value_at(cache, ((block * bs + j % bs) * KVH + g) * D + d));
  };
  const auto want = reference(
      c, q, [&](int64_t s, int64_t j, int64_t g, int64_t d) { return cache_at(kc, s, j, g, d); },
      [&](int64_t s, int64_t j, int64_t g, int64_t d) { return cache_at(vc, s, j, g, d); }, scale);
  expect_close_to_reference(got, want, tolerance(dtype), what);
  expect_close(got, cpu_out, tolerance(dtype), what + " (CPU op)");
}

const std::vector<DType> kDtypes{DType::BF16, DType::F16, DType::F32};

TEST(AttentionCuda, MixedBatchGqa) {
  REQUIRE_GPU();
  const Case c{
      "mixed gqa4 d64", {{1, 37}, {20, 100}, {130, 130}, {0, 5}, {3, 3}}, 8, 2, 64, {}, {}};
  uint32_t seed = 1;
  for (DType dtype : kDtypes)
    for (bool dev : {false, true}) check_paged(c, dtype, seed++, dev);
}

TEST(AttentionCuda, HeadSizesAndGroups) {
  REQUIRE_GPU();
  const std::vector<Case> cases{
      {"mha d16", {{40, 40}, {1, 9}, {17, 50}}, 4, 4, 16, {}, {}},
      {"gqa2 d32", {{70, 90}, {1, 1}}, 4, 2, 32, {}, {}},
      {"group3 d80", {{25, 60}, {1, 33}, {64, 64}}, 6, 2, 80, {}, {}},
      {"gqa8 d96", {{9, 200}, {1, 77}}, 16, 2, 96, {}, {}},
      {"gqa4 d128", {{100, 300}, {1, 129}, {2, 2}}, 16, 4, 128, {}, {}},
      {"mqa16 d128", {{5, 40}, {1, 65}}, 16, 1, 128, {}, {}},
      {"gqa2 d256 (CUDA cores)", {{12, 30}, {1, 20}}, 4, 2, 256, {}, {}},
  };
  uint32_t seed = 100;
  for (const Case& c : cases)
    for (DType dtype : kDtypes) check_paged(c, dtype, seed++, true);
}

TEST(AttentionCuda, SlidingWindowAndSoftCap) {
  REQUIRE_GPU();
  const std::vector<Case> cases{
      {"window 7", {{40, 90}, {1, 50}, {33, 33}}, 8, 2, 64, 7, {}},
      {"window 100 cap 30", {{200, 260}, {1, 300}}, 8, 4, 128, 100, 30.0},
      {"cap 5", {{65, 65}, {1, 10}}, 4, 4, 16, {}, 5.0},
  };
  uint32_t seed = 200;
  for (const Case& c : cases)
    for (DType dtype : kDtypes)
      for (bool dev : {false, true}) check_paged(c, dtype, seed++, dev);
}

TEST(AttentionCuda, DecodeBatchesSplitKeys) {
  REQUIRE_GPU();
  // Few rows: the kernel splits the keys and merges the partial results.
  const std::vector<Case> cases{
      {"decode 1 x 3000", {{1, 3000}}, 32, 8, 128, {}, {}},
      {"decode 5", {{1, 1}, {1, 700}, {1, 64}, {1, 65}, {1, 1500}}, 8, 2, 64, {}, {}},
      {"decode window 256", {{1, 2000}, {1, 300}}, 8, 2, 128, 256, {}},
      {"prefill 4 + long context", {{4, 2500}}, 8, 8, 64, {}, {}},
  };
  uint32_t seed = 300;
  for (const Case& c : cases)
    for (DType dtype : kDtypes) check_paged(c, dtype, seed++, true);
  // A graph's capture bound (max_seq_len far above every sequence): more splits, most empty.
  check_paged({"decode 3, bound 8192", {{1, 5}, {1, 200}, {1, 31}}, 8, 2, 128, {}, {}}, DType::BF16,
              seed++, true, 8192);
}

TEST(AttentionCuda, CausalRowsOfFusedQkv) {
  REQUIRE_GPU();
  const int64_t H = 8, KVH = 2, D = 64;
  const std::vector<int64_t> qsl{0, 70, 71, 200};
  const int64_t tokens = qsl.back(), width = (H + 2 * KVH) * D;
  uint32_t seed = 400;
  for (DType dtype : kDtypes)
    for (std::optional<int64_t> window : {std::optional<int64_t>{}, std::optional<int64_t>{20}}) {
      std::mt19937 rng(seed++);
      const Tensor qkv = random_cpu({tokens, width}, dtype, rng);
      const Tensor q = qkv.slice(1, 0, H * D), k = qkv.slice(1, H * D, (H + KVH) * D),
                   v = qkv.slice(1, (H + KVH) * D, width);
      const double scale = 0.125;
      Tensor cpu_out = Tensor::empty({tokens, H * D}, dtype);
      ops::causal_attention(q, k, v, qsl, H, KVH, D, scale, window, {}, cpu_out);
      const Tensor g = to_gpu(qkv);
      Tensor gout = poisoned_gpu_bytes({tokens, H * D}, dtype);
      ops::causal_attention(same_view_on(q, qkv, g), same_view_on(k, qkv, g),
                            same_view_on(v, qkv, g), qsl, H, KVH, D, scale, window, {}, gout);
      const std::string what =
          "causal " + std::string(dtype_name(dtype)) + (window ? " window 20" : "");
      expect_close(to_cpu(gout), cpu_out, tolerance(dtype), what);
    }
}

}  // namespace
