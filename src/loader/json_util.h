// JSON helpers shared by the config loaders: parsing with errors that point at the offending
// character, reading small JSON files, describing values for error messages, and merging
// override objects.
#pragma once

#include <cstddef>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pagoda::json_util {

// Parses `text`. On a syntax error throws pagoda::Error(InvalidFormat) naming `source`, the
// character position (0-based byte offset, and line/column) and the text around it.
nlohmann::json parse(std::string_view text, std::string_view source);

// Reads and parses a JSON file. Missing file: NotFound; unreadable: Io; bad JSON: InvalidFormat.
nlohmann::json read_file(const std::filesystem::path& path);

// "integer", "number", "string", "boolean", "null", "object" or "array".
std::string_view type_name(const nlohmann::json& value);

// The value as compact JSON, cut to about `max_chars` characters ("[1.0,2.0,...]").
std::string excerpt(const nlohmann::json& value, size_t max_chars = 60);

// "the string \"4096\"", "the number 0.5", "null", "an array of 48 elements", ...
std::string describe(const nlohmann::json& value);

// Merges `patch` into `target`: where both hold an object under the same key, the objects are
// merged recursively; any other value in `patch` (including null) replaces the target's. Keys
// named in `replace_whole` are replaced as a whole even when both sides are objects.
void merge(nlohmann::json& target, const nlohmann::json& patch,
           std::initializer_list<std::string_view> replace_whole = {});

}  // namespace pagoda::json_util
