#include "ops/paged_attention.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <vector>

#include "ops/attention.h"
#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

// A block id no cache in these tests has: an entry holding it throws if the op ever reads it.
constexpr int32_t kInvalidBlock = 1 << 30;

struct Seq {
  int64_t seq_len, q_len;
};

struct Config {
  int64_t num_heads = 8, num_kv_heads = 2, head_size = 16, block_size = 16;
  std::optional<int64_t> window;
  std::optional<double> cap;
  std::optional<double> scale;  // 1 / sqrt(head_size) when not given
  bool strided_q = false;       // q a slice of a wider (fused qkv) buffer
  bool out_is_q = false;        // write the result over q

  double scale_value() const {
    return scale.value_or(1.0 / std::sqrt(static_cast<double>(head_size)));
  }
};

// A batch in a paged cache. Every cache element starts as NaN, so a row the op reads that no
// token wrote poisons the result. Sequences get shuffled physical blocks; block-table entries the
// op must not read (blocks before the sliding window of the sequence's first query, blocks past
// seq_len, one spare column) hold kInvalidBlock. Keys and values are written with
// reshape_and_cache from rows spaced apart in a wider buffer, with padding rows of slot -1 mixed
// in; positions before the window of the first query get slot -1 too (left NaN).
struct Batch {
  Config cfg;
  std::vector<Seq> seqs;
  std::vector<int64_t> loc, seq_lens;
  std::vector<int32_t> tables;
  int64_t max_blocks = 0;
  Tensor key_cache, value_cache;
  std::vector<std::vector<double>> k, v;  // per sequence: [seq_len, num_kv_heads * head_size]
  Tensor q_base, q;

  ops::PagedAttentionMetadata meta() const { return {loc, seq_lens, tables, max_blocks}; }
  int64_t tokens() const { return loc.back(); }
};

void fill_nan(Tensor& t) {
  std::vector<double> nan(static_cast<size_t>(t.numel()), NAN);
  from_f64(t, nan);
}

// The first position of sequence s whose key the op may read: the window start of its first query.
int64_t first_read_position(const Seq& s, const Config& cfg) {
  const int64_t first_query = s.seq_len - s.q_len;
  return cfg.window ? std::max<int64_t>(0, first_query - *cfg.window + 1) : 0;
}

