// UTF-8 and Unicode helpers shared by the tokenizer components: code point iteration, character
// classes with the definitions Rust's `char` methods use (Hugging Face tokenizers is Rust), ICU
// normalization and case mapping, GPT-2's byte <-> character map and lossy UTF-8 repair.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::tok {

// Length of the UTF-8 sequence that starts with byte `b` (1 for invalid lead bytes).
inline size_t utf8_len(unsigned char b) {
  if (b < 0x80) return 1;
  if ((b >> 5) == 0x6) return 2;
  if ((b >> 4) == 0xE) return 3;
  if ((b >> 3) == 0x1E) return 4;
  return 1;
}

// Decodes the code point at `s[i]` (valid UTF-8 expected) and advances `i` past it.
char32_t next_code_point(std::string_view s, size_t& i);
void append_utf8(std::string& out, char32_t c);
// The last code point of non-empty valid UTF-8 `s`, and where it starts.
char32_t last_code_point(std::string_view s, size_t* start = nullptr);
size_t count_code_points(std::string_view s);

// Whether `s` is valid UTF-8 (no overlongs, surrogates or values above U+10FFFF).
bool is_valid_utf8(std::string_view s);
// `bytes` with each maximal invalid subsequence replaced by U+FFFD, as Rust's
// String::from_utf8_lossy does (the Unicode "substitution of maximal subparts" practice).
std::string utf8_lossy(std::string_view bytes);

// Character classes, as Rust's char methods define them.
bool is_whitespace(char32_t c);       // White_Space property
bool is_alphanumeric(char32_t c);     // Alphabetic or Numeric (Nd, Nl, No)
bool is_numeric(char32_t c);          // general category N*
bool is_punctuation(char32_t c);      // general category P*
bool is_other(char32_t c);            // general category Cc, Cf, Co, Cs (not Cn)
bool is_mark(char32_t c);             // general category M* (combining marks)
bool is_mark_nonspacing(char32_t c);  // Mn
bool is_word_char(char32_t c);        // Rust regex `\w`: Alphabetic, M*, Nd, Pc, Join_Control

enum class NormalForm { NFC, NFD, NFKC, NFKD };
// Unicode normalization through ICU; `s` must be valid UTF-8.
std::string normalize_unicode(std::string_view s, NormalForm form);
// Full lowercase mapping per code point, without context (Rust's char::to_lowercase).
std::string to_lowercase(std::string_view s);
// Extended grapheme cluster boundaries of `s` (byte offsets, including 0 and s.size()).
std::vector<size_t> grapheme_boundaries(std::string_view s);

// GPT-2's reversible byte -> printable character map (bytes_to_unicode), as UTF-8 strings.
const std::array<std::string, 256>& byte_to_unicode();
// The inverse: code point -> byte, or -1 when the code point is not in the map.
int unicode_to_byte(char32_t c);

}  // namespace pagoda::tok
