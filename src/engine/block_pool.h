// The KV-cache block pool: bookkeeping for num_blocks fixed-size blocks that every attention layer
// shares (block i is row i of each layer's cache tensor, which the model runner owns). Blocks are
// reference-counted: a prefix-cache hit shares a block between requests.
//
// Free blocks wait in an LRU queue: a released block joins the tail and allocation takes the head.
// A full block that was registered in the prefix cache keeps its hash while it is free, so a later
// request can still hit it ("touch" takes it out of the queue again); only when allocation pops it
// for reuse is its hash dropped (the block is evicted). Free cached blocks therefore count as free.
//
// Block 0 is the null block: never allocated, never freed, never cached. Block tables use it for
// entries that hold no KV (blocks that fell out of a sliding window).
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/block_hash.h"

namespace pagoda {

inline constexpr int32_t kNullBlockId = 0;
// parent_block_id of a request's first block.
inline constexpr int32_t kNoParentBlock = -1;

struct KVCacheBlock {
  int32_t block_id = 0;
  // Requests holding the block. 0: the block is in the free queue (or is the null block).
  int32_t ref_count = 0;
  // Set once the block is full and registered in the prefix cache; cleared when it is evicted.
  std::optional<BlockHash> hash;

  // What a cached block holds, checked on every lookup because 64-bit hashes can collide. The
  // parent is the block holding the previous block of tokens when this one was cached
  // (kNoParentBlock for a first block, kNullBlockId when it had already left a sliding window).
  std::vector<int32_t> token_ids;
  int32_t parent_block_id = kNoParentBlock;
  std::optional<BlockHash> parent_hash;
  std::string cache_salt;
  std::optional<int64_t> lora_id;

  // Free-queue links (nullptr when not queued).
  KVCacheBlock* prev_free = nullptr;
  KVCacheBlock* next_free = nullptr;

  bool is_null() const { return block_id == kNullBlockId; }
};

// A full block's identity: what registers it in the prefix cache and what a lookup must match.
struct CachedBlockKey {
  BlockHash hash = 0;
  std::optional<BlockHash> parent_hash;  // none for a request's first block
  // The block that holds the previous tokens, when the caller knows it (a chain walk from the
  // first block); kNullBlockId when unknown (a sliding-window lookup that starts mid-chain).
  int32_t parent_block_id = kNoParentBlock;
  std::span<const int32_t> token_ids;
  BlockExtraKeys extra;
};

// Prefix-cache counters, in tokens (vLLM's PrefixCacheStats).
struct PrefixCacheStats {
  int64_t requests = 0;  // lookups made
  int64_t queries = 0;   // tokens looked up
  int64_t hits = 0;      // tokens found cached
  double hit_rate() const { return queries == 0 ? 0.0 : static_cast<double>(hits) / queries; }
};

class BlockPool {
 public:
  // num_blocks counts the null block, so num_blocks - 1 are usable; at least 2 are needed.
  BlockPool(int64_t num_blocks, bool enable_caching);
  BlockPool(const BlockPool&) = delete;
  BlockPool& operator=(const BlockPool&) = delete;

  int64_t num_blocks() const { return static_cast<int64_t>(blocks_.size()); }
  bool caching_enabled() const { return enable_caching_; }
  // Blocks allocation can take: unreferenced ones, cached (evictable) or not.
  int64_t num_free_blocks() const { return num_free_; }
  // Fraction of the usable blocks that requests hold, in [0, 1].
  double usage() const;
  // Blocks registered in the prefix cache (referenced or free).
  int64_t num_cached_blocks() const { return static_cast<int64_t>(cached_.size()); }
  const KVCacheBlock& block(int32_t block_id) const;

  // Takes n blocks from the head of the free queue (evicting cached ones), each with ref_count 1,
  // and appends their ids to `out`. n must not exceed num_free_blocks().
  void allocate(int64_t n, std::vector<int32_t>& out);
  // One more reference to each block (cache hits); a free one leaves the free queue. Null blocks
  // are skipped.
  void touch(std::span<const int32_t> block_ids);
  // One reference less to each block, in the given order; those reaching 0 join the free queue's
  // tail in that order (so they are evicted in that order). Null blocks are skipped.
  void release(std::span<const int32_t> block_ids);

  // Registers a full, referenced block in the prefix cache (no-op when caching is off). A block is
  // registered once: it is immutable from then until it is evicted.
  void cache_block(int32_t block_id, const CachedBlockKey& key);
  // The cached block matching `key` in hash, parent hash, parent block (when both sides know it),
  // tokens and extra keys; with required_id >= 0 only that block may match. -1 when none.
  int32_t find_cached_block(const CachedBlockKey& key, int32_t required_id = -1) const;

  // Forgets every cached hash. Only when no block is referenced (returns false otherwise).
  bool reset_prefix_cache();

  void record_lookup(int64_t queried_tokens, int64_t hit_tokens);
  const PrefixCacheStats& stats() const { return stats_; }
  void reset_stats() { stats_ = {}; }

 private:
  KVCacheBlock& mutable_block(int32_t block_id);
  void push_free_tail(KVCacheBlock& b);
  void unlink_free(KVCacheBlock& b);
  void evict(KVCacheBlock& b);

  bool enable_caching_;
  std::vector<KVCacheBlock> blocks_;
  // Free queue with sentinel ends: head_.next_free is the next block allocation takes.
  KVCacheBlock head_;
  KVCacheBlock tail_;
  int64_t num_free_ = 0;
  // hash -> cached blocks with that hash (usually one; equal contents computed twice, or a
  // collision, give more).
  std::unordered_multimap<BlockHash, int32_t> cached_;
  PrefixCacheStats stats_;
};

}  // namespace pagoda