Batch make_batch(const std::vector<Seq>& seqs, const Config& cfg, DType dtype, Rng& rng) {
  Batch b;
  b.cfg = cfg;
  b.seqs = seqs;
  const int64_t bs = cfg.block_size, row = cfg.num_kv_heads * cfg.head_size;
  int64_t total_blocks = 0;
  b.loc = {0};
  for (const Seq& s : seqs) {
    const int64_t blocks = (s.seq_len + bs - 1) / bs;
    total_blocks += blocks;
    b.max_blocks = std::max(b.max_blocks, blocks + 1);
    b.loc.push_back(b.loc.back() + s.q_len);
    b.seq_lens.push_back(s.seq_len);
  }
  const int64_t num_blocks = total_blocks + 3;  // a few never used
  std::vector<int32_t> ids(static_cast<size_t>(num_blocks));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  for (size_t i = ids.size(); i > 1; --i)
    std::swap(ids[i - 1], ids[static_cast<size_t>(rng.integer(0, static_cast<int64_t>(i) - 1))]);

  b.key_cache = Tensor::empty({num_blocks, bs, cfg.num_kv_heads, cfg.head_size}, dtype);
  b.value_cache = Tensor::empty({num_blocks, bs, cfg.num_kv_heads, cfg.head_size}, dtype);
  fill_nan(b.key_cache);
  fill_nan(b.value_cache);

  // Keys and values of all positions of all sequences, with a padding row after each sequence.
  int64_t rows = 0;
  for (const Seq& s : seqs) rows += s.seq_len + 1;
  // [rows, k | v | 3 spare columns]: k and v are strided slices, as from a fused qkv buffer.
  const Tensor kv = random_tensor({rows, 2 * row + 3}, dtype, rng, -2.0, 2.0);
  const Tensor k_rows = kv.slice(1, 0, row), v_rows = kv.slice(1, row, 2 * row);
  const std::vector<double> k_all = to_f64(k_rows), v_all = to_f64(v_rows);
  std::vector<int64_t> slots;
  size_t next_id = 0;
  int64_t r = 0;
  b.tables.assign(static_cast<size_t>(static_cast<int64_t>(seqs.size()) * b.max_blocks),
                  kInvalidBlock);
  for (size_t si = 0; si < seqs.size(); ++si) {
    const Seq& s = seqs[si];
    const int64_t blocks = (s.seq_len + bs - 1) / bs;
    const int64_t first_key = s.q_len > 0 ? first_read_position(s, cfg) : 0;
    const int64_t first_block = first_key / bs;
    for (int64_t blk = 0; blk < blocks; ++blk) {
      const int32_t id = ids[next_id++];
      if (blk >= first_block)
        b.tables[static_cast<size_t>(static_cast<int64_t>(si) * b.max_blocks + blk)] = id;
      // Positions before the window are not written: they stay NaN even in a block that is read.
      for (int64_t off = 0; off < bs && blk * bs + off < s.seq_len; ++off)
        slots.push_back(blk * bs + off >= first_key ? id * bs + off : -1);
    }
    slots.push_back(-1);  // padding row
    const auto first = static_cast<std::ptrdiff_t>(r * row);
    const auto last = static_cast<std::ptrdiff_t>((r + s.seq_len) * row);
    b.k.emplace_back(k_all.begin() + first, k_all.begin() + last);
    // Values in [-1, 1]: every output is a convex combination of them.
    std::vector<double> vals(v_all.begin() + first, v_all.begin() + last);
    for (double& x : vals) x /= 2.0;
    b.v.push_back(std::move(vals));
    r += s.seq_len + 1;
  }
  // Values halved exactly (a power of two), so the stored value rows equal b.v.
  Tensor v_half = Tensor::empty({rows, row}, dtype);
  std::vector<double> vh = v_all;
  for (double& x : vh) x /= 2.0;
  from_f64(v_half, vh);
  ops::reshape_and_cache(k_rows, v_half, slots, b.key_cache, b.value_cache);

  const int64_t T = b.tokens(), q_cols = cfg.num_heads * cfg.head_size;
  if (cfg.strided_q) {
    b.q_base = random_tensor({T, q_cols + 2 * row + 5}, dtype, rng, -2.0, 2.0);
    b.q = b.q_base.slice(1, 3, 3 + q_cols);
  } else {
    b.q = random_tensor({T, q_cols}, dtype, rng, -2.0, 2.0);
  }
  return b;
}

// Paged attention in float64 from the definition: per sequence, per new query, per head, a
// two-pass softmax over the keys at positions [max(0, p - window + 1), p] of that sequence.
std::vector<double> paged_reference(const Batch& b, const std::vector<double>& q) {
  const Config& c = b.cfg;
  const int64_t H = c.num_heads, KVH = c.num_kv_heads, D = c.head_size;
  const double scale = c.scale_value();
  std::vector<double> out(static_cast<size_t>(b.tokens() * H * D), 0.0);
  for (size_t s = 0; s < b.seqs.size(); ++s) {
    const int64_t L = b.seqs[s].seq_len, n = b.seqs[s].q_len;
    const std::vector<double>& K = b.k[s];
    const std::vector<double>& V = b.v[s];
    for (int64_t i = 0; i < n; ++i) {
      const int64_t row = b.loc[s] + i, p = L - n + i;
      const int64_t first = c.window ? std::max<int64_t>(0, p - *c.window + 1) : 0;
      for (int64_t h = 0; h < H; ++h) {
        const int64_t g = h / (H / KVH);
        std::vector<double> score;
        for (int64_t j = first; j <= p; ++j) {
          double dot = 0;
          for (int64_t d = 0; d < D; ++d)
            dot += q[static_cast<size_t>(row * H * D + h * D + d)] *
                   K[static_cast<size_t>(j * KVH * D + g * D + d)];
          double sc = dot * scale;
          if (c.cap) sc = *c.cap * std::tanh(sc / *c.cap);
          score.push_back(sc);
        }
        double mx = -INFINITY, sum = 0;
        for (double sc : score) mx = std::max(mx, sc);
        for (double sc : score) sum += std::exp(sc - mx);
        for (int64_t j = first; j <= p; ++j) {
          const double w = std::exp(score[static_cast<size_t>(j - first)] - mx) / sum;
          for (int64_t d = 0; d < D; ++d)
            out[static_cast<size_t>(row * H * D + h * D + d)] +=
                w * V[static_cast<size_t>(j * KVH * D + g * D + d)];
        }
      }
    }
  }
  return out;
}

