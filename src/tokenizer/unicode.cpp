#include "tokenizer/unicode.h"

#include <fmt/format.h>
#include <unicode/ubrk.h>
#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>
#include <unicode/utext.h>

#include <memory>

#include "pagoda/error.h"

namespace pagoda::tok {

constexpr int kOldTablesUnicodeMajor = 10;  // the crate knows Unicode 9.0

char32_t next_code_point(std::string_view s, size_t& i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  const size_t n = utf8_len(b0);
  if (n == 1 || i + n > s.size()) {
    ++i;
    return b0;
  }
  char32_t c = b0 & (0x7F >> n);
  for (size_t k = 1; k < n; ++k) c = (c << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3F);
  i += n;
  return c;
}

void append_utf8(std::string& out, char32_t c) {
  if (c < 0x80) {
    out.push_back(static_cast<char>(c));
  } else if (c < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (c >> 6)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else if (c < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (c >> 12)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (c >> 18)));
    out.push_back(static_cast<char>(0x80 | ((c >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((c >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (c & 0x3F)));
  }
}

char32_t last_code_point(std::string_view s, size_t* start) {
  size_t i = s.size() - 1;
  while (i > 0 && (static_cast<unsigned char>(s[i]) & 0xC0) == 0x80) --i;
  if (start) *start = i;
  size_t j = i;
  return next_code_point(s, j);
}

size_t count_code_points(std::string_view s) {
  size_t n = 0;
  for (char ch : s) n += (static_cast<unsigned char>(ch) & 0xC0) != 0x80;
  return n;
}

namespace {

// Length of the valid UTF-8 sequence at s[i], or 0 with `*maximal` set to the length of the
// maximal subpart of a valid sequence (at least 1) when it is invalid.
size_t valid_sequence_at(std::string_view s, size_t i, size_t* maximal) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  *maximal = 1;
  if (b0 < 0x80) return 1;
  size_t n;
  unsigned char lo = 0x80, hi = 0xBF;  // range of the second byte
  if (b0 >= 0xC2 && b0 <= 0xDF) {
    n = 2;
  } else if (b0 >= 0xE0 && b0 <= 0xEF) {
    n = 3;
    if (b0 == 0xE0) lo = 0xA0;
    if (b0 == 0xED) hi = 0x9F;
  } else if (b0 >= 0xF0 && b0 <= 0xF4) {
    n = 4;
    if (b0 == 0xF0) lo = 0x90;
    if (b0 == 0xF4) hi = 0x8F;
  } else {
    return 0;
  }
  for (size_t k = 1; k < n; ++k) {
    if (i + k >= s.size()) return 0;
    const auto b = static_cast<unsigned char>(s[i + k]);
    const bool ok = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    if (!ok) return 0;
    *maximal = k + 1;
  }
  return n;
}

}  // namespace

bool is_valid_utf8(std::string_view s) {
  size_t i = 0, m = 0;
  while (i < s.size()) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const size_t n = valid_sequence_at(s, i, &m);
    if (n == 0) return false;
    i += n;
  }
  return true;
}

std::string utf8_lossy(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0, m = 0;
  while (i < s.size()) {
    const size_t n = valid_sequence_at(s, i, &m);
    if (n) {
      out.append(s.substr(i, n));
      i += n;
    } else {
      out.append("\xEF\xBF\xBD");
      i += m;
    }
  }
  return out;
}

bool is_whitespace(char32_t c) {
  if (c < 0x80) return c == ' ' || (c >= 0x09 && c <= 0x0D);
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_WHITE_SPACE);
}

bool is_numeric(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_N_MASK) != 0;
}

bool is_alphanumeric(char32_t c) {
  if (c < 0x80) return (c >= '0' && c <= '9') || ((c | 0x20) >= 'a' && (c | 0x20) <= 'z');
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) || is_numeric(c);
}

namespace {
// tokenizers' Bert components classify characters with the unicode_categories crate, whose tables
// predate recent Unicode versions; characters assigned later are unknown to it.
bool known_to_old_tables(char32_t c) {
  UVersionInfo age;
  u_charAge(static_cast<UChar32>(c), age);
  return age[0] < kOldTablesUnicodeMajor;
}
}  // namespace

