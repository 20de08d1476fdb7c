// KVCacheManager: allocation, prefix caching (vLLM v1 semantics), sliding windows, and a randomized
// scheduler simulation that checks reference counts and simulated KV contents after every step.
#include "engine/kv_cache_manager.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "pagoda/error.h"

namespace pagoda {
namespace {

std::vector<int32_t> token_range(int32_t first, int32_t count) {
  std::vector<int32_t> tokens(static_cast<size_t>(count));
  std::iota(tokens.begin(), tokens.end(), first);
  return tokens;
}

std::vector<int32_t> concat(std::vector<int32_t> a, const std::vector<int32_t>& b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

std::vector<int32_t> row(const KVCacheManager& m, std::string_view id) {
  const std::span<const int32_t> ids = m.block_ids(id);
  return {ids.begin(), ids.end()};
}

int64_t ref_count_sum(const KVCacheManager& m) {
  int64_t sum = 0;
  for (int32_t id = 0; id < m.num_blocks(); ++id) sum += m.pool().block(id).ref_count;
  return sum;
}

// Schedules a new request's whole prompt in one step: lookup, then allocation with the hit.
PrefixCacheHit admit(KVCacheManager& m, const KVRequest& request) {
  PrefixCacheHit hit = m.find_cached_prefix(request);
  const int64_t new_tokens = static_cast<int64_t>(request.token_ids.size()) - hit.num_tokens;
  EXPECT_TRUE(m.allocate_slots(request, new_tokens, hit)) << request.request_id;
  return hit;
}

TEST(KVCacheManager, AllocationAndFreeAccounting) {
  KVCacheManager m({.num_blocks = 11, .block_size = 4, .enable_prefix_caching = false});
  EXPECT_EQ(m.num_blocks(), 11);
  EXPECT_EQ(m.block_size(), 4);
  EXPECT_EQ(m.num_free_blocks(), 10);
  EXPECT_EQ(m.blocks_for_tokens(0), 0);
  EXPECT_EQ(m.blocks_for_tokens(1), 1);
  EXPECT_EQ(m.blocks_for_tokens(4), 1);
  EXPECT_EQ(m.blocks_for_tokens(5), 2);
  EXPECT_THROW(m.blocks_for_tokens(-1), Error);

  std::vector<int32_t> tokens = token_range(0, 10);
  ASSERT_TRUE(m.allocate_slots({.request_id = "a", .token_ids = tokens}, 10));
  EXPECT_EQ(row(m, "a").size(), 3u);
  EXPECT_EQ(m.num_free_blocks(), 7);
  EXPECT_DOUBLE_EQ(m.usage(), 0.3);
  // Decode-like growth: 12 tokens still fit 3 blocks, the 13th needs a 4th.
  tokens = token_range(0, 12);
  ASSERT_TRUE(
      m.allocate_slots({.request_id = "a", .token_ids = tokens, .num_computed_tokens = 10}, 2));
  EXPECT_EQ(row(m, "a").size(), 3u);
  tokens = token_range(0, 13);
  ASSERT_TRUE(
      m.allocate_slots({.request_id = "a", .token_ids = tokens, .num_computed_tokens = 12}, 1));
  EXPECT_EQ(row(m, "a").size(), 4u);
  EXPECT_EQ(m.num_free_blocks(), 6);
  EXPECT_EQ(ref_count_sum(m), 4);
  EXPECT_EQ(m.num_requests(), 1);

  m.free("a");
  EXPECT_EQ(m.num_free_blocks(), 10);
  EXPECT_EQ(ref_count_sum(m), 0);
  EXPECT_TRUE(m.block_ids("a").empty());
  EXPECT_EQ(m.num_requests(), 0);
  m.free("a");       // already gone: no-op
  m.free("nobody");  // never known: no-op
  EXPECT_EQ(m.num_free_blocks(), 10);
}

TEST(KVCacheManager, EvictsLeastRecentlyFreedAndRequestTailsFirst) {
  KVCacheManager m({.num_blocks = 5, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 9);  // 2 full (cached) blocks + 1 token
  admit(m, {.request_id = "a", .token_ids = a});
  EXPECT_EQ(row(m, "a"), (std::vector<int32_t>{1, 2, 3}));
  m.free("a");  // the free queue is now 4, 3, 2, 1: a's tail before its head

  const std::vector<int32_t> b = token_range(100, 8);
  admit(m, {.request_id = "b", .token_ids = b});
  EXPECT_EQ(row(m, "b"), (std::vector<int32_t>{4, 3}));
  PrefixCacheHit hit = m.find_cached_prefix({.request_id = "a2", .token_ids = a});
  EXPECT_EQ(hit.block_ids, (std::vector<int32_t>{1, 2}));
  EXPECT_EQ(hit.num_tokens, 8);

  // One more block evicts a's second block (freed before its first).
  const std::vector<int32_t> c = token_range(200, 4);
  admit(m, {.request_id = "c", .token_ids = c});
  EXPECT_EQ(row(m, "c"), (std::vector<int32_t>{2}));
  hit = m.find_cached_prefix({.request_id = "a2", .token_ids = a});
  EXPECT_EQ(hit.block_ids, (std::vector<int32_t>{1}));
  EXPECT_EQ(hit.num_tokens, 4);
}

TEST(KVCacheManager, PrefixHitIsSharedByTwoLiveRequests) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 14);
  EXPECT_EQ(admit(m, {.request_id = "a", .token_ids = a}).num_tokens, 0);
  const std::vector<int32_t> b = concat(token_range(0, 12), {500, 501, 502});
  const KVRequest rb{.request_id = "b", .token_ids = b};
  const PrefixCacheHit hit = m.find_cached_prefix(rb);
  const std::vector<int32_t> a_row = row(m, "a");
  ASSERT_EQ(hit.num_tokens, 12);
  EXPECT_EQ(hit.block_ids, std::vector<int32_t>(a_row.begin(), a_row.begin() + 3));
  EXPECT_EQ(ref_count_sum(m), 4);  // a lookup takes no reference
  ASSERT_TRUE(m.allocate_slots(rb, 3, hit));
  const std::vector<int32_t> b_row = row(m, "b");
  ASSERT_EQ(b_row.size(), 4u);
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(b_row[i], a_row[i]);
    EXPECT_EQ(m.pool().block(b_row[i]).ref_count, 2);
  }
  EXPECT_NE(b_row[3], a_row[3]);
  EXPECT_EQ(m.pool().block(a_row[3]).ref_count, 1);
  EXPECT_EQ(m.pool().block(b_row[3]).ref_count, 1);
  EXPECT_EQ(ref_count_sum(m), 8);
  EXPECT_EQ(m.num_free_blocks(), 19 - 5);
  EXPECT_EQ(m.stats().requests, 2);
  EXPECT_EQ(m.stats().queries, 14 + 15);
  EXPECT_EQ(m.stats().hits, 12);