// Runs the op on the batch (into a new tensor, or over q) and compares with the reference.
::testing::AssertionResult matches_reference(Batch& b) {
  const Config& c = b.cfg;
  const std::vector<double> want = paged_reference(b, to_f64(b.q));
  const std::vector<double> q_base_before = c.strided_q ? to_f64(b.q_base) : std::vector<double>{};
  Tensor out =
      c.out_is_q ? b.q : Tensor::empty({b.tokens(), c.num_heads * c.head_size}, b.q.dtype());
  ops::paged_attention(b.q, b.key_cache, b.value_cache, b.meta(), c.num_heads, c.scale_value(),
                       c.window, c.cap, out);
  auto result = all_close(out, want, tolerance(out.dtype(), 1.0, 1));
  if (!result || !c.strided_q || !c.out_is_q) return result;
  // Written over a strided q: the columns around it are untouched.
  RowStrided view{b.q_base, b.q, 3};
  return gaps_unchanged(q_base_before, view);
}

class PagedAttention : public IsaDTypeTest {};

TEST_P(PagedAttention, PrefillOnly) {
  Rng rng(201);
  Batch b = make_batch({{17, 17}, {40, 40}, {1, 1}}, Config{}, dtype(), rng);
  EXPECT_TRUE(matches_reference(b));
}

TEST_P(PagedAttention, LongPrefillSpansQueryTilesAndKeyTiles) {
  // 300 tokens: many query tiles and several key tiles, so partial sums get rescaled.
  Rng rng(202);
  Config cfg;
  cfg.num_heads = 4;
  cfg.num_kv_heads = 1;
  cfg.block_size = 32;
  Batch b = make_batch({{300, 300}}, cfg, dtype(), rng);
  EXPECT_TRUE(matches_reference(b));
}

TEST_P(PagedAttention, ChunkedPrefillOverACachedPrefix) {
  Rng rng(203);
  Batch b = make_batch({{50, 13}, {33, 33}, {70, 1}, {290, 64}}, Config{}, dtype(), rng);
  EXPECT_TRUE(matches_reference(b));
}

TEST_P(PagedAttention, DecodeBatchOfManyLengths) {
  Rng rng(204);
  std::vector<Seq> seqs;
  for (int i = 0; i < 24; ++i) seqs.push_back({rng.integer(1, 400), 1});
  seqs.push_back({1, 1});
  seqs.push_back({256, 1});  // exactly two key tiles
  for (int64_t bs : {16, 32}) {
    Config cfg;
    cfg.head_size = 32;
    cfg.block_size = bs;
    Batch b = make_batch(seqs, cfg, dtype(), rng);
    EXPECT_TRUE(matches_reference(b)) << "block_size " << bs;
  }
}

TEST_P(PagedAttention, SequencesWithoutNewTokens) {
  // q_len 0 sequences read nothing: their block tables are all invalid, and seq_len 0 is allowed.
  Rng rng(205);
  Batch b = make_batch({{10, 0}, {20, 5}, {7, 0}, {30, 1}, {0, 0}}, Config{}, dtype(), rng);
  for (size_t s : {0, 2})
    for (int64_t blk = 0; blk < b.max_blocks; ++blk)
      b.tables[s * static_cast<size_t>(b.max_blocks) + static_cast<size_t>(blk)] = kInvalidBlock;
  EXPECT_TRUE(matches_reference(b));
}

TEST_P(PagedAttention, GroupedMultiQueryAndMultiHead) {
  Rng rng(206);
  const std::vector<Seq> seqs = {{45, 45}, {60, 7}, {19, 1}};
  for (const auto& [heads, kv_heads, head_size] :
       std::vector<std::tuple<int64_t, int64_t, int64_t>>{
           {4, 1, 20}, {3, 3, 8}, {12, 2, 24}, {64, 1, 8}}) {
    Config cfg;
    cfg.num_heads = heads;
    cfg.num_kv_heads = kv_heads;
    cfg.head_size = head_size;  // 20, 24: a vector body and a tail
    Batch b = make_batch(seqs, cfg, dtype(), rng);
    EXPECT_TRUE(matches_reference(b)) << heads << " heads, " << kv_heads << " kv heads";
  }
}

