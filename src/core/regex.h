// Perl-compatible regular expressions (PCRE2, UTF-8, Unicode properties, lookahead), for weight-name
// mapping and tokenizer patterns. std::regex lacks Unicode classes and is slow; PCRE2 is the
// library Hugging Face tokenizers' patterns are written for.
#pragma once

#include <memory>
#include <string>
#include <string_view>

namespace pagoda {

class Regex {
 public:
  // Compiles `pattern`; throws pagoda::Error(InvalidArgument) naming the pattern, PCRE2's message
  // and the offset of the problem.
  explicit Regex(std::string_view pattern);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  const std::string& pattern() const { return pattern_; }
  // Whether the pattern matches anywhere in `subject`.
  bool search(std::string_view subject) const;
  // `subject` with the first match replaced by `replacement`, in which $1, ${name} name groups.
  std::string replace_first(std::string_view subject, std::string_view replacement) const;

 private:
  struct Compiled;
  std::string pattern_;
  std::unique_ptr<Compiled> compiled_;
};

}  // namespace pagoda