  m.free("a");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(m.pool().block(b_row[i]).ref_count, 1);
  EXPECT_EQ(m.num_free_blocks(), 19 - 4);
  m.free("b");
  EXPECT_EQ(m.num_free_blocks(), 19);
  m.reset_stats();
  EXPECT_EQ(m.stats().queries, 0);
}

TEST(KVCacheManager, HitAfterTheFirstRequestFinished) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 12);
  admit(m, {.request_id = "a", .token_ids = a});
  const std::vector<int32_t> a_row = row(m, "a");
  m.free("a");
  EXPECT_EQ(m.num_free_blocks(), 19);  // free, yet still cached
  EXPECT_EQ(m.pool().num_cached_blocks(), 3);

  const std::vector<int32_t> b = token_range(0, 13);
  const KVRequest rb{.request_id = "b", .token_ids = b};
  const PrefixCacheHit hit = m.find_cached_prefix(rb);
  EXPECT_EQ(hit.block_ids, a_row);
  ASSERT_TRUE(m.allocate_slots(rb, 1, hit));
  EXPECT_EQ(m.num_free_blocks(), 19 - 4);  // the three hit blocks left the free queue
  for (int32_t id : a_row) EXPECT_EQ(m.pool().block(id).ref_count, 1);
}

TEST(KVCacheManager, HitNeverCoversAllTokens) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 8);
  admit(m, {.request_id = "a", .token_ids = a});
  EXPECT_EQ(m.pool().num_cached_blocks(), 2);
  // Same 8 tokens: both blocks are cached but the last must be recomputed for logits.
  PrefixCacheHit hit = m.find_cached_prefix({.request_id = "b", .token_ids = a});
  EXPECT_EQ(hit.num_tokens, 4);
  const std::vector<int32_t> nine = token_range(0, 9);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "c", .token_ids = nine}).num_tokens, 8);
  const std::vector<int32_t> four = token_range(0, 4);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "d", .token_ids = four}).num_tokens, 0);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "e", .token_ids = {}}).num_tokens, 0);
  // A forged hit covering every token is refused.
  const PrefixCacheHit all{row(m, "a"), 8};
  EXPECT_THROW(m.allocate_slots({.request_id = "b", .token_ids = a}, 0, all), Error);
  EXPECT_TRUE(m.block_ids("b").empty());
}