TEST_P(PagedAttention, BlockSizes) {
  Rng rng(207);
  const std::vector<Seq> seqs = {{70, 70}, {95, 30}, {33, 1}, {64, 1}};
  for (int64_t bs : {1, 16, 32}) {
    Config cfg;
    cfg.block_size = bs;
    Batch b = make_batch(seqs, cfg, dtype(), rng);
    EXPECT_TRUE(matches_reference(b)) << "block_size " << bs;
  }
}

TEST_P(PagedAttention, SlidingWindowNeverReadsBlocksBeforeTheWindow) {
  Rng rng(208);
  const std::vector<Seq> seqs = {{100, 100}, {190, 1}, {77, 20}, {5, 5}};
  for (int64_t bs : {1, 16})
    for (int64_t window : {1, 4, 17, 40}) {
      Config cfg;
      cfg.block_size = bs;
      cfg.window = window;
      Batch b = make_batch(seqs, cfg, dtype(), rng);
      // The decode sequence (190 tokens) has blocks before its window marked invalid.
      ASSERT_EQ(b.tables[static_cast<size_t>(b.max_blocks)], kInvalidBlock);
      EXPECT_TRUE(matches_reference(b)) << "block_size " << bs << ", window " << window;
      // The same table without the window must read those blocks, and so fails the check.
      EXPECT_TRUE(throws_error(
          [&] {
            Tensor out = Tensor::empty(b.q.shape(), b.q.dtype());
            ops::paged_attention(b.q, b.key_cache, b.value_cache, b.meta(), cfg.num_heads, 0.25,
                                 std::nullopt, std::nullopt, out);
          },
          ErrorCode::InvalidArgument, {"'block_tables'", "block id 1073741824"}));
    }
}

TEST_P(PagedAttention, SoftCapAndCustomScale) {
  Rng rng(209);
  const std::vector<Seq> seqs = {{40, 40}, {70, 9}, {130, 1}};
  Config cfg;
  cfg.cap = 5.0;
  cfg.scale = 0.7;  // |q . k| * scale up to ~40, which the cap visibly flattens
  Batch b = make_batch(seqs, cfg, dtype(), rng);
  EXPECT_TRUE(matches_reference(b));
  cfg.window = 8;
  Batch bw = make_batch(seqs, cfg, dtype(), rng);
  EXPECT_TRUE(matches_reference(bw));
  // The cap and the scale matter for these inputs.
  Batch uncapped = b;
  uncapped.cfg.cap.reset();
  EXPECT_FALSE(all_close(paged_reference(b, to_f64(b.q)), paged_reference(uncapped, to_f64(b.q)),
                         tolerance(DType::BF16, 1.0, 1)));
  Batch rescaled = b;
  rescaled.cfg.scale = 0.5;
  EXPECT_FALSE(all_close(paged_reference(b, to_f64(b.q)), paged_reference(rescaled, to_f64(b.q)),
                         tolerance(DType::BF16, 1.0, 1)));
}

TEST_P(PagedAttention, StridedQueryRowsAndOutputOverQ) {
  Rng rng(210);
  const std::vector<Seq> seqs = {{40, 40}, {60, 12}, {25, 1}};
  for (bool strided : {false, true})
    for (bool over_q : {false, true}) {
      Config cfg;
      cfg.strided_q = strided;
      cfg.out_is_q = over_q;
      Batch b = make_batch(seqs, cfg, dtype(), rng);
      EXPECT_TRUE(matches_reference(b)) << "strided " << strided << ", out is q " << over_q;
    }
}

TEST_P(PagedAttention, EqualsCausalAttentionWhenAllTokensAreNew) {
  Rng rng(211);
  const Config cfg;
  // All tokens new: every block is read (even with a window), so the table has no invalid entry.
  Batch b = make_batch({{3, 3}, {45, 45}, {70, 70}}, cfg, dtype(), rng);
  // The same keys and values as contiguous token rows.
  const int64_t row = cfg.num_kv_heads * cfg.head_size;
  std::vector<double> k_rows, v_rows;
  for (size_t s = 0; s < b.seqs.size(); ++s) {
    k_rows.insert(k_rows.end(), b.k[s].begin(), b.k[s].end());
    v_rows.insert(v_rows.end(), b.v[s].begin(), b.v[s].end());
  }
  Tensor k = Tensor::empty({b.tokens(), row}, dtype());
  Tensor v = Tensor::empty({b.tokens(), row}, dtype());
  from_f64(k, k_rows);
  from_f64(v, v_rows);
  for (const std::optional<int64_t> window :
       {std::optional<int64_t>(), std::optional<int64_t>(20)}) {
    Tensor causal = Tensor::empty(b.q.shape(), dtype());
    Tensor paged = Tensor::empty(b.q.shape(), dtype());
    ops::causal_attention(b.q, k, v, b.loc, cfg.num_heads, cfg.num_kv_heads, cfg.head_size, 0.3,
                          window, 30.0, causal);
    ops::paged_attention(b.q, b.key_cache, b.value_cache, b.meta(), cfg.num_heads, 0.3, window,
                         30.0, paged);
    // Both round once from f32 results that differ only by reassociation.
    EXPECT_TRUE(all_close(paged, to_f64(causal), tolerance(dtype(), 1.0, 2)))
        << (window ? "window 20" : "no window");
  }
}

