// BlockPool (free queue, reference counts, verified prefix-cache lookups) and the block hash.
#include "engine/block_pool.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <vector>

#include "engine/block_hash.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

std::vector<int32_t> allocate(BlockPool& pool, int64_t n) {
  std::vector<int32_t> ids;
  pool.allocate(n, ids);
  return ids;
}

CachedBlockKey first_block_key(BlockHash hash, const std::vector<int32_t>& tokens,
                               std::string_view salt = {}) {
  CachedBlockKey key;
  key.hash = hash;
  key.token_ids = tokens;
  key.extra.cache_salt = salt;
  return key;
}

TEST(BlockPool, NullBlockIsReservedAndNeverAllocated) {
  BlockPool pool(5, true);
  EXPECT_EQ(pool.num_blocks(), 5);
  EXPECT_EQ(pool.num_free_blocks(), 4);
  EXPECT_DOUBLE_EQ(pool.usage(), 0.0);
  const std::vector<int32_t> ids = allocate(pool, 4);
  EXPECT_EQ(ids, (std::vector<int32_t>{1, 2, 3, 4}));
  EXPECT_EQ(pool.num_free_blocks(), 0);
  EXPECT_DOUBLE_EQ(pool.usage(), 1.0);
  EXPECT_TRUE(pool.block(kNullBlockId).is_null());
  EXPECT_EQ(pool.block(kNullBlockId).ref_count, 0);
  // Touching or releasing the null block does nothing.
  const std::vector<int32_t> null_only{kNullBlockId};
  pool.touch(null_only);
  pool.release(null_only);
  EXPECT_EQ(pool.block(kNullBlockId).ref_count, 0);
  EXPECT_EQ(pool.num_free_blocks(), 0);
}

TEST(BlockPool, RejectsBadSizesAndOverAllocation) {
  EXPECT_THROW(BlockPool(1, true), Error);
  EXPECT_THROW(BlockPool(0, false), Error);
  BlockPool pool(3, false);
  std::vector<int32_t> ids;
  EXPECT_THROW(pool.allocate(3, ids), Error);
  EXPECT_TRUE(ids.empty());
  EXPECT_EQ(pool.num_free_blocks(), 2);
  EXPECT_THROW(pool.block(3), Error);
  EXPECT_THROW(pool.block(-1), Error);
}

TEST(BlockPool, ReferenceCountsAndAccounting) {
  BlockPool pool(11, false);
  const std::vector<int32_t> a = allocate(pool, 3);
  EXPECT_EQ(pool.num_free_blocks(), 7);
  EXPECT_DOUBLE_EQ(pool.usage(), 0.3);
  pool.touch(a);  // shared by a second holder
  for (int32_t id : a) EXPECT_EQ(pool.block(id).ref_count, 2);
  pool.release(a);
  EXPECT_EQ(pool.num_free_blocks(), 7);
  pool.release(a);
  EXPECT_EQ(pool.num_free_blocks(), 10);
  for (int32_t id : a) EXPECT_EQ(pool.block(id).ref_count, 0);
}

TEST(BlockPool, FreeQueueIsLeastRecentlyReleasedFirst) {
  BlockPool pool(5, false);
  allocate(pool, 4);
  const std::vector<int32_t> order{3, 1, 4, 2};
  pool.release(order);
  EXPECT_EQ(allocate(pool, 4), order);
}

TEST(BlockPool, TouchRemovesAFreeBlockFromTheMiddleOfTheQueue) {
  BlockPool pool(6, false);
  allocate(pool, 5);
  pool.release(std::vector<int32_t>{1, 2, 3, 4, 5});
  pool.touch(std::vector<int32_t>{3});
  EXPECT_EQ(pool.num_free_blocks(), 4);
  EXPECT_EQ(pool.block(3).ref_count, 1);
  EXPECT_EQ(allocate(pool, 4), (std::vector<int32_t>{1, 2, 4, 5}));
}

