#include "engine/kv_cache_manager.h"

#include <algorithm>
#include <string>

#include "pagoda/error.h"

namespace pagoda {
namespace {

// Token counts beyond this are a caller's bug (and would overflow block arithmetic).
constexpr int64_t kMaxTokens = int64_t{1} << 48;

int64_t checked_block_size(const KVCacheConfig& config) {
  PAGODA_CHECK(config.block_size > 0 && config.block_size <= (int64_t{1} << 20), InvalidConfig,
               "KV-cache block_size is " + std::to_string(config.block_size) +
                   "; it must be between 1 and 2^20 tokens",
               "set block_size to a positive number of tokens per block (16 is usual)");
  PAGODA_CHECK(!config.sliding_window || *config.sliding_window > 0, InvalidConfig,
               "KV-cache sliding_window is " + std::to_string(config.sliding_window.value_or(0)) +
                   "; a window must hold at least 1 token",
               "leave sliding_window unset for full attention, or set the model's window size");
  return config.block_size;
}

int64_t ceil_div(int64_t a, int64_t b) {
  return (a + b - 1) / b;
}

}  // namespace

KVCacheManager::KVCacheManager(const KVCacheConfig& config, BlockHashFn hash_fn)
    : block_size_(checked_block_size(config)),
      sliding_window_(config.sliding_window),
      hash_fn_(hash_fn ? std::move(hash_fn) : BlockHashFn(hash_block_tokens)),
      pool_(config.num_blocks, config.enable_prefix_caching) {}

int64_t KVCacheManager::blocks_for_tokens(int64_t tokens) const {
  PAGODA_CHECK(tokens >= 0 && tokens <= kMaxTokens, InvalidArgument,
               "blocks_for_tokens got " + std::to_string(tokens) + " tokens",
               "pass a token count between 0 and 2^48");
  return ceil_div(tokens, block_size_);
}

KVCacheManager::RequestState* KVCacheManager::find_request(std::string_view request_id) {
  auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : &it->second;
}

const KVCacheManager::RequestState* KVCacheManager::find_request(
    std::string_view request_id) const {
  auto it = requests_.find(request_id);
  return it == requests_.end() ? nullptr : &it->second;
}

std::span<const int32_t> KVCacheManager::block_ids(std::string_view request_id) const {
  const RequestState* state = find_request(request_id);
  if (state == nullptr) return {};
  return state->blocks;
}

void KVCacheManager::hash_blocks(const KVRequest& request, int64_t n,
                                 std::vector<BlockHash>& hashes) const {
  PAGODA_ASSERT(n * block_size_ <= static_cast<int64_t>(request.token_ids.size()));
  const BlockExtraKeys extra{request.cache_salt, request.lora_id};
  for (int64_t i = static_cast<int64_t>(hashes.size()); i < n; ++i) {
    std::optional<BlockHash> parent;
    if (i > 0) parent = hashes[static_cast<size_t>(i - 1)];
    hashes.push_back(hash_fn_(
        parent, request.token_ids.subspan(static_cast<size_t>(i * block_size_), block_size_),
        extra));
  }
}

CachedBlockKey KVCacheManager::block_key(const KVRequest& request,
                                         std::span<const BlockHash> hashes, int64_t index,
                                         int32_t parent_block_id) const {
  CachedBlockKey key;
  key.hash = hashes[static_cast<size_t>(index)];
  if (index > 0) key.parent_hash = hashes[static_cast<size_t>(index - 1)];
  key.parent_block_id = index == 0 ? kNoParentBlock : parent_block_id;
  key.token_ids = request.token_ids.subspan(static_cast<size_t>(index * block_size_), block_size_);
  key.extra = BlockExtraKeys{request.cache_salt, request.lora_id};
  return key;
}

PrefixCacheHit KVCacheManager::find_cached_prefix(const KVRequest& request) {
  PrefixCacheHit hit;
  if (!pool_.caching_enabled() || request.skip_prefix_cache) return hit;
  const int64_t num_tokens = static_cast<int64_t>(request.token_ids.size());
  // At most num_tokens - 1 tokens: the last one must be computed to produce logits.
  const int64_t max_blocks = num_tokens > 0 ? (num_tokens - 1) / block_size_ : 0;
  hit.block_ids = sliding_window_ ? find_sliding_window_hit(request, max_blocks)
                                  : find_full_attention_hit(request, max_blocks);
  hit.num_tokens = static_cast<int64_t>(hit.block_ids.size()) * block_size_;
  pool_.record_lookup(num_tokens, hit.num_tokens);
  return hit;
}

std::vector<int32_t> KVCacheManager::find_full_attention_hit(const KVRequest& request,
                                                             int64_t max_blocks) {
  std::vector<int32_t> hit;
  scratch_hashes_.clear();
  for (int64_t i = 0; i < max_blocks; ++i) {
    // The chain: a block is useful only if every block before it is, so the first miss ends it.
    hash_blocks(request, i + 1, scratch_hashes_);
    const int32_t parent = hit.empty() ? kNoParentBlock : hit.back();
    const int32_t id = pool_.find_cached_block(block_key(request, scratch_hashes_, i, parent));
    if (id < 0) break;
    hit.push_back(id);
  }
  return hit;
}

std::vector<int32_t> KVCacheManager::find_sliding_window_hit(const KVRequest& request,
                                                             int64_t max_blocks) {
  // The next token attends to the window - 1 tokens before it, so a hit needs that many tokens'
  // blocks cached back to back at its end; blocks before them can be null. Search from the right
  // and stop at the first run that is long enough (or that reaches the first block). A window
  // of 1 would need no block at all; one real block is still required, to keep hits meaningful.
  const int64_t needed = std::max<int64_t>(1, ceil_div(*sliding_window_ - 1, block_size_));
  scratch_hashes_.clear();
  hash_blocks(request, max_blocks, scratch_hashes_);
  std::vector<int32_t> hit(static_cast<size_t>(max_blocks), kNullBlockId);
  int64_t run = 0;
  int32_t run_parent = -1;  // the block the run's leftmost block was cached after, when known
  for (int64_t i = max_blocks - 1; i >= 0; --i) {
    // The parent of block i is unknown while scanning leftwards; the run is instead verified by
    // requiring block i to be the one its right neighbour was cached after.
    const CachedBlockKey key = block_key(request, scratch_hashes_, i, kNullBlockId);
    int32_t id = -1;
    if (run > 0) {
      id = pool_.find_cached_block(key, run_parent);
      if (id < 0) run = 0;
    }
    if (run == 0) id = pool_.find_cached_block(key);
    if (id < 0) continue;
    hit[static_cast<size_t>(i)] = id;
    ++run;
    const int32_t parent = pool_.block(id).parent_block_id;
    run_parent = parent > kNullBlockId ? parent : -1;
    if (run >= needed) {
      hit.resize(static_cast<size_t>(i + run));
      return hit;
    }
  }
  // No run long enough: only a run that starts at the first block is still a hit.
  hit.resize(static_cast<size_t>(run));
  return hit;
}

void KVCacheManager::check_hit(const KVRequest& request, const RequestState* state,
                               const PrefixCacheHit& hit) {
  const std::string_view id = request.request_id;  // for messages; built only on failure
  const int64_t n = static_cast<int64_t>(hit.block_ids.size());
  PAGODA_CHECK(hit.num_tokens == n * block_size_, InvalidArgument,
               "the prefix-cache hit for request '" + std::string(id) + "' has " +
                   std::to_string(n) + " blocks but num_tokens " + std::to_string(hit.num_tokens) +
                   " (block size " + std::to_string(block_size_) + ")",
               "pass the PrefixCacheHit that find_cached_prefix returned, unchanged");
  if (n == 0) return;
  PAGODA_CHECK(request.num_computed_tokens == 0 && (state == nullptr || state->blocks.empty()),
               InvalidArgument,
               "allocate_slots got a prefix-cache hit for request '" + std::string(id) +
                   "', which already has " + std::to_string(request.num_computed_tokens) +
                   " computed tokens or allocated blocks",
               "pass a hit only on a request's first allocate_slots (num_computed_tokens == 0)");
  PAGODA_CHECK(hit.num_tokens < static_cast<int64_t>(request.token_ids.size()), InvalidArgument,
               "the prefix-cache hit for request '" + std::string(id) + "' covers " +
                   std::to_string(hit.num_tokens) + " of its " +
                   std::to_string(request.token_ids.size()) + " tokens",
               "a hit must leave at least one token to compute; use find_cached_prefix's hit");
  // The hit must still be what the cache holds: verified like a lookup, block by block.
  scratch_hashes_.clear();
  hash_blocks(request, n, scratch_hashes_);
  for (int64_t i = 0; i < n; ++i) {
    const int32_t block = hit.block_ids[static_cast<size_t>(i)];
    bool valid = block > kNullBlockId && block < pool_.num_blocks();
    if (valid) {
      const int32_t parent = i == 0 ? kNoParentBlock : hit.block_ids[static_cast<size_t>(i - 1)];
      valid =
          pool_.find_cached_block(block_key(request, scratch_hashes_, i, parent), block) == block;
    } else {
      valid = block == kNullBlockId && sliding_window_.has_value();
    }
    PAGODA_CHECK(valid, InvalidArgument,
                 "entry " + std::to_string(i) + " (block " + std::to_string(block) +
                     ") of the prefix-cache hit for request '" + std::string(id) +
                     "' is not a cached block holding those tokens",
                 "call allocate_slots with the hit right after find_cached_prefix for the same "
                 "request, with no other allocation in between (allocation evicts blocks)");
  }
}

bool KVCacheManager::allocate_slots(const KVRequest& request, int64_t num_new_tokens,
                                    const PrefixCacheHit& hit) {
  const std::string_view id = request.request_id;
  PAGODA_CHECK(num_new_tokens >= 0 && num_new_tokens <= kMaxTokens &&
                   request.num_computed_tokens >= 0 && request.num_computed_tokens <= kMaxTokens,
               InvalidArgument,
               "allocate_slots for request '" + std::string(id) + "' got num_new_tokens " +
                   std::to_string(num_new_tokens) + " and num_computed_tokens " +
                   std::to_string(request.num_computed_tokens),
               "pass token counts between 0 and 2^48");
  RequestState* state = find_request(id);
  const int64_t num_held = state ? static_cast<int64_t>(state->blocks.size()) : 0;
  PAGODA_CHECK(request.num_computed_tokens <= num_held * block_size_, InvalidArgument,
               "request '" + std::string(id) + "' claims " +
                   std::to_string(request.num_computed_tokens) + " computed tokens but holds " +
                   std::to_string(num_held) + " blocks of " + std::to_string(block_size_),
               "a request unknown to the KV-cache manager (new, or freed after preemption) starts "
               "from num_computed_tokens == 0");
  check_hit(request, state, hit);

  const int64_t num_hit = static_cast<int64_t>(hit.block_ids.size());
  const int64_t total_tokens = request.num_computed_tokens + hit.num_tokens + num_new_tokens;
  const int64_t num_new_blocks =
      std::max<int64_t>(0, ceil_div(total_tokens, block_size_) - num_held - num_hit);
  // Hit blocks nobody holds sit in the free queue: taking them uses up free blocks too.
  int64_t num_free_hits = 0;
  for (int32_t block : hit.block_ids) {
    if (block != kNullBlockId && pool_.block(block).ref_count == 0) ++num_free_hits;
  }
  if (num_new_blocks + num_free_hits > pool_.num_free_blocks()) return false;

  if (state == nullptr) state = &requests_.try_emplace(std::string(id)).first->second;
  if (num_hit > 0) {
    // The request holds no block yet (check_hit), and check_hit left the hit's hashes in
    // scratch_hashes_: the hit blocks are already cached, the chain goes on from them.
    state->block_hashes.assign(scratch_hashes_.begin(), scratch_hashes_.end());
    state->num_cached_blocks = num_hit;
  }
  pool_.touch(hit.block_ids);
  state->blocks.insert(state->blocks.end(), hit.block_ids.begin(), hit.block_ids.end());
  pool_.allocate(num_new_blocks, state->blocks);
  if (pool_.caching_enabled()) {
    cache_full_blocks(request, *state, std::min<int64_t>(total_tokens, request.token_ids.size()));
  }
  return true;
}

void KVCacheManager::cache_full_blocks(const KVRequest& request, RequestState& state,
                                       int64_t num_tokens) {
  const int64_t num_full =
      std::min<int64_t>(num_tokens / block_size_, static_cast<int64_t>(state.blocks.size()));
  if (num_full <= state.num_cached_blocks) return;
  hash_blocks(request, num_full, state.block_hashes);
  for (int64_t i = state.num_cached_blocks; i < num_full; ++i) {
    const int32_t block = state.blocks[static_cast<size_t>(i)];
    // Skipped blocks hold no KV; a block is registered once (immutable from then on).
    if (block == kNullBlockId || pool_.block(block).hash) continue;
    const int32_t parent = i == 0 ? kNoParentBlock : state.blocks[static_cast<size_t>(i - 1)];
    pool_.cache_block(block, block_key(request, state.block_hashes, i, parent));
  }
  state.num_cached_blocks = num_full;
}

void KVCacheManager::free(std::string_view request_id) {
  auto it = requests_.find(request_id);
  if (it == requests_.end()) return;
  std::vector<int32_t>& blocks = it->second.blocks;
  // The tail first: the free queue evicts from its head, so a request's last blocks go before its
  // first ones, which other requests are likelier to share.
  std::reverse(blocks.begin(), blocks.end());
  pool_.release(blocks);
  requests_.erase(it);
}

void KVCacheManager::remove_skipped_blocks(std::string_view request_id,
                                           int64_t num_computed_tokens) {
  if (!sliding_window_) return;
  RequestState* state = find_request(request_id);
  if (state == nullptr) return;
  // Position p attends to [p - window + 1, p]; the next token is at num_computed_tokens.
  const int64_t first_needed_token = num_computed_tokens - *sliding_window_ + 1;
  if (first_needed_token <= 0) return;
  const int64_t num_skipped = std::min<int64_t>(first_needed_token / block_size_,
                                                static_cast<int64_t>(state->blocks.size()));
  // From the last skipped block down to the first one already null (earlier calls nulled all
  // before it), so the tail of the skipped range is evicted first, as in free().
  for (int64_t i = num_skipped - 1; i >= 0; --i) {
    int32_t& block = state->blocks[static_cast<size_t>(i)];
    if (block == kNullBlockId) break;
    pool_.release({&block, 1});
    block = kNullBlockId;
  }
}

}  // namespace pagoda
