#define PCRE2_CODE_UNIT_WIDTH 8
#include "tokenizer/pattern.h"

#include <fmt/format.h>
#include <pcre2.h>

#include "pagoda/error.h"
#include "tokenizer/unicode.h"

namespace pagoda::tok {

struct Pattern::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? fmt::format("PCRE2 error {}", code) : std::string(reinterpret_cast<char*>(buffer));
}

// Per-thread match state: match data and a JIT stack large enough for long runs of whitespace
// (patterns like `\s+(?!\S)` recurse per character).
struct MatchState {
  pcre2_match_data* data = pcre2_match_data_create(16, nullptr);
  pcre2_jit_stack* stack = pcre2_jit_stack_create(32 * 1024, 16 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);
  MatchState() { pcre2_jit_stack_assign(context, nullptr, stack); }
  ~MatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(stack);
    pcre2_match_data_free(data);
  }
};

MatchState& match_state() {
  thread_local MatchState state;
  return state;
}

}  // namespace

// Oniguruma's Unicode \w: Letter | Mark | Number | Connector_Punctuation (PCRE2's lacks marks and
// other numbers and connectors).
constexpr const char* kWord = "\\p{L}\\p{M}\\p{N}\\p{Pc}";

std::string oniguruma_to_pcre2(std::string_view p) {
  std::string out;
  out.reserve(p.size() + 16);
  bool in_class = false;
  for (size_t i = 0; i < p.size(); ++i) {
    const char c = p[i];
    if (c == '\\' && i + 1 < p.size()) {
      const char e = p[i + 1];
      ++i;
      if (e == 's') {
        out += in_class ? "\\s\\x{85}" : "[\\s\\x{85}]";
      } else if (e == 'S' && !in_class) {
        out += "[^\\s\\x{85}]";
      } else if (e == 'w') {
        out += in_class ? kWord : std::string("[") + kWord + "]";
      } else if (e == 'W' && !in_class) {
        out += std::string("[^") + kWord + "]";
      } else {
        out += '\\';
        out += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      out += c;
      // A ']' right after '[' or '[^' is a literal.
      if (i + 1 < p.size() && p[i + 1] == '^') out += p[++i];
      if (i + 1 < p.size() && p[i + 1] == ']') out += p[++i];
      continue;
    }
    if (in_class && c == ']') in_class = false;
    out += c;
  }
  return out;
}

Pattern Pattern::literal(std::string text) {
  Pattern p;
  p.literal_ = std::move(text);
  return p;
}

Pattern Pattern::regex(std::string_view pattern, const std::string& source) {
  Pattern p;
  p.compiled_ = std::make_unique<Compiled>();
  const std::string translated = oniguruma_to_pcre2(pattern);
  int error = 0;
  PCRE2_SIZE offset = 0;
  p.compiled_->code =
      pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                    PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  PAGODA_CHECK(p.compiled_->code, InvalidFormat,
               fmt::format("{}: regular expression '{}' is not valid: {} at offset {}", source,
                           pattern, pcre2_message(error), offset),
               "fix the pattern in the tokenizer file (Oniguruma/PCRE syntax)");
  pcre2_jit_compile(p.compiled_->code,
                    PCRE2_JIT_COMPLETE);  // falls back to the interpreter on failure
  return p;
}

Pattern::Pattern(Pattern&&) noexcept = default;
Pattern& Pattern::operator=(Pattern&&) noexcept = default;
Pattern::~Pattern() = default;

bool Pattern::find(std::string_view s, size_t from, size_t& start, size_t& end) const {
  if (!compiled_) {
    if (literal_.empty()) return false;
    const size_t pos = s.find(literal_, from);
    if (pos == std::string_view::npos) return false;
    start = pos;
    end = pos + literal_.size();
    return true;
  }
  MatchState& st = match_state();
  const int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(s.data()), s.size(),
                             from, PCRE2_NO_UTF_CHECK, st.data, st.context);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  PAGODA_CHECK(rc >= 0, InvalidArgument,
               fmt::format("matching tokenizer pattern failed: {}", pcre2_message(rc)),
               "report this input; the pattern may need too much backtracking");
  const PCRE2_SIZE* ov = pcre2_get_ovector_pointer(st.data);
  start = ov[0];
  end = ov[1];
  return true;
}

void Pattern::find_matches(std::string_view s, std::vector<Match>& out) const {
  out.clear();
  if (s.empty()) {
    out.push_back({0, 0, false});
    return;
  }
  size_t prev = 0, from = 0, start = 0, end = 0;
  while (from <= s.size() && find(s, from, start, end)) {
    if (prev != start) out.push_back({prev, start, false});
    out.push_back({start, end, true});
    prev = end;
    // After an empty match, continue one character further (Oniguruma's find_iter does).
    from = end > start ? end
                       : end + (end < s.size() ? utf8_len(static_cast<unsigned char>(s[end])) : 1);
  }
  if (prev != s.size()) out.push_back({prev, s.size(), false});
}

std::string Pattern::replace_all(std::string_view s, std::string_view content) const {
  thread_local std::vector<Match> matches;
  find_matches(s, matches);
  std::string out;
  out.reserve(s.size());
  for (const Match& m : matches) {
    if (m.is_match)
      out.append(content);
    else
      out.append(s.substr(m.start, m.end - m.start));
  }
  return out;
}

}  // namespace pagoda::tok
