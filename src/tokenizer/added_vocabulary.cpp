#include "tokenizer/added_vocabulary.h"

#include "tokenizer/normalizers.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {

void AddedVocabulary::build(std::vector<AddedToken> tokens, const Normalizer* normalizer) {
  tokens_ = std::move(tokens);
  for (size_t i = 0; i < tokens_.size(); ++i) {
    AddedToken& t = tokens_[i];
    t.decode_text = t.content;
    by_id_[t.id] = i;
    by_content_.emplace(t.content, i);
    if (t.content.empty()) continue;
    if (t.normalized) {
      std::string pattern = t.content;
      if (normalizer) normalizer->normalize(pattern);
      t.decode_text = pattern;
      if (pattern.empty()) continue;
      normalized_trie_.insert(pattern, static_cast<int32_t>(i));
      has_normalized_ = true;
    } else {
      raw_trie_.insert(t.content, static_cast<int32_t>(i));
      has_raw_ = true;
    }
  }
}

const AddedToken* AddedVocabulary::by_content(std::string_view content) const {
  auto it = by_content_.find(std::string(content));
  return it == by_content_.end() ? nullptr : &tokens_[it->second];
}

namespace {

// Rust regex `\w$` / `^\w` and the whitespace runs lstrip/rstrip absorb.
bool ends_with_word(std::string_view s) {
  return !s.empty() && is_word_char(last_code_point(s));
}
bool starts_with_word(std::string_view s) {
  size_t i = 0;
  return !s.empty() && is_word_char(next_code_point(s, i));
}
size_t trailing_space_start(std::string_view s) {
  size_t end = s.size();
  while (end > 0) {
    size_t start = 0;
    if (!is_whitespace(last_code_point(s.substr(0, end), &start))) break;
    end = start;
  }
  return end;
}
size_t leading_space_length(std::string_view s) {
  size_t i = 0;
  while (i < s.size()) {
    size_t j = i;
    if (!is_whitespace(next_code_point(s, j))) break;
    i = j;
  }
  return i;
}

}  // namespace

void AddedVocabulary::split(std::string_view text, bool normalized_set,
                            std::vector<Segment>& out) const {
  const ByteTrie& trie = normalized_set ? normalized_trie_ : raw_trie_;
  const bool any = normalized_set ? has_normalized_ : has_raw_;
  size_t start_offset = 0;
  if (any) {
    size_t pos = 0;
    while (pos < text.size()) {
      if (!trie.starts_with(static_cast<unsigned char>(text[pos]))) {
        ++pos;
        continue;
      }
      int32_t index = -1;
      const size_t len = trie.longest_prefix(text.substr(pos), index);
      if (len == 0) {
        ++pos;
        continue;
      }
      const AddedToken& tok = tokens_[static_cast<size_t>(index)];
      size_t start = pos, stop = pos + len;
      pos = stop;  // matches never overlap, even a discarded one
      if (tok.single_word) {
        const bool start_space = start == 0 || !ends_with_word(text.substr(0, start));
        const bool stop_space = stop == text.size() || !starts_with_word(text.substr(stop));
        if (!start_space || !stop_space) continue;
      }
      if (tok.lstrip) start = std::max(trailing_space_start(text.substr(0, start)), start_offset);
      if (tok.rstrip) stop += leading_space_length(text.substr(stop));
      if (start_offset < start) out.push_back({start_offset, start, -1});
      out.push_back({start, stop, tok.id});
      start_offset = stop;
      pos = std::max(pos, stop);
    }
  }
  if (start_offset < text.size()) out.push_back({start_offset, text.size(), -1});
}

}  // namespace pagoda::tok