INSTANTIATE_TEST_SUITE_P(Isas, PagedAttention, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(ReshapeAndCache, WritesEachTokenToItsSlotAndSkipsPadding) {
  for (DType dtype : kActivationDTypes) {
    Rng rng(301);
    const int64_t row = 2 * 8;
    Tensor key_cache = random_tensor({4, 4, 2, 8}, dtype, rng);
    Tensor value_cache = random_tensor({4, 4, 2, 8}, dtype, rng);
    const std::vector<double> k_before = to_f64(key_cache), v_before = to_f64(value_cache);
    // k and v: column slices of one [5, 2 * row + 1] buffer.
    const Tensor kv = random_tensor({5, 2 * row + 1}, dtype, rng);
    const Tensor k = kv.slice(1, 0, row), v = kv.slice(1, row + 1, 2 * row + 1);
    const std::vector<int64_t> slots = {13, -1, 0, 15, 6};
    ops::reshape_and_cache(k, v, slots, key_cache, value_cache);
    const auto kr = to_f64(k), vr = to_f64(v), kc = to_f64(key_cache), vc = to_f64(value_cache);
    for (int64_t slot = 0; slot < 16; ++slot) {
      int64_t token = -1;
      for (size_t t = 0; t < slots.size(); ++t)
        if (slots[t] == slot) token = static_cast<int64_t>(t);
      for (int64_t c = 0; c < row; ++c) {
        const size_t at = static_cast<size_t>(slot * row + c);
        const double want_k = token < 0 ? k_before[at] : kr[static_cast<size_t>(token * row + c)];
        const double want_v = token < 0 ? v_before[at] : vr[static_cast<size_t>(token * row + c)];
        ASSERT_EQ(kc[at], want_k) << dtype_name(dtype) << " slot " << slot << " column " << c;
        ASSERT_EQ(vc[at], want_v) << dtype_name(dtype) << " slot " << slot << " column " << c;
      }
    }
  }
}

TEST(PagedAttentionOp, EmptyBatch) {
  Tensor cache = Tensor::zeros({2, 4, 1, 8}, DType::F32);
  Tensor q = Tensor::empty({0, 16}, DType::F32), out = Tensor::empty({0, 16}, DType::F32);
  const std::vector<int64_t> loc = {0}, none;
  EXPECT_NO_THROW(ops::paged_attention(q, cache, cache, {loc, none, {}, 0}, 2, 0.5, std::nullopt,
                                       std::nullopt, out));
  Tensor kv = Tensor::empty({0, 8}, DType::F32);
  EXPECT_NO_THROW(ops::reshape_and_cache(kv, kv, none, cache, cache));
}

// ------------------------------------------------------------------ argument errors
//
// A valid call (4 query heads, 2 KV heads of size 8, 4 blocks of 4 slots; two sequences: 5
// tokens with 1 new, 2 tokens both new) that each test breaks in one argument.
struct ValidCall {
  Tensor key_cache = Tensor::zeros({4, 4, 2, 8}, DType::F32);
  Tensor value_cache = Tensor::zeros({4, 4, 2, 8}, DType::F32);
  Tensor q = Tensor::zeros({3, 32}, DType::F32);
  Tensor out = Tensor::zeros({3, 32}, DType::F32);
  Tensor k = Tensor::zeros({3, 16}, DType::F32);
  Tensor v = Tensor::zeros({3, 16}, DType::F32);
  std::vector<int64_t> slots = {4, 2, 3};
  std::vector<int64_t> loc = {0, 1, 3};
  std::vector<int64_t> seq_lens = {5, 2};
  std::vector<int32_t> tables = {2, 1, 0, 3};
  int64_t max_blocks = 2;
  int64_t num_heads = 4;
  double scale = 0.25;
  std::optional<int64_t> window;
  std::optional<double> cap;

  void attend() {
    ops::paged_attention(q, key_cache, value_cache, {loc, seq_lens, tables, max_blocks}, num_heads,
                         scale, window, cap, out);
  }
  void cache() { ops::reshape_and_cache(k, v, slots, key_cache, value_cache); }
};

template <typename Mutate>
::testing::AssertionResult attend_fails(Mutate mutate,
                                        std::initializer_list<std::string_view> fragments) {
  ValidCall c;
  mutate(c);
  return throws_error([&] { c.attend(); }, ErrorCode::InvalidArgument, fragments);
}

template <typename Mutate>
::testing::AssertionResult cache_fails(Mutate mutate,
                                       std::initializer_list<std::string_view> fragments) {
  ValidCall c;
  mutate(c);
  return throws_error([&] { c.cache(); }, ErrorCode::InvalidArgument, fragments);
}

TEST(PagedAttentionErrors, TheValidCallsSucceed) {
  ValidCall c;
  EXPECT_NO_THROW(c.cache());
  EXPECT_NO_THROW(c.attend());
}

TEST(PagedAttentionErrors, NumHeads) {
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.num_heads = 0; }, {"num_heads is 0"}));
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.num_heads = 3; },
                           {"num_heads 3 is not a multiple of num_kv_heads 2"}));
}

