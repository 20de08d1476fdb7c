#include "engine/block_hash.h"

#include <bit>
#include <cstring>

namespace pagoda {
namespace {

// xxHash64's primes: odd, with well-spread bits.
constexpr uint64_t kPrime1 = 0x9E3779B185EBCA87ull;
constexpr uint64_t kPrime2 = 0xC2B2AE3D27D4EB4Full;
constexpr uint64_t kPrime3 = 0x165667B19E3779F9ull;

// Absorbs 64-bit words with xxHash64-style rounds (multiply, rotate, multiply): every input bit
// reaches many state bits, at a few cycles per word (two tokens), so hashing stays negligible
// next to the model's work on the same tokens.
class Hasher {
 public:
  explicit Hasher(uint64_t seed) : state_(seed ^ kPrime3) {}

  void add(uint64_t word) {
    state_ ^= std::rotl(word * kPrime2, 31) * kPrime1;
    state_ = std::rotl(state_, 27) * kPrime1 + kPrime3;
    ++words_;
  }

  void add_bytes(std::string_view bytes) {
    add(bytes.size());  // the length first, so "ab"+"" and "a"+"b" cannot absorb alike
    size_t i = 0;
    for (; i + 8 <= bytes.size(); i += 8) {
      uint64_t word;
      std::memcpy(&word, bytes.data() + i, 8);
      add(word);
    }
    if (i < bytes.size()) {
      uint64_t word = 0;
      std::memcpy(&word, bytes.data() + i, bytes.size() - i);
      add(word);
    }
  }

  // murmur3's fmix64: makes every output bit depend on every state bit.
  uint64_t finish() const {
    uint64_t h = state_ ^ (words_ * kPrime2);
    h ^= h >> 33;
    h *= 0xFF51AFD7ED558CCDull;
    h ^= h >> 33;
    h *= 0xC4CEB9FE1A85EC53ull;
    h ^= h >> 33;
    return h;
  }

 private:
  uint64_t state_;
  uint64_t words_ = 0;
};

}  // namespace

BlockHash hash_block_tokens(std::optional<BlockHash> parent, std::span<const int32_t> token_ids,
                            const BlockExtraKeys& extra) {
  Hasher h(0x5041474F4441ull);  // "PAGODA"
  // Presence flags keep "no parent" distinct from a parent whose hash happens to be 0, and the
  // token count keeps blocks of different lengths apart.
  h.add(parent.has_value());
  h.add(parent.value_or(0));
  h.add(token_ids.size());
  size_t i = 0;
  for (; i + 2 <= token_ids.size(); i += 2) {
    h.add(static_cast<uint64_t>(static_cast<uint32_t>(token_ids[i])) |
          (static_cast<uint64_t>(static_cast<uint32_t>(token_ids[i + 1])) << 32));
  }
  if (i < token_ids.size()) h.add(static_cast<uint32_t>(token_ids[i]));
  h.add_bytes(extra.cache_salt);
  h.add(extra.lora_id.has_value());
  h.add(static_cast<uint64_t>(extra.lora_id.value_or(0)));
  return h.finish();
}

}  // namespace pagoda