TEST(KVCacheManager, CacheSaltAndLoraSeparateHits) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  const std::vector<int32_t> t = token_range(0, 9);
  admit(m, {.request_id = "a", .token_ids = t, .cache_salt = "tenant-x", .lora_id = 1});
  EXPECT_EQ(m.find_cached_prefix({.request_id = "b", .token_ids = t}).num_tokens, 0);
  EXPECT_EQ(m.find_cached_prefix(
                 {.request_id = "b", .token_ids = t, .cache_salt = "tenant-y", .lora_id = 1})
                .num_tokens,
            0);
  EXPECT_EQ(m.find_cached_prefix(
                 {.request_id = "b", .token_ids = t, .cache_salt = "tenant-x", .lora_id = 2})
                .num_tokens,
            0);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "b", .token_ids = t, .cache_salt = "tenant-x"})
                .num_tokens,
            0);
  EXPECT_EQ(m.find_cached_prefix(
                 {.request_id = "b", .token_ids = t, .cache_salt = "tenant-x", .lora_id = 1})
                .num_tokens,
            8);
}

TEST(KVCacheManager, ForcedHashCollisionDoesNotHitDifferentTokens) {
  // Every block hashes alike: only the stored tokens, parents and extra keys tell them apart.
  KVCacheManager m({.num_blocks = 20, .block_size = 4},
                   [](std::optional<BlockHash>, std::span<const int32_t>,
                      const BlockExtraKeys&) -> BlockHash { return 42; });
  const std::vector<int32_t> a = token_range(0, 9);
  admit(m, {.request_id = "a", .token_ids = a});
  ASSERT_EQ(m.pool().num_cached_blocks(), 2);
  EXPECT_EQ(*m.pool().block(row(m, "a")[0]).hash, *m.pool().block(row(m, "a")[1]).hash);

  const std::vector<int32_t> other_first = concat({99, 1, 2, 3}, token_range(4, 5));
  EXPECT_EQ(m.find_cached_prefix({.request_id = "b", .token_ids = other_first}).num_tokens, 0);
  const std::vector<int32_t> other_second = concat(token_range(0, 4), {4, 5, 6, 99, 8});
  const PrefixCacheHit one = m.find_cached_prefix({.request_id = "c", .token_ids = other_second});
  EXPECT_EQ(one.block_ids, std::vector<int32_t>{row(m, "a")[0]});
  // The first block's tokens again, in the second position: the parent check rejects it.
  const std::vector<int32_t> repeated = concat(token_range(0, 4), token_range(0, 5));
  EXPECT_EQ(m.find_cached_prefix({.request_id = "d", .token_ids = repeated}).num_tokens, 4);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "e", .token_ids = a}).num_tokens, 8);

  // Colliding blocks are all cached, and each is found by its own tokens.
  admit(m, {.request_id = "c", .token_ids = other_second, .num_computed_tokens = 0});
  EXPECT_EQ(
      m.find_cached_prefix({.request_id = "f", .token_ids = concat(other_second, {1})}).num_tokens,
      8);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "g", .token_ids = concat(a, {1})}).num_tokens, 8);
}