TEST(BlockPool, CachedBlockStaysFindableWhileFreeUntilEvicted) {
  BlockPool pool(3, true);
  const std::vector<int32_t> tokens{7, 8, 9, 10};
  const int32_t id = allocate(pool, 1)[0];
  pool.cache_block(id, first_block_key(1234, tokens));
  EXPECT_EQ(pool.num_cached_blocks(), 1);
  ASSERT_TRUE(pool.block(id).hash.has_value());
  EXPECT_EQ(*pool.block(id).hash, 1234u);
  pool.release(std::vector<int32_t>{id});
  EXPECT_EQ(pool.num_free_blocks(), 2);  // free although cached
  EXPECT_EQ(pool.find_cached_block(first_block_key(1234, tokens)), id);
  // The other free block is taken first; the cached one survives.
  allocate(pool, 1);
  EXPECT_EQ(pool.find_cached_block(first_block_key(1234, tokens)), id);
  // Now it is popped for reuse: evicted.
  EXPECT_EQ(allocate(pool, 1)[0], id);
  EXPECT_EQ(pool.find_cached_block(first_block_key(1234, tokens)), -1);
  EXPECT_FALSE(pool.block(id).hash.has_value());
  EXPECT_TRUE(pool.block(id).token_ids.empty());
  EXPECT_EQ(pool.num_cached_blocks(), 0);
}

TEST(BlockPool, LookupVerifiesEverythingBesidesTheHash) {
  BlockPool pool(8, true);
  const std::vector<int32_t> tokens{1, 2, 3, 4};
  const std::vector<int32_t> other{1, 2, 3, 5};
  const int32_t first = allocate(pool, 1)[0];
  pool.cache_block(first, first_block_key(99, tokens, "salt"));
  EXPECT_EQ(pool.find_cached_block(first_block_key(99, tokens, "salt")), first);
  EXPECT_EQ(pool.find_cached_block(first_block_key(99, other, "salt")), -1);     // tokens
  EXPECT_EQ(pool.find_cached_block(first_block_key(99, tokens, "pepper")), -1);  // salt
  EXPECT_EQ(pool.find_cached_block(first_block_key(98, tokens, "salt")), -1);    // hash
  CachedBlockKey with_lora = first_block_key(99, tokens, "salt");
  with_lora.extra.lora_id = 3;
  EXPECT_EQ(pool.find_cached_block(with_lora), -1);  // LoRA id
  EXPECT_EQ(pool.find_cached_block(first_block_key(99, tokens, "salt"), first + 1), -1);

  // A second block chained after `first`.
  const int32_t second = allocate(pool, 1)[0];
  CachedBlockKey child = first_block_key(77, other);
  child.parent_hash = 99;
  child.parent_block_id = first;
  pool.cache_block(second, child);
  EXPECT_EQ(pool.find_cached_block(child), second);
  CachedBlockKey wrong_parent_hash = child;
  wrong_parent_hash.parent_hash = 98;
  EXPECT_EQ(pool.find_cached_block(wrong_parent_hash), -1);
  CachedBlockKey wrong_parent_block = child;
  wrong_parent_block.parent_block_id = first + 5;
  EXPECT_EQ(pool.find_cached_block(wrong_parent_block), -1);
  CachedBlockKey unknown_parent_block = child;
  unknown_parent_block.parent_block_id = kNullBlockId;
  EXPECT_EQ(pool.find_cached_block(unknown_parent_block), second);
  CachedBlockKey as_first_block = child;
  as_first_block.parent_hash.reset();
  as_first_block.parent_block_id = kNoParentBlock;
  EXPECT_EQ(pool.find_cached_block(as_first_block), -1);
}

TEST(BlockPool, EqualHashesKeepSeveralBlocks) {
  BlockPool pool(4, true);
  const std::vector<int32_t> a{1, 1};
  const std::vector<int32_t> b{2, 2};
  const std::vector<int32_t> ids = allocate(pool, 2);
  pool.cache_block(ids[0], first_block_key(5, a));
  pool.cache_block(ids[1], first_block_key(5, b));
  EXPECT_EQ(pool.num_cached_blocks(), 2);
  EXPECT_EQ(pool.find_cached_block(first_block_key(5, a)), ids[0]);
  EXPECT_EQ(pool.find_cached_block(first_block_key(5, b)), ids[1]);
  pool.release(ids);
  allocate(pool, 2);  // the never-used block, then ids[0]: evicts only that one
  EXPECT_EQ(pool.find_cached_block(first_block_key(5, a)), -1);
  EXPECT_EQ(pool.find_cached_block(first_block_key(5, b)), ids[1]);
}

