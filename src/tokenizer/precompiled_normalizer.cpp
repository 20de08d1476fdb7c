// SentencePiece's precompiled_charsmap, interpreted as the spm_precompiled crate (used by
// tokenizers' Precompiled normalizer) does: [u32 trie size in bytes][trie units][NUL-separated
// replacement strings]. Each grapheme shorter than 6 bytes is looked up whole; otherwise, or when
// that fails, each code point is looked up on its own. A lookup takes the SHORTEST trie key that
// prefixes the chunk (common_prefix_search()[0]), quirks included, because models were tested
// against exactly that.
#include <fmt/format.h>

#include <cstring>
#include <vector>

#include "pagoda/error.h"
#include "tokenizer/normalizers.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {

std::string base64_decode(std::string_view in, const std::string& where) {
  auto value = [](char c) -> int {
    if (c >= 'A' && c <= 'Z') return c - 'A';
    if (c >= 'a' && c <= 'z') return c - 'a' + 26;
    if (c >= '0' && c <= '9') return c - '0' + 52;
    if (c == '+') return 62;
    if (c == '/') return 63;
    return -1;
  };
  std::string out;
  out.reserve(in.size() * 3 / 4);
  uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    if (c == '=') break;
    const int v = value(c);
    PAGODA_CHECK(v >= 0, InvalidFormat,
                 fmt::format("{} is not valid base64 (character '{}')", where, c),
                 "re-save the tokenizer file; the precompiled_charsmap is corrupt");
    acc = (acc << 6) | static_cast<uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<char>((acc >> bits) & 0xFF));
    }
  }
  return out;
}

namespace {

class PrecompiledNormalizer final : public Normalizer {
 public:
  PrecompiledNormalizer(std::string charsmap, const std::string& source) {
    auto bad = [&](std::string_view what) {
      throw_error(ErrorCode::InvalidFormat,
                  fmt::format("{}: normalizer.precompiled_charsmap is malformed: {}", source, what),
                  "re-save the tokenizer with Hugging Face tokenizers");
    };
    if (charsmap.empty()) return;  // an empty map normalizes nothing
    if (charsmap.size() < 4) bad("shorter than its 4-byte header");
    uint32_t trie_bytes = 0;
    for (int k = 3; k >= 0; --k)
      trie_bytes = (trie_bytes << 8) | static_cast<unsigned char>(charsmap[k]);
    if (trie_bytes / 4 > (charsmap.size() - 4) / 4) bad("its trie is longer than the data");
    trie_.resize(trie_bytes / 4);
    for (size_t i = 0; i < trie_.size(); ++i) {
      uint32_t u = 0;
      for (int k = 3; k >= 0; --k)
        u = (u << 8) | static_cast<unsigned char>(charsmap[4 + 4 * i + k]);
      trie_[i] = u;
    }
    normalized_ = charsmap.substr(4 + trie_.size() * 4);
    if (!is_valid_utf8(normalized_)) bad("its replacement strings are not valid UTF-8");
  }

  void normalize(std::string& s) const override {
    if (trie_.empty() || s.empty()) return;
    std::string out;
    out.reserve(s.size());
    bool modified = false;
    const std::vector<size_t> bounds = grapheme_boundaries(s);
    for (size_t g = 0; g + 1 < bounds.size(); ++g) {
      const std::string_view grapheme(s.data() + bounds[g], bounds[g + 1] - bounds[g]);
      std::string_view rep;
      if (grapheme.size() < 6 && transform(grapheme, rep)) {
        out.append(rep);
        modified = true;
        continue;
      }
      size_t i = 0;
      while (i < grapheme.size()) {
        const size_t start = i;
        next_code_point(grapheme, i);
        const std::string_view part = grapheme.substr(start, i - start);
        if (transform(part, rep)) {
          out.append(rep);
          modified = true;
        } else {
          out.append(part);
        }
      }
    }
    if (modified) s = std::move(out);
  }

 private:
  static bool has_leaf(uint32_t u) { return (u >> 8) & 1; }
  static uint32_t value(uint32_t u) { return u & ((1u << 31) - 1); }
  static uint32_t label(uint32_t u) { return u & ((1u << 31) | 0xFF); }
  static size_t offset(uint32_t u) {
    return static_cast<size_t>(u >> 10) << ((u & (1u << 9)) >> 6);
  }

  // The replacement for the shortest key that prefixes `chunk`.
  bool transform(std::string_view chunk, std::string_view& rep) const {
    size_t pos = 0;
    pos ^= offset(trie_[0]);
    for (char ch : chunk) {
      const auto c = static_cast<unsigned char>(ch);
      if (c == 0) break;
      pos ^= c;
      if (pos >= trie_.size()) return false;
      const uint32_t unit = trie_[pos];
      if (label(unit) != c) return false;
      pos ^= offset(unit);
      if (pos >= trie_.size()) return false;
      if (has_leaf(unit)) {
        const size_t index = value(trie_[pos]);
        if (index > normalized_.size()) return false;
        const size_t end = normalized_.find('\0', index);
        rep = std::string_view(normalized_)
                  .substr(index, (end == std::string::npos ? normalized_.size() : end) - index);
        return true;
      }
    }
    return false;
  }

  std::vector<uint32_t> trie_;
  std::string normalized_;
};

}  // namespace

std::unique_ptr<Normalizer> make_precompiled_normalizer(std::string charsmap,
                                                        const std::string& source) {
  return std::make_unique<PrecompiledNormalizer>(std::move(charsmap), source);
}

}  // namespace pagoda::tok