bool is_punctuation(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_P_MASK) != 0 && known_to_old_tables(c);
}
// Unassigned code points (Cn) are not "other" here: tokenizers' BertNormalizer keeps them (its
// unicode_categories tables list Cc, Cf, Co and Cs only), as the parity fixtures show.
bool is_other(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) &
          (U_GC_CC_MASK | U_GC_CF_MASK | U_GC_CO_MASK | U_GC_CS_MASK)) != 0 &&
         known_to_old_tables(c);
}
bool is_mark(char32_t c) {
  return (U_GET_GC_MASK(static_cast<UChar32>(c)) & U_GC_M_MASK) != 0;
}
bool is_mark_nonspacing(char32_t c) {
  return u_charType(static_cast<UChar32>(c)) == U_NON_SPACING_MARK && known_to_old_tables(c);
}

bool is_word_char(char32_t c) {
  if (c < 0x80) return c == '_' || is_alphanumeric(c);
  const auto mask = U_GET_GC_MASK(static_cast<UChar32>(c));
  return u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_ALPHABETIC) ||
         (mask & (U_GC_M_MASK | U_GC_ND_MASK | U_GC_PC_MASK)) != 0 ||
         u_hasBinaryProperty(static_cast<UChar32>(c), UCHAR_JOIN_CONTROL);
}

namespace {

std::u16string to_utf16(std::string_view s) {
  std::u16string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const char32_t c = next_code_point(s, i);
    if (c >= 0x10000) {
      out.push_back(static_cast<char16_t>(0xD800 + ((c - 0x10000) >> 10)));
      out.push_back(static_cast<char16_t>(0xDC00 + ((c - 0x10000) & 0x3FF)));
    } else {
      out.push_back(static_cast<char16_t>(c));
    }
  }
  return out;
}

std::string from_utf16(const std::u16string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char32_t c = s[i];
    if (c >= 0xD800 && c < 0xDC00 && i + 1 < s.size()) {
      c = 0x10000 + ((c - 0xD800) << 10) + (s[i + 1] - 0xDC00);
      ++i;
    }
    append_utf8(out, c);
  }
  return out;
}

void check_icu(UErrorCode status, const char* what) {
  PAGODA_CHECK(U_SUCCESS(status), Internal,
               fmt::format("ICU {} failed: {}", what, u_errorName(status)),
               "check that the ICU data library (libicu72) is installed");
}

}  // namespace

std::string normalize_unicode(std::string_view s, NormalForm form) {
  // UAX #15 quick check: text whose every code point is "Yes" for the form and has combining
  // class 0 is already normalized (ASCII always is). Most text passes, skipping the UTF-16 trip.
  const UProperty qc = form == NormalForm::NFC    ? UCHAR_NFC_QUICK_CHECK
                       : form == NormalForm::NFD  ? UCHAR_NFD_QUICK_CHECK
                       : form == NormalForm::NFKC ? UCHAR_NFKC_QUICK_CHECK
                                                  : UCHAR_NFKD_QUICK_CHECK;
  bool already = true;
  for (size_t i = 0; i < s.size() && already;) {
    if (static_cast<unsigned char>(s[i]) < 0x80) {
      ++i;
      continue;
    }
    const auto c = static_cast<UChar32>(next_code_point(s, i));
    already = u_getIntPropertyValue(c, qc) == UNORM_YES && u_getCombiningClass(c) == 0;
  }
  if (already) return std::string(s);
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* norm = nullptr;
  switch (form) {
    case NormalForm::NFC:
      norm = unorm2_getNFCInstance(&status);
      break;
    case NormalForm::NFD:
      norm = unorm2_getNFDInstance(&status);
      break;
    case NormalForm::NFKC:
      norm = unorm2_getNFKCInstance(&status);
      break;
    case NormalForm::NFKD:
      norm = unorm2_getNFKDInstance(&status);
      break;
  }
  check_icu(status, "normalizer");
  const std::u16string in = to_utf16(s);
  std::u16string out(in.size() * 3 + 16, u'\0');
  int32_t n = unorm2_normalize(
      norm, reinterpret_cast<const UChar*>(in.data()), static_cast<int32_t>(in.size()),
      reinterpret_cast<UChar*>(out.data()), static_cast<int32_t>(out.size()), &status);
  if (status == U_BUFFER_OVERFLOW_ERROR) {
    status = U_ZERO_ERROR;
    out.assign(static_cast<size_t>(n), u'\0');
    n = unorm2_normalize(norm, reinterpret_cast<const UChar*>(in.data()),
                         static_cast<int32_t>(in.size()), reinterpret_cast<UChar*>(out.data()), n,
                         &status);
  }
  check_icu(status, "normalization");
  out.resize(static_cast<size_t>(n));
  return from_utf16(out);
}