TEST(KVCacheManager, FailedAllocationChangesNothing) {
  KVCacheManager m({.num_blocks = 6, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 12);
  admit(m, {.request_id = "a", .token_ids = a});
  m.free("a");  // three cached, free blocks
  const std::vector<int32_t> x = token_range(1000, 8);
  admit(m, {.request_id = "x", .token_ids = x});
  ASSERT_EQ(m.num_free_blocks(), 3);

  // b hits a's 3 free blocks and needs 2 new ones: 5 free blocks needed, 3 available.
  const std::vector<int32_t> b = concat(a, token_range(500, 5));
  const KVRequest rb{.request_id = "b", .token_ids = b};
  const PrefixCacheHit hit = m.find_cached_prefix(rb);
  ASSERT_EQ(hit.block_ids.size(), 3u);
  const std::vector<int32_t> x_row = row(m, "x");
  EXPECT_FALSE(m.allocate_slots(rb, 5, hit));
  EXPECT_EQ(m.num_free_blocks(), 3);
  EXPECT_TRUE(m.block_ids("b").empty());
  EXPECT_EQ(m.num_requests(), 1);
  EXPECT_EQ(ref_count_sum(m), 2);
  EXPECT_EQ(m.pool().num_cached_blocks(), 3 + 2);
  for (int32_t id : hit.block_ids) {
    EXPECT_EQ(m.pool().block(id).ref_count, 0);
    EXPECT_TRUE(m.pool().block(id).hash.has_value());
  }
  // A running request that cannot grow keeps its row.
  const std::vector<int32_t> x_long = token_range(1000, 40);
  EXPECT_FALSE(
      m.allocate_slots({.request_id = "x", .token_ids = x_long, .num_computed_tokens = 8}, 32));
  EXPECT_EQ(row(m, "x"), x_row);
  EXPECT_EQ(m.num_free_blocks(), 3);

  // With x gone, the same hit fits.
  m.free("x");
  ASSERT_TRUE(m.allocate_slots(rb, 5, hit));
  EXPECT_EQ(m.num_free_blocks(), 0);
  const std::vector<int32_t> b_row = row(m, "b");
  EXPECT_EQ(std::vector<int32_t>(b_row.begin(), b_row.begin() + 3), hit.block_ids);
}

TEST(KVCacheManager, SlidingWindowFreesOutOfWindowBlocksAndKeepsTheRowLength) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4, .sliding_window = 8});
  const std::vector<int32_t> a = token_range(0, 21);
  admit(m, {.request_id = "a", .token_ids = a});
  const std::vector<int32_t> a_row = row(m, "a");
  ASSERT_EQ(a_row.size(), 6u);
  EXPECT_EQ(m.num_free_blocks(), 13);

  // Token 21 attends to positions 14..21: blocks 0..2 (positions 0..11) are out of the window.
  m.remove_skipped_blocks("a", 21);
  std::vector<int32_t> expected = a_row;
  std::fill(expected.begin(), expected.begin() + 3, kNullBlockId);
  EXPECT_EQ(row(m, "a"), expected);
  EXPECT_EQ(m.num_free_blocks(), 16);
  m.remove_skipped_blocks("a", 21);  // idempotent
  EXPECT_EQ(row(m, "a"), expected);
  m.remove_skipped_blocks("a", 25);  // now block 3 (positions 12..15) too
  expected[3] = kNullBlockId;
  EXPECT_EQ(row(m, "a"), expected);
  EXPECT_EQ(m.num_free_blocks(), 17);
  EXPECT_EQ(ref_count_sum(m), 2);
  m.remove_skipped_blocks("unknown", 100);  // no-op

  // Out-of-window blocks stay cached: a hit needs only the last ceil((8-1)/4) = 2 blocks.
  const KVRequest rb{.request_id = "b", .token_ids = a};
  const PrefixCacheHit hit = m.find_cached_prefix(rb);
  EXPECT_EQ(hit.num_tokens, 20);
  EXPECT_EQ(hit.block_ids,
            (std::vector<int32_t>{kNullBlockId, kNullBlockId, kNullBlockId, a_row[3], a_row[4]}));
  ASSERT_TRUE(m.allocate_slots(rb, 1, hit));
  const std::vector<int32_t> b_row = row(m, "b");
  ASSERT_EQ(b_row.size(), 6u);
  EXPECT_EQ(std::vector<int32_t>(b_row.begin(), b_row.begin() + 5), hit.block_ids);
  EXPECT_EQ(m.pool().block(a_row[4]).ref_count, 2);
  EXPECT_EQ(m.pool().block(a_row[3]).ref_count, 1);
  EXPECT_EQ(ref_count_sum(m), 2 + 3);

  // Only the first block matches: a run that starts at block 0 is a hit even when short.
  const std::vector<int32_t> c = concat(token_range(0, 4), token_range(900, 5));
  EXPECT_EQ(m.find_cached_prefix({.request_id = "c", .token_ids = c}).block_ids,
            std::vector<int32_t>{a_row[0]});
  m.free("a");
  m.free("b");
  EXPECT_EQ(m.num_free_blocks(), 19);
}

