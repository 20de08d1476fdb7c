// The patterns Hugging Face tokenizers splits and replaces with: a literal string or an Oniguruma
// regular expression, run here through PCRE2 with its JIT compiler. src/core/regex.h has no
// find-all API and no JIT, so the tokenizer keeps its own thin wrapper.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::tok {

// A piece of a string: [start, end) bytes, and whether the pattern matched it.
struct Match {
  size_t start;
  size_t end;
  bool is_match;
};

class Pattern {
 public:
  // `literal`: match `text` byte for byte; else compile it as a regular expression (`source` names
  // the file for errors).
  static Pattern literal(std::string text);
  static Pattern regex(std::string_view pattern, const std::string& source);
  Pattern(Pattern&&) noexcept;
  Pattern& operator=(Pattern&&) noexcept;
  ~Pattern();

  // Splits `s` into consecutive pieces covering all of it, matches and the text between them, in
  // order (tokenizers' Pattern::find_matches; an empty `s` gives one empty non-match).
  void find_matches(std::string_view s, std::vector<Match>& out) const;
  // `s` with every match replaced by `content`.
  std::string replace_all(std::string_view s, std::string_view content) const;

 private:
  Pattern() = default;
  // Leftmost match at or after `from`: returns false when there is none.
  bool find(std::string_view s, size_t from, size_t& start, size_t& end) const;

  struct Compiled;
  std::string literal_;
  std::unique_ptr<Compiled> compiled_;
};

// Oniguruma's Unicode `\s` includes U+0085 and its `\w` includes marks, all numbers and
// connector punctuation; PCRE2's do not. Rewrites those escapes so that PCRE2 matches what
// Oniguruma matches. Exposed for tests.
struct JsonAt;
// A tokenizer.json pattern object: {"String": "..."} or {"Regex": "..."}.
Pattern make_pattern(const JsonAt& at);

std::string oniguruma_to_pcre2(std::string_view pattern);

}  // namespace pagoda::tok
