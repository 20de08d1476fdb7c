// Added tokens (tokenizers/src/tokenizer/added_vocabulary.rs): tokens matched in the raw text (or,
// for normalized=true ones, in the normalized text) before the model sees it, leftmost-longest,
// with single_word / lstrip / rstrip rules.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "tokenizer/byte_trie.h"

namespace pagoda::tok {

class Normalizer;

struct AddedToken {
  std::string content;
  int32_t id = 0;
  bool special = false;
  bool single_word = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = true;
  // What decode() shows: the normalized content for normalized tokens (tokenizers 0.23 decodes
  // through its normalized_cache), else `content`.
  std::string decode_text;
};

// A part of a text: [start, end) and the added token it is, or -1 for text the model tokenizes.
struct Segment {
  size_t start;
  size_t end;
  int32_t id;
};

class AddedVocabulary {
 public:
  // `normalizer` (may be null) normalizes the contents of normalized=true tokens.
  void build(std::vector<AddedToken> tokens, const Normalizer* normalizer);

  // Splits `text` on the tokens with normalized == `normalized_set`; empty parts are dropped.
  void split(std::string_view text, bool normalized_set, std::vector<Segment>& out) const;

  const std::vector<AddedToken>& tokens() const { return tokens_; }
  const AddedToken* by_id(int32_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : &tokens_[it->second];
  }
  const AddedToken* by_content(std::string_view content) const;

 private:
  std::vector<AddedToken> tokens_;
  std::unordered_map<int32_t, size_t> by_id_;
  std::unordered_map<std::string, size_t> by_content_;
  ByteTrie raw_trie_, normalized_trie_;  // values index tokens_
  bool has_raw_ = false, has_normalized_ = false;
};

}  // namespace pagoda::tok