TEST(KVCacheManager, RemoveSkippedBlocksIsANoOpWithoutAWindow) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 21);
  admit(m, {.request_id = "a", .token_ids = a});
  const std::vector<int32_t> before = row(m, "a");
  m.remove_skipped_blocks("a", 21);
  EXPECT_EQ(row(m, "a"), before);
}

TEST(KVCacheManager, ResetPrefixCache) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 9);
  admit(m, {.request_id = "a", .token_ids = a});
  EXPECT_FALSE(m.reset_prefix_cache());
  EXPECT_EQ(m.find_cached_prefix({.request_id = "b", .token_ids = a}).num_tokens, 8);
  m.free("a");
  EXPECT_TRUE(m.reset_prefix_cache());
  EXPECT_EQ(m.pool().num_cached_blocks(), 0);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "b", .token_ids = a}).num_tokens, 0);
  EXPECT_EQ(m.num_free_blocks(), 19);
}

TEST(KVCacheManager, SkipPrefixCacheReadsNothingButStillCaches) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 9);
  admit(m, {.request_id = "a", .token_ids = a});
  const KVRequest skip{.request_id = "b", .token_ids = a, .skip_prefix_cache = true};
  EXPECT_EQ(m.find_cached_prefix(skip).num_tokens, 0);
  EXPECT_EQ(m.stats().requests, 1);  // the skipped lookup is not counted
  m.free("a");
  EXPECT_TRUE(m.reset_prefix_cache());
  admit(m, skip);
  EXPECT_EQ(m.find_cached_prefix({.request_id = "c", .token_ids = a}).num_tokens, 8);
}

TEST(KVCacheManager, CachingOffNeverHits) {
  KVCacheManager m({.num_blocks = 20, .block_size = 4, .enable_prefix_caching = false});
  const std::vector<int32_t> a = token_range(0, 9);
  admit(m, {.request_id = "a", .token_ids = a});
  EXPECT_EQ(m.find_cached_prefix({.request_id = "b", .token_ids = a}).num_tokens, 0);
  EXPECT_EQ(m.pool().num_cached_blocks(), 0);
  EXPECT_EQ(m.stats().requests, 0);
}

TEST(KVCacheManager, MisuseIsReported) {
  EXPECT_THROW(KVCacheManager({.num_blocks = 1}), Error);
  EXPECT_THROW(KVCacheManager({.num_blocks = 8, .block_size = 0}), Error);
  EXPECT_THROW(KVCacheManager({.num_blocks = 8, .sliding_window = 0}), Error);

  KVCacheManager m({.num_blocks = 8, .block_size = 4});
  const std::vector<int32_t> a = token_range(0, 9);
  admit(m, {.request_id = "a", .token_ids = a});
  const PrefixCacheHit hit = m.find_cached_prefix({.request_id = "b", .token_ids = a});
  ASSERT_EQ(hit.num_tokens, 8);
  // A hit for a request that already holds blocks.
  EXPECT_THROW(
      m.allocate_slots({.request_id = "a", .token_ids = a, .num_computed_tokens = 9}, 0, hit),
      Error);
  // Inconsistent or forged hits.
  EXPECT_THROW(m.allocate_slots({.request_id = "b", .token_ids = a}, 1, {hit.block_ids, 4}), Error);
  const std::vector<int32_t> other = token_range(50, 9);
  EXPECT_THROW(m.allocate_slots({.request_id = "b", .token_ids = other}, 1, hit), Error);
  EXPECT_THROW(m.allocate_slots({.request_id = "b", .token_ids = a}, 1, {{kNullBlockId, 1}, 8}),
               Error);
  EXPECT_THROW(m.allocate_slots({.request_id = "b", .token_ids = a}, 1, {{1, 99}, 8}), Error);
  // Computed tokens the request has no blocks for; negative counts.
  EXPECT_THROW(m.allocate_slots({.request_id = "z", .token_ids = a, .num_computed_tokens = 4}, 1),
               Error);
  EXPECT_THROW(m.allocate_slots({.request_id = "z", .token_ids = a}, -1), Error);
  EXPECT_TRUE(m.block_ids("b").empty());
  EXPECT_TRUE(m.block_ids("z").empty());
  EXPECT_EQ(ref_count_sum(m), 3);

  // A hit that went stale: its blocks were evicted between the lookup and the allocation.
  m.free("a");
  const PrefixCacheHit stale = m.find_cached_prefix({.request_id = "b", .token_ids = a});
  ASSERT_EQ(stale.num_tokens, 8);
  const std::vector<int32_t> big = token_range(100, 28);
  admit(m, {.request_id = "big", .token_ids = big});  // takes all 7 blocks
  EXPECT_THROW(m.allocate_slots({.request_id = "b", .token_ids = a}, 1, stale), Error);
  EXPECT_TRUE(m.block_ids("b").empty());
}