TEST(PagedAttentionErrors, Scale) {
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.scale = NAN; }, {"scale is nan"}));
}

TEST(PagedAttentionErrors, SlidingWindow) {
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.window = 0; }, {"sliding_window is 0"}));
}

TEST(PagedAttentionErrors, LogitsSoftCap) {
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.cap = -1.0; }, {"logits_soft_cap is -1"}));
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.cap = INFINITY; }, {"logits_soft_cap is inf"}));
}

TEST(PagedAttentionErrors, KeyCache) {
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.key_cache = Tensor::zeros({16, 2, 8}, DType::F32);
      },
      {"'key_cache' has shape [16, 2, 8] (rank 3)"}));
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.key_cache = Tensor(); },
                           {"'key_cache' is an undefined tensor"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.key_cache = Tensor::zeros({4, 4, 2, 8}, DType::I32);
      },
      {"'key_cache' has dtype i32"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.key_cache = Tensor::zeros({4, 0, 2, 8}, DType::F32);
      },
      {"'key_cache' has shape [4, 0, 2, 8]", "block_size"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.key_cache = Tensor::zeros({4, 4, 8, 2}, DType::F32).permute({0, 1, 3, 2});
      },
      {"'key_cache'", "not contiguous"}));
}

TEST(PagedAttentionErrors, ValueCache) {
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.value_cache = Tensor::zeros({4, 4, 2, 4}, DType::F32);
      },
      {"'value_cache' has shape [4, 4, 2, 4]", "expected [4, 4, 2, 8]"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.value_cache = Tensor::zeros({4, 4, 2, 8}, DType::BF16);
      },
      {"'value_cache' has dtype bf16 but 'key_cache' has f32"}));
}

TEST(PagedAttentionErrors, Q) {
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.q = Tensor::zeros({3, 16}, DType::F32);
      },
      {"'q' has shape [3, 16]", "expected [3, 32]"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.q = Tensor::zeros({3, 32}, DType::BF16);
      },
      {"'q' has dtype bf16 but 'key_cache' has f32"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.q = Tensor::zeros({32, 3}, DType::F32).transpose(0, 1);
      },
      {"'q'", "stride"}));
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.q = Tensor::zeros({96}, DType::F32); },
                           {"'q' has shape [96] (rank 1)"}));
}

TEST(PagedAttentionErrors, Out) {
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.out = Tensor::zeros({2, 32}, DType::F32);
      },
      {"'out' has shape [2, 32]", "expected [3, 32]"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.out = Tensor::zeros({3, 32}, DType::F16);
      },
      {"'out' has dtype f16 but 'q' has f32"}));
  static std::vector<float> ro(3 * 32);
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.out = Tensor::from_blob_read_only(ro.data(), {3, 32}, DType::F32);
      },
      {"'out' is read-only"}));
}

