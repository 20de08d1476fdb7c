#include "engine/block_pool.h"

#include <algorithm>
#include <limits>
#include <string>
#include <utility>

#include "pagoda/error.h"

namespace pagoda {

BlockPool::BlockPool(int64_t num_blocks, bool enable_caching) : enable_caching_(enable_caching) {
  PAGODA_CHECK(num_blocks >= 2 && num_blocks <= std::numeric_limits<int32_t>::max(), InvalidConfig,
               "the KV cache has " + std::to_string(num_blocks) +
                   " blocks; it needs at least 2 (block 0 is reserved as the null block) and at "
                   "most 2^31-1",
               "give the KV cache more memory or a smaller block size (num_blocks >= 2)");
  blocks_.resize(static_cast<size_t>(num_blocks));
  head_.next_free = &tail_;
  tail_.prev_free = &head_;
  for (size_t i = 0; i < blocks_.size(); ++i) {
    blocks_[i].block_id = static_cast<int32_t>(i);
    if (i != kNullBlockId) push_free_tail(blocks_[i]);
  }
}

double BlockPool::usage() const {
  const int64_t usable = num_blocks() - 1;
  return 1.0 - static_cast<double>(num_free_) / static_cast<double>(usable);
}

const KVCacheBlock& BlockPool::block(int32_t block_id) const {
  PAGODA_CHECK(block_id >= 0 && block_id < num_blocks(), InvalidArgument,
               "block id " + std::to_string(block_id) + " is outside the KV cache's " +
                   std::to_string(num_blocks()) + " blocks",
               "use a block id from the KV-cache manager's block table");
  return blocks_[static_cast<size_t>(block_id)];
}

KVCacheBlock& BlockPool::mutable_block(int32_t block_id) {
  return const_cast<KVCacheBlock&>(std::as_const(*this).block(block_id));
}

void BlockPool::push_free_tail(KVCacheBlock& b) {
  PAGODA_ASSERT(b.prev_free == nullptr && b.next_free == nullptr && !b.is_null());
  b.prev_free = tail_.prev_free;
  b.next_free = &tail_;
  tail_.prev_free->next_free = &b;
  tail_.prev_free = &b;
  ++num_free_;
}

void BlockPool::unlink_free(KVCacheBlock& b) {
  PAGODA_ASSERT(b.prev_free != nullptr && b.next_free != nullptr);
  b.prev_free->next_free = b.next_free;
  b.next_free->prev_free = b.prev_free;
  b.prev_free = nullptr;
  b.next_free = nullptr;
  --num_free_;
}

void BlockPool::evict(KVCacheBlock& b) {
  if (!b.hash) return;
  auto [first, last] = cached_.equal_range(*b.hash);
  auto it =
      std::find_if(first, last, [&](const auto& entry) { return entry.second == b.block_id; });
  PAGODA_ASSERT(it != last);
  cached_.erase(it);
  b.hash.reset();
  // Keep the token vector's capacity: the block will be full again and re-registered.
  b.token_ids.clear();
  b.cache_salt.clear();
  b.parent_block_id = kNoParentBlock;
  b.parent_hash.reset();
  b.lora_id.reset();
}

void BlockPool::allocate(int64_t n, std::vector<int32_t>& out) {
  PAGODA_CHECK(n >= 0 && n <= num_free_, InvalidArgument,
               "asked the KV block pool for " + std::to_string(n) + " blocks with " +
                   std::to_string(num_free_) + " free",
               "check num_free_blocks() before allocating");
  for (int64_t i = 0; i < n; ++i) {
    KVCacheBlock& b = *head_.next_free;
    unlink_free(b);
    evict(b);
    PAGODA_ASSERT(b.ref_count == 0);
    b.ref_count = 1;
    out.push_back(b.block_id);
  }
}

void BlockPool::touch(std::span<const int32_t> block_ids) {
  for (int32_t id : block_ids) {
    KVCacheBlock& b = mutable_block(id);
    if (b.is_null()) continue;
    if (b.ref_count == 0) unlink_free(b);
    ++b.ref_count;
  }
}

void BlockPool::release(std::span<const int32_t> block_ids) {
  for (int32_t id : block_ids) {
    KVCacheBlock& b = mutable_block(id);
    if (b.is_null()) continue;
    PAGODA_ASSERT(b.ref_count > 0);
    if (--b.ref_count == 0) push_free_tail(b);
  }
}

void BlockPool::cache_block(int32_t block_id, const CachedBlockKey& key) {
  if (!enable_caching_) return;
  KVCacheBlock& b = mutable_block(block_id);
  PAGODA_ASSERT(!b.is_null() && b.ref_count > 0 && !b.hash);
  b.hash = key.hash;
  b.parent_hash = key.parent_hash;
  b.parent_block_id = key.parent_block_id;
  b.token_ids.assign(key.token_ids.begin(), key.token_ids.end());
  b.cache_salt.assign(key.extra.cache_salt);
  b.lora_id = key.extra.lora_id;
  cached_.emplace(key.hash, block_id);
}

int32_t BlockPool::find_cached_block(const CachedBlockKey& key, int32_t required_id) const {
  if (!enable_caching_) return -1;
  auto [first, last] = cached_.equal_range(key.hash);
  for (auto it = first; it != last; ++it) {
    const KVCacheBlock& b = blocks_[static_cast<size_t>(it->second)];
    if (required_id >= 0 && b.block_id != required_id) continue;
    if (b.parent_hash != key.parent_hash) continue;
    // The parent's identity is checked when both sides know it: the hit then provably extends
    // the chain the caller verified so far, whatever the hashes did.
    if (key.parent_block_id > kNullBlockId && b.parent_block_id > kNullBlockId &&
        b.parent_block_id != key.parent_block_id) {
      continue;
    }
    if (b.lora_id != key.extra.lora_id || b.cache_salt != key.extra.cache_salt) continue;
    if (!std::equal(b.token_ids.begin(), b.token_ids.end(), key.token_ids.begin(),
                    key.token_ids.end())) {
      continue;
    }
    return b.block_id;
  }
  return -1;
}

bool BlockPool::reset_prefix_cache() {
  if (num_free_ != num_blocks() - 1) return false;
  for (KVCacheBlock& b : blocks_) evict(b);
  PAGODA_ASSERT(cached_.empty());
  return true;
}

void BlockPool::record_lookup(int64_t queried_tokens, int64_t hit_tokens) {
  ++stats_.requests;
  stats_.queries += queried_tokens;
  stats_.hits += hit_tokens;
}

}  // namespace pagoda