// ---------------------------------------------------------------------------------------------
// Randomized scheduler simulation.

struct StressConfig {
  bool caching;
  std::optional<int64_t> window;
  bool weak_hash;  // 3-bit hashes: collisions everywhere, verification must hold
};

void PrintTo(const StressConfig& c, std::ostream* os) {
  *os << "{caching " << c.caching << ", window " << c.window.value_or(0) << ", weak hash "
      << c.weak_hash << "}";
}

std::string stress_name(const testing::TestParamInfo<StressConfig>& info) {
  std::string name = info.param.caching ? "Caching" : "NoCaching";
  name += info.param.window ? "Window" + std::to_string(*info.param.window) : "Full";
  if (info.param.weak_hash) name += "WeakHash";
  return name;
}

class KVCacheStress : public testing::TestWithParam<StressConfig> {};

struct SimRequest {
  std::string id;
  std::string salt;
  std::vector<int32_t> tokens;
  // digest[p]: what correct KV at position p encodes (salt and every token up to p).
  std::vector<uint64_t> digest;
  int64_t computed = 0;
  bool running = false;  // holds blocks in the manager

  void append(int32_t token) {
    uint64_t h = digest.empty() ? std::hash<std::string>{}(salt) : digest.back();
    h = (h ^ static_cast<uint64_t>(token + 1)) * 0x100000001B3ull;
    h ^= h >> 29;
    tokens.push_back(token);
    digest.push_back(h);
  }
  KVRequest view() const {
    return {
        .request_id = id, .token_ids = tokens, .num_computed_tokens = computed, .cache_salt = salt};
  }
};

