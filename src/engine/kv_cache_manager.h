// The KV-cache manager: which blocks each request holds (its block-table row), prefix-cache hits,
// and all-or-nothing allocation for the scheduler. vLLM v1's KVCacheManager for one KV-cache group
// (all layers full attention, or all layers sliding with one window).
//
// A step of the scheduler, per request:
//   remove_skipped_blocks(id, num_computed)          // sliding window only; a no-op otherwise
//   hit = find_cached_prefix(req)                    // a new request only
//   if (!allocate_slots(req, num_new_tokens, hit))   // nothing changed: preempt someone or wait
//   ... run the model; num_computed += num_new_tokens ...
//   free(id)                                         // finished, aborted or preempted
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "engine/block_hash.h"
#include "engine/block_pool.h"

namespace pagoda {

struct KVCacheConfig {
  int64_t num_blocks;  // counts the reserved null block
  int64_t block_size = 16;
  bool enable_prefix_caching = true;
  std::optional<int64_t> sliding_window = std::nullopt;  // set only when EVERY layer slides
};

// The manager's view of a request, filled by the scheduler on each call.
struct KVRequest {
  std::string_view request_id;
  std::span<const int32_t> token_ids;   // all known tokens: prompt + generated so far
  int64_t num_computed_tokens = 0;      // tokens whose KV is already in its blocks
  std::string_view cache_salt = {};     // extra key (empty: none)
  std::optional<int64_t> lora_id = {};  // extra key (reserved)
  bool skip_prefix_cache = false;       // reads no hit (e.g. wants prompt logprobs); still caches
};

// Blocks already holding the KV of a request's first num_tokens tokens. With a sliding window,
// leading entries may be the null block (tokens out of the window need no KV).
struct PrefixCacheHit {
  std::vector<int32_t> block_ids;
  int64_t num_tokens = 0;
};

// Not thread-safe (the scheduler's thread owns it), not copyable or movable (the pool's free
// queue links point into it): hold it by value in the scheduler or by unique_ptr.
class KVCacheManager {
 public:
  // hash_fn: the block hash (hash_block_tokens when empty); tests inject colliding ones.
  explicit KVCacheManager(const KVCacheConfig& config, BlockHashFn hash_fn = {});

  // Longest run of the request's full blocks already cached, from its first token; never all of
  // its tokens (at least one must be computed, so it yields logits: with every block cached, the
  // last block is dropped from the hit). Takes no references. Empty when caching is off or the
  // request skips the prefix cache. Counts a lookup in stats().
  PrefixCacheHit find_cached_prefix(const KVRequest& request);

  // Makes the request able to hold num_computed_tokens + hit.num_tokens + num_new_tokens tokens:
  // first takes references to the hit blocks (only on the first call of a request, when
  // num_computed_tokens == 0), then allocates new blocks. All-or-nothing: returns false and
  // changes nothing when the free blocks (counting evictable cached ones, and the hit blocks that
  // are themselves free) are too few. With caching on, registers in the cache every block that
  // becomes full of known tokens (token_ids covers them) after this step. The hit must come from
  // find_cached_prefix for this request with no allocation in between.
  bool allocate_slots(const KVRequest& request, int64_t num_new_tokens,
                      const PrefixCacheHit& hit = {});

  // Releases all the request's blocks (those no other request holds join the free queue, the
  // request's LAST block first, so that a request's tail is evicted before its head) and forgets
  // the request. Unknown ids are a no-op.
  void free(std::string_view request_id);

  // With a sliding window: replaces by the null block (and releases) the blocks wholly before
  // position num_computed_tokens - window + 1, which no future token attends to. Call once per
  // step per request, before allocate_slots. No-op without a window or for an unknown request.
  void remove_skipped_blocks(std::string_view request_id, int64_t num_computed_tokens);

  // The request's block-table row (empty for an unknown request). Valid until the next call that
  // changes this request.
  std::span<const int32_t> block_ids(std::string_view request_id) const;

  int64_t num_free_blocks() const { return pool_.num_free_blocks(); }
  int64_t num_blocks() const { return pool_.num_blocks(); }  // counts the null block
  int64_t block_size() const { return block_size_; }
  std::optional<int64_t> sliding_window() const { return sliding_window_; }
  bool prefix_caching_enabled() const { return pool_.caching_enabled(); }
  double usage() const { return pool_.usage(); }
  // Tokens needed -> blocks needed, for admission checks.
  int64_t blocks_for_tokens(int64_t tokens) const;
  int64_t num_requests() const { return static_cast<int64_t>(requests_.size()); }

  // Prefix-cache lookups since construction or reset_stats(), in tokens.
  PrefixCacheStats stats() const { return pool_.stats(); }
  void reset_stats() { pool_.reset_stats(); }
  // Forgets every cached block; only when no request holds a block (returns false otherwise).
  bool reset_prefix_cache() { return pool_.reset_prefix_cache(); }

  const BlockPool& pool() const { return pool_; }

 private:
  struct RequestState {
    std::vector<int32_t> blocks;  // the block-table row; kNullBlockId where skipped
    // Hash chain of the full blocks of known tokens, computed as tokens arrive.
    std::vector<BlockHash> block_hashes;
    // Blocks [0, num_cached_blocks) are registered (or were hits, or were skipped).
    int64_t num_cached_blocks = 0;
  };
  // Heterogeneous lookup: find by string_view without building a std::string.
  struct IdHash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };

  RequestState* find_request(std::string_view request_id);
  const RequestState* find_request(std::string_view request_id) const;
  // Extends `hashes` to the first n full blocks of `request` (n * block_size <= token count).
  void hash_blocks(const KVRequest& request, int64_t n, std::vector<BlockHash>& hashes) const;
  CachedBlockKey block_key(const KVRequest& request, std::span<const BlockHash> hashes,
                           int64_t index, int32_t parent_block_id) const;
  std::vector<int32_t> find_full_attention_hit(const KVRequest& request, int64_t max_blocks);
  std::vector<int32_t> find_sliding_window_hit(const KVRequest& request, int64_t max_blocks);
  void check_hit(const KVRequest& request, const RequestState* state, const PrefixCacheHit& hit);
  void cache_full_blocks(const KVRequest& request, RequestState& state, int64_t num_tokens);

  int64_t block_size_;
  std::optional<int64_t> sliding_window_;
  BlockHashFn hash_fn_;
  BlockPool pool_;
  std::unordered_map<std::string, RequestState, IdHash, std::equal_to<>> requests_;
  std::vector<BlockHash> scratch_hashes_;  // find_cached_prefix's chain, reused across calls
};

}  // namespace pagoda
