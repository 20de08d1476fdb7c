// UTF-8 helpers for the Python string semantics templates rely on: len(), indexing and slicing
// count code points, and str.strip()/split() use Python's notion of whitespace.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace pagoda::jinja::utf8 {

// Code points of `s`; invalid bytes decode as U+FFFD one byte at a time (never reads past the end).
std::vector<char32_t> decode(std::string_view s);
std::string encode(const std::vector<char32_t>& cps);
void append(std::string& out, char32_t cp);
// Number of code points.
size_t length(std::string_view s);
// True when every byte is ASCII (fast paths index bytes directly).
bool is_ascii(std::string_view s);
// Python str.isspace() for one code point.
bool is_space(char32_t c);
// Python str.upper()/lower() for ASCII and Latin-1 letters; other code points are unchanged.
char32_t to_upper(char32_t c);
char32_t to_lower(char32_t c);
bool is_alpha(char32_t c);

}  // namespace pagoda::jinja::utf8