TEST(PagedAttentionErrors, QueryStartLoc) {
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.loc = {}; }, {"'query_start_loc' is empty"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.loc = {1, 3};
      },
      {"'query_start_loc' starts at 1"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.loc = {0, 2, 1, 3};
      },
      {"'query_start_loc' decreases at index 2"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.loc = {0, 1, 2};
      },
      {"'query_start_loc' ends at 2 but q has 3 tokens"}));
}

TEST(PagedAttentionErrors, SeqLens) {
  EXPECT_TRUE(attend_fails([](ValidCall& c) { c.seq_lens = {5}; },
                           {"'seq_lens' has 1 entries", "2 sequences"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.seq_lens = {5, 1};
      },
      {"'seq_lens' entry 1 is 1 but sequence 1 has 2 new query tokens"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.seq_lens = {9, 2};
      },
      {"'seq_lens' entry 0 is 9", "max_blocks_per_seq 2 * block_size 4"}));
}

TEST(PagedAttentionErrors, MaxBlocksPerSeq) {
  EXPECT_TRUE(
      attend_fails([](ValidCall& c) { c.max_blocks = -1; }, {"'max_blocks_per_seq' is -1"}));
}

TEST(PagedAttentionErrors, BlockTables) {
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.tables = {2, 1, 0};
      },
      {"'block_tables' has 3 entries", "num_seqs 2 * max_blocks_per_seq 2"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.tables = {2, 4, 0, 3};
      },
      {"'block_tables' maps block 1 of sequence 0 to block id 4", "[0, 4)"}));
  EXPECT_TRUE(attend_fails(
      [](ValidCall& c) {
        c.tables = {2, 1, -1, 3};
      },
      {"'block_tables' maps block 0 of sequence 1 to block id -1"}));
  // Entries past seq_len (sequence 1 has 2 tokens: block 1 unused) are never checked or read.
  ValidCall c;
  c.tables = {2, 1, 0, -7};
  EXPECT_NO_THROW(c.attend());
}

TEST(ReshapeAndCacheErrors, Caches) {
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.value_cache = Tensor::zeros({4, 4, 2}, DType::F32);
      },
      {"reshape_and_cache", "'value_cache' has shape [4, 4, 2] (rank 3)"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.value_cache = Tensor::zeros({2, 4, 2, 8}, DType::F32);
      },
      {"'value_cache' has shape [2, 4, 2, 8]"}));
  static std::vector<float> ro(4 * 4 * 2 * 8);
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.key_cache = Tensor::from_blob_read_only(ro.data(), {4, 4, 2, 8}, DType::F32);
      },
      {"'key_cache' is read-only"}));
}

TEST(ReshapeAndCacheErrors, KeysAndValues) {
  EXPECT_TRUE(cache_fails([](ValidCall& c) { c.k = Tensor(); }, {"'k' is an undefined tensor"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.k = Tensor::zeros({3, 32}, DType::F32);
      },
      {"'k' has shape [3, 32]", "expected [3, 16]"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.v = Tensor::zeros({2, 16}, DType::F32);
      },
      {"'v' has shape [2, 16]", "expected [3, 16]"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.k = Tensor::zeros({3, 16}, DType::BF16);
      },
      {"'k' has dtype bf16 but 'key_cache' has f32"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.v = Tensor::zeros({3, 16}, DType::F16);
      },
      {"'v' has dtype f16 but 'value_cache' has f32"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.v = Tensor::zeros({16, 3}, DType::F32).transpose(0, 1);
      },
      {"'v'", "stride"}));
}

TEST(ReshapeAndCacheErrors, SlotMapping) {
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.slots = {1, 2};
      },
      {"'slot_mapping' has 2 entries but k has 3 tokens"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.slots = {1, 16, 2};
      },
      {"'slot_mapping' entry 1 is 16", "[0, 16)"}));
  EXPECT_TRUE(cache_fails(
      [](ValidCall& c) {
        c.slots = {1, 2, -2};
      },
      {"'slot_mapping' entry 2 is -2"}));
  // Nothing was written before the error.
  ValidCall c;
  c.k = Tensor::empty({3, 16}, DType::F32);
  from_f64(c.k, std::vector<double>(48, 1.0));
  c.slots = {1, 2, 99};
  EXPECT_ANY_THROW(c.cache());
  for (double x : to_f64(c.key_cache)) ASSERT_EQ(x, 0.0);
}

}  // namespace