TEST(BlockPool, CachingOffRegistersNothing) {
  BlockPool pool(3, false);
  const std::vector<int32_t> tokens{1, 2};
  const int32_t id = allocate(pool, 1)[0];
  pool.cache_block(id, first_block_key(5, tokens));
  EXPECT_FALSE(pool.block(id).hash.has_value());
  EXPECT_EQ(pool.find_cached_block(first_block_key(5, tokens)), -1);
  EXPECT_EQ(pool.num_cached_blocks(), 0);
}

TEST(BlockPool, ResetPrefixCacheOnlyWhenNothingIsHeld) {
  BlockPool pool(4, true);
  const std::vector<int32_t> tokens{1, 2};
  const std::vector<int32_t> ids = allocate(pool, 2);
  pool.cache_block(ids[0], first_block_key(5, tokens));
  EXPECT_FALSE(pool.reset_prefix_cache());
  EXPECT_EQ(pool.find_cached_block(first_block_key(5, tokens)), ids[0]);
  pool.release(ids);
  EXPECT_TRUE(pool.reset_prefix_cache());
  EXPECT_EQ(pool.find_cached_block(first_block_key(5, tokens)), -1);
  EXPECT_EQ(pool.num_cached_blocks(), 0);
  EXPECT_EQ(pool.num_free_blocks(), 3);
}

TEST(BlockPool, StatsCountTokens) {
  BlockPool pool(2, true);
  EXPECT_DOUBLE_EQ(pool.stats().hit_rate(), 0.0);
  pool.record_lookup(10, 4);
  pool.record_lookup(6, 0);
  EXPECT_EQ(pool.stats().requests, 2);
  EXPECT_EQ(pool.stats().queries, 16);
  EXPECT_EQ(pool.stats().hits, 4);
  EXPECT_DOUBLE_EQ(pool.stats().hit_rate(), 0.25);
  pool.reset_stats();
  EXPECT_EQ(pool.stats().queries, 0);
}

TEST(BlockHash, DependsOnEveryInput) {
  const std::vector<int32_t> tokens{1, 2, 3, 4, 5};
  const BlockHash base = hash_block_tokens(std::nullopt, tokens, {});
  EXPECT_EQ(base, hash_block_tokens(std::nullopt, tokens, {}));  // deterministic
  EXPECT_NE(base, hash_block_tokens(BlockHash{0}, tokens, {}));  // "no parent" is not parent 0
  EXPECT_NE(hash_block_tokens(BlockHash{1}, tokens, {}),
            hash_block_tokens(BlockHash{2}, tokens, {}));
  const std::vector<int32_t> swapped{2, 1, 3, 4, 5};
  EXPECT_NE(base, hash_block_tokens(std::nullopt, swapped, {}));
  const std::vector<int32_t> shorter{1, 2, 3, 4};
  EXPECT_NE(base, hash_block_tokens(std::nullopt, shorter, {}));
  const std::vector<int32_t> last_changed{1, 2, 3, 4, 6};
  EXPECT_NE(base, hash_block_tokens(std::nullopt, last_changed, {}));
  EXPECT_NE(base, hash_block_tokens(std::nullopt, tokens, {"a", std::nullopt}));
  EXPECT_NE(hash_block_tokens(std::nullopt, tokens, {"a", std::nullopt}),
            hash_block_tokens(std::nullopt, tokens, {"b", std::nullopt}));
  EXPECT_NE(hash_block_tokens(std::nullopt, tokens, {"abcdefgh1", std::nullopt}),
            hash_block_tokens(std::nullopt, tokens, {"abcdefgh2", std::nullopt}));
  EXPECT_NE(base, hash_block_tokens(std::nullopt, tokens, {"", 0}));
  EXPECT_NE(hash_block_tokens(std::nullopt, tokens, {"", 1}),
            hash_block_tokens(std::nullopt, tokens, {"", 2}));
}

TEST(BlockHash, NoCollisionsAmongManySmallBlocks) {
  // Every 2-token block over a 300-token vocabulary, chained after two different parents.
  std::vector<BlockHash> hashes;
  for (int parent = 0; parent < 2; ++parent) {
    for (int32_t a = 0; a < 300; ++a) {
      for (int32_t b = 0; b < 300; ++b) {
        const std::vector<int32_t> tokens{a, b};
        hashes.push_back(hash_block_tokens(BlockHash(parent), tokens, {}));
      }
    }
  }
  std::sort(hashes.begin(), hashes.end());
  EXPECT_EQ(std::adjacent_find(hashes.begin(), hashes.end()), hashes.end());
}

}  // namespace
}  // namespace pagoda
