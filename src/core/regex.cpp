#define PCRE2_CODE_UNIT_WIDTH 8
#include "core/regex.h"

#include <fmt/format.h>
#include <pcre2.h>

#include <vector>

#include "pagoda/error.h"

namespace pagoda {
namespace {

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  const int n = pcre2_get_error_message(code, buffer, sizeof(buffer));
  return n < 0 ? fmt::format("PCRE2 error {}", code) : std::string(reinterpret_cast<char*>(buffer));
}

}  // namespace

struct Regex::Compiled {
  pcre2_code* code = nullptr;
  ~Compiled() { pcre2_code_free(code); }
};

Regex::Regex(std::string_view pattern) : pattern_(pattern), compiled_(std::make_unique<Compiled>()) {
  int error = 0;
  PCRE2_SIZE offset = 0;
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                  PCRE2_UTF | PCRE2_UCP, &error, &offset, nullptr);
  if (!compiled_->code)
    throw_error(ErrorCode::InvalidArgument,
                fmt::format("regular expression '{}' is not valid: {} at offset {}", pattern_,
                            pcre2_message(error), offset),
                "write the pattern in Perl/PCRE2 syntax");
}

Regex::~Regex() = default;
Regex::Regex(Regex&&) noexcept = default;
Regex& Regex::operator=(Regex&&) noexcept = default;

bool Regex::search(std::string_view subject) const {
  pcre2_match_data* data = pcre2_match_data_create_from_pattern(compiled_->code, nullptr);
  const int rc = pcre2_match(compiled_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0, 0,
                             data, nullptr);
  pcre2_match_data_free(data);
  if (rc == PCRE2_ERROR_NOMATCH) return false;
  PAGODA_CHECK(rc >= 0, InvalidArgument,
               fmt::format("matching '{}' against '{}' failed: {}", pattern_, subject, pcre2_message(rc)),
               "check that the text is valid UTF-8");
  return true;
}

std::string Regex::replace_first(std::string_view subject, std::string_view replacement) const {
  std::vector<PCRE2_UCHAR> out(subject.size() + replacement.size() + 64);
  for (int attempt = 0; attempt < 2; ++attempt) {
    PCRE2_SIZE length = out.size();
    const int rc = pcre2_substitute(
        compiled_->code, reinterpret_cast<PCRE2_SPTR>(subject.data()), subject.size(), 0,
        PCRE2_SUBSTITUTE_OVERFLOW_LENGTH, nullptr, nullptr, reinterpret_cast<PCRE2_SPTR>(replacement.data()),
        replacement.size(), out.data(), &length);
    if (rc == PCRE2_ERROR_NOMEMORY) {
      out.resize(length);  // PCRE2 reported the length it needs
      continue;
    }
    PAGODA_CHECK(rc >= 0, InvalidArgument,
                 fmt::format("replacing '{}' with '{}' in '{}' failed: {}", pattern_, replacement, subject,
                             pcre2_message(rc)),
                 "check the replacement's group references ($1, ${name})");
    return std::string(reinterpret_cast<char*>(out.data()), length);
  }
  PAGODA_ASSERT(false);
}

}  // namespace pagoda