TEST_P(KVCacheStress, RandomOperationsKeepCountsAndContentsConsistent) {
  const StressConfig cfg = GetParam();
  constexpr int64_t kBlocks = 48;
  constexpr int64_t kBlockSize = 4;
  BlockHashFn hash_fn;
  if (cfg.weak_hash) {
    hash_fn = [](std::optional<BlockHash> parent, std::span<const int32_t> tokens,
                 const BlockExtraKeys& extra) {
      return hash_block_tokens(parent, tokens, extra) & 7;
    };
  }
  KVCacheManager m({.num_blocks = kBlocks,
                    .block_size = kBlockSize,
                    .enable_prefix_caching = cfg.caching,
                    .sliding_window = cfg.window},
                   hash_fn);
  std::mt19937 rng(1234);
  auto uniform = [&](int64_t lo, int64_t hi) {  // inclusive
    return std::uniform_int_distribution<int64_t>(lo, hi)(rng);
  };
  // Shared prompt prefixes, so that requests hit each other's blocks.
  std::vector<std::vector<int32_t>> bases(3);
  for (auto& base : bases) {
    for (int i = 0; i < 24; ++i) base.push_back(static_cast<int32_t>(uniform(0, 49)));
  }
  // Simulated KV contents of every block slot.
  std::vector<std::vector<uint64_t>> kv(kBlocks, std::vector<uint64_t>(kBlockSize, 0));
  std::vector<SimRequest> reqs;
  int next_id = 0;
  int64_t preemptions = 0, failed_admissions = 0, steps = 0;

  auto check_invariants = [&](const char* op) {
    SCOPED_TRACE(op);
    int64_t held = 0;
    for (const SimRequest& r : reqs) {
      const std::vector<int32_t> ids = row(m, r.id);
      if (!r.running) {
        ASSERT_TRUE(ids.empty()) << r.id;
        continue;
      }
      ASSERT_GE(static_cast<int64_t>(ids.size()) * kBlockSize, r.computed);
      std::vector<int32_t> real;
      for (size_t i = 0; i < ids.size(); ++i) {
        if (ids[i] == kNullBlockId) continue;
        real.push_back(ids[i]);
        // A registered block holds this request's tokens at that position.
        const KVCacheBlock& block = m.pool().block(ids[i]);
        if (block.hash) {
          ASSERT_TRUE(std::equal(block.token_ids.begin(), block.token_ids.end(),
                                 r.tokens.begin() + static_cast<int64_t>(i) * kBlockSize))
              << r.id << " block " << i;
        }
      }
      std::sort(real.begin(), real.end());
      ASSERT_EQ(std::adjacent_find(real.begin(), real.end()), real.end()) << r.id;
      held += static_cast<int64_t>(real.size());
    }
    ASSERT_EQ(ref_count_sum(m), held);
    int64_t unreferenced = 0;
    for (int32_t id = 1; id < kBlocks; ++id) unreferenced += m.pool().block(id).ref_count == 0;
    ASSERT_EQ(m.num_free_blocks(), unreferenced);
    ASSERT_EQ(m.pool().block(kNullBlockId).ref_count, 0);
  };

  // One scheduler step for r: lookup (if new), allocation, then the simulated forward pass that
  // reads the KV its new tokens attend to and writes theirs. False when allocation failed.
  auto step = [&](SimRequest& r, int64_t budget) -> bool {
    m.remove_skipped_blocks(r.id, r.computed);
    PrefixCacheHit hit;
    if (!r.running) hit = m.find_cached_prefix(r.view());
    const int64_t start = r.computed + hit.num_tokens;
    const int64_t remaining = static_cast<int64_t>(r.tokens.size()) - start;
    EXPECT_GE(remaining, 1);
    const int64_t n = std::min(remaining, budget);

    std::vector<std::pair<int32_t, std::optional<BlockHash>>> before;
    for (int32_t id = 0; id < kBlocks; ++id) {
      before.emplace_back(m.pool().block(id).ref_count, m.pool().block(id).hash);
    }
    const std::vector<int32_t> row_before = row(m, r.id);
    if (!m.allocate_slots(r.view(), n, hit)) {
      for (int32_t id = 0; id < kBlocks; ++id) {
        EXPECT_EQ(before[id].first, m.pool().block(id).ref_count);
        EXPECT_EQ(before[id].second, m.pool().block(id).hash);
      }
      EXPECT_EQ(row(m, r.id), row_before);
      return false;
    }
    r.running = true;
    const std::vector<int32_t> ids = row(m, r.id);
    EXPECT_GE(static_cast<int64_t>(ids.size()) * kBlockSize, start + n);
    // Reads: the window of the first new token, back to position 0 for full attention.
    const int64_t lo = cfg.window ? std::max<int64_t>(0, start - *cfg.window + 1) : 0;
    for (int64_t p = lo; p < start; ++p) {
      const int32_t block = ids[static_cast<size_t>(p / kBlockSize)];
      EXPECT_NE(block, kNullBlockId) << r.id << " reads position " << p;
      EXPECT_EQ(kv[block][p % kBlockSize], r.digest[p]) << r.id << " reads position " << p;
    }
    // Writes go only to blocks this request holds alone.
    for (int64_t p = start; p < start + n; ++p) {
      const int32_t block = ids[static_cast<size_t>(p / kBlockSize)];
      EXPECT_NE(block, kNullBlockId);
      EXPECT_EQ(m.pool().block(block).ref_count, 1) << r.id << " writes position " << p;
      kv[block][p % kBlockSize] = r.digest[p];
    }
    r.computed = start + n;
    if (r.computed == static_cast<int64_t>(r.tokens.size())) {
      r.append(static_cast<int32_t>(uniform(0, 49)));  // sampled token
    }
    ++steps;
    return true;
  };

  auto preempt = [&](SimRequest& r) {
    m.free(r.id);
    r.running = false;
    r.computed = 0;  // restarts with prompt + generated tokens as its prompt
    ++preemptions;
  };
  auto pick = [&](bool running) -> SimRequest* {
    std::vector<SimRequest*> candidates;
    for (SimRequest& r : reqs) {
      if (r.running == running) candidates.push_back(&r);
    }
    if (candidates.empty()) return nullptr;
    return candidates[static_cast<size_t>(uniform(0, candidates.size() - 1))];
  };
  auto remove = [&](SimRequest* r) {
    m.free(r->id);
    reqs.erase(reqs.begin() + (r - reqs.data()));
  };

  for (int op = 0; op < 4000; ++op) {
    const int64_t dice = uniform(0, 99);
    const char* name = "";
    if (dice < 25) {
      name = "add";
      if (reqs.size() < 14) {
        SimRequest r;
        r.id = "req-" + std::to_string(next_id++);
        r.salt = uniform(0, 3) == 0 ? "tenant-b" : "";
        const auto& base = bases[static_cast<size_t>(uniform(0, 2))];
        const int64_t shared = uniform(0, 24);
        for (int64_t i = 0; i < shared; ++i) r.append(base[static_cast<size_t>(i)]);
        const int64_t own = uniform(1, 10);
        for (int64_t i = 0; i < own; ++i) r.append(static_cast<int32_t>(uniform(0, 49)));
        reqs.push_back(std::move(r));
        if (!step(reqs.back(), uniform(1, 40))) ++failed_admissions;
      }
    } else if (dice < 65) {
      name = "grow";
      if (SimRequest* r = pick(true)) {
        if (!step(*r, uniform(1, 8))) preempt(*r);
      }
    } else if (dice < 75) {
      name = "admit waiting";
      if (SimRequest* r = pick(false)) {
        if (!step(*r, uniform(1, 40))) ++failed_admissions;
      }
    } else if (dice < 85) {
      name = "finish";
      if (SimRequest* r = pick(true)) remove(r);
    } else if (dice < 90) {
      name = "abort";
      if (!reqs.empty()) remove(&reqs[static_cast<size_t>(uniform(0, reqs.size() - 1))]);
    } else {
      name = "preempt and restart";
      if (SimRequest* r = pick(true)) {
        preempt(*r);
        if (!step(*r, uniform(1, 40))) ++failed_admissions;
      }
    }
    // Long requests finish, which keeps the pool cycling.
    for (size_t i = 0; i < reqs.size(); ++i) {
      if (reqs[i].tokens.size() > 56) {
        remove(&reqs[i]);
        break;
      }
    }
    check_invariants(name);
    if (HasFatalFailure() || HasFailure()) {
      FAIL() << "after operation " << op << " (" << name << ")";
    }
  }

  for (const SimRequest& r : reqs) m.free(r.id);
  EXPECT_EQ(m.num_free_blocks(), kBlocks - 1);
  EXPECT_EQ(ref_count_sum(m), 0);
  EXPECT_EQ(m.num_requests(), 0);
  EXPECT_TRUE(m.reset_prefix_cache());
  EXPECT_EQ(m.pool().num_cached_blocks(), 0);
  // The run exercised what it claims to.
  EXPECT_GT(steps, 1000);
  EXPECT_GT(preemptions, 20);
  EXPECT_GT(failed_admissions, 0);
  if (cfg.caching) {
    EXPECT_GT(m.stats().hits, 500);
  } else {
    EXPECT_EQ(m.stats().queries, 0);
  }
}

INSTANTIATE_TEST_SUITE_P(Configs, KVCacheStress,
                         testing::Values(StressConfig{true, std::nullopt, false},
                                         StressConfig{false, std::nullopt, false},
                                         StressConfig{true, std::nullopt, true},
                                         StressConfig{true, 6, false},
                                         StressConfig{false, 6, false}, StressConfig{true, 6, true},
                                         StressConfig{true, 13, false}),
                         stress_name);

}  // namespace
}  // namespace pagoda
