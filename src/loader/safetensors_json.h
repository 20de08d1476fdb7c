// JSON parsing that refuses duplicate object keys.
//
// nlohmann::json silently keeps the last of two equal keys. In a safetensors header or index that
// would hide a second tensor with the same name (and a different offset), so both are parsed here
// with a check at every object level.
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

namespace pagoda {

struct StrictJson {
  enum class Status {
    Ok,
    Syntax,        // not JSON; `detail` holds the parser's description
    Truncated,     // valid so far but the text ends before the value does
    DuplicateKey,  // `key` appears twice in one object
  };
  Status status = Status::Ok;
  nlohmann::json value;  // set when Ok
  std::string detail;
  // For DuplicateKey: the repeated key, and the top-level key under which the object holding it
  // lives (empty when the duplicate is itself a top-level key).
  std::string key;
  std::string top_level_key;
};

StrictJson parse_json_strict(std::string_view text);

// A value as JSON text for an error message, cut to about `max_chars` so that a hostile header
// cannot make a message megabytes long.
std::string json_excerpt(const nlohmann::json& value, size_t max_chars = 80);
// The same for a plain string.
std::string text_excerpt(std::string_view text, size_t max_chars = 80);

}  // namespace pagoda
