// Prefix-cache block hashes: a chain over a request's FULL blocks, so that equal hashes at block i
// mean (up to collisions) equal tokens from the request's first token through block i.
//
//   hash_0 = H(none,     tokens[0, B),   extra keys)
//   hash_i = H(hash_i-1, tokens[iB, iB+B), extra keys)
//
// H is a 64-bit non-cryptographic hash (xxHash64-style rounds with a murmur3 finaliser, see
// block_hash.cpp). 64 bits can collide, so the hash only finds candidates: the block pool stores
// each cached block's tokens, parent block and extra keys and checks them on every lookup, so a
// collision costs a cache miss, never wrong KV. The extra keys go into EVERY block's hash (not only
// the first), so a block is never shared across salts or LoRA adapters even when found mid-chain.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string_view>

namespace pagoda {

using BlockHash = uint64_t;

// What, besides the tokens, decides whether two blocks may share KV.
struct BlockExtraKeys {
  std::string_view cache_salt;     // per-tenant isolation; empty: none
  std::optional<int64_t> lora_id;  // reserved: the engine has no LoRA yet
};

// H above. `parent` is the previous block's hash (none for a request's first block).
BlockHash hash_block_tokens(std::optional<BlockHash> parent, std::span<const int32_t> token_ids,
                            const BlockExtraKeys& extra);

// The hash function the KV-cache manager uses; tests inject one that collides on purpose.
using BlockHashFn =
    std::function<BlockHash(std::optional<BlockHash> parent, std::span<const int32_t> token_ids,
                            const BlockExtraKeys& extra)>;

}  // namespace pagoda
