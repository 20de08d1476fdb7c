// Reading tokenizer.json with errors that name the file and the key path, e.g.
// "tokenizer.json: key 'model.merges[3]' must be a string or a pair of strings".
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace pagoda::tok {

using Json = nlohmann::json;

// Where a JSON value sits: the file it came from and its key path inside it.
struct JsonAt {
  const Json& value;
  std::string source;  // file name (or "<string>")
  std::string path;    // e.g. "model.vocab"

  JsonAt child(std::string_view key) const;  // value[key]; `null` when absent
  JsonAt at(size_t index) const;
  bool has(std::string_view key) const;
  [[noreturn]] void fail(std::string_view expected) const;

  std::string str() const;
  bool boolean() const;
  int64_t integer() const;
  double number() const;
  const Json::array_t& array() const;
  const Json::object_t& object() const;
  // The component's "type" string.
  std::string type() const;

  // Optional members with defaults (absent or null -> default).
  std::string str_or(std::string_view key, std::string fallback) const;
  bool bool_or(std::string_view key, bool fallback) const;
  int64_t int_or(std::string_view key, int64_t fallback) const;
  std::optional<std::string> opt_str(std::string_view key) const;
};

[[noreturn]] void unknown_type(const JsonAt& at, std::string_view kind, std::string_view type);

}  // namespace pagoda::tok