std::string to_lowercase(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  size_t i = 0;
  while (i < s.size()) {
    const auto b = static_cast<unsigned char>(s[i]);
    if (b < 0x80) {
      out.push_back(static_cast<char>(b >= 'A' && b <= 'Z' ? b + 32 : b));
      ++i;
      continue;
    }
    const char32_t c = next_code_point(s, i);
    // U+0130 is the only code point whose unconditional full lowercase mapping (SpecialCasing.txt)
    // differs from the simple one; the others are context or language dependent.
    if (c == 0x130) {
      out.append("i\xCC\x87");
    } else {
      append_utf8(out, static_cast<char32_t>(u_tolower(static_cast<UChar32>(c))));
    }
  }
  return out;
}

namespace {

// One character break iterator per thread: opening one costs far more than a short text's scan.
struct GraphemeIterator {
  UBreakIterator* it = nullptr;
  GraphemeIterator() {
    UErrorCode status = U_ZERO_ERROR;
    it = ubrk_open(UBRK_CHARACTER, "", nullptr, 0, &status);
    check_icu(status, "grapheme break iterator");
  }
  ~GraphemeIterator() { ubrk_close(it); }
};

}  // namespace

std::vector<size_t> grapheme_boundaries(std::string_view s) {
  std::vector<size_t> out;
  out.reserve(s.size() + 1);
  bool ascii = true;
  for (char ch : s) ascii &= static_cast<unsigned char>(ch) < 0x80;
  if (ascii) {  // every ASCII character is its own grapheme, except that CR LF is one
    for (size_t i = 0; i < s.size(); ++i)
      if (!(i > 0 && s[i] == '\n' && s[i - 1] == '\r')) out.push_back(i);
    out.push_back(s.size());
    return out;
  }
  thread_local GraphemeIterator graphemes;
  UErrorCode status = U_ZERO_ERROR;
  UText text = UTEXT_INITIALIZER;
  utext_openUTF8(&text, s.data(), static_cast<int64_t>(s.size()), &status);
  check_icu(status, "utext_openUTF8");
  ubrk_setUText(graphemes.it, &text, &status);
  if (U_FAILURE(status)) {
    utext_close(&text);
    check_icu(status, "grapheme break iterator");
  }
  for (int32_t p = ubrk_first(graphemes.it); p != UBRK_DONE; p = ubrk_next(graphemes.it))
    out.push_back(static_cast<size_t>(p));
  utext_close(&text);
  if (out.empty() || out.front() != 0) out.insert(out.begin(), 0);
  if (out.back() != s.size()) out.push_back(s.size());
  return out;
}

namespace {

struct ByteMaps {
  std::array<std::string, 256> to_char;
  std::array<int16_t, 512> from_char{};  // every mapped code point is below 512
  ByteMaps() {
    from_char.fill(-1);
    int next = 256;
    for (int b = 0; b < 256; ++b) {
      const bool printable =
          (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174 && b <= 255);
      const char32_t c = printable ? static_cast<char32_t>(b) : static_cast<char32_t>(next++);
      append_utf8(to_char[b], c);
      from_char[c] = static_cast<int16_t>(b);
    }
  }
};

const ByteMaps& byte_maps() {
  static const ByteMaps maps;
  return maps;
}

}  // namespace

const std::array<std::string, 256>& byte_to_unicode() {
  return byte_maps().to_char;
}

int unicode_to_byte(char32_t c) {
  return c < 512 ? byte_maps().from_char[c] : -1;
}

}  // namespace pagoda::tok
