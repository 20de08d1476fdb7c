#include "tokenizer/json_util.h"

#include <fmt/format.h>

#include "pagoda/error.h"

namespace pagoda::tok {

namespace {
const Json& null_json() {
  static const Json null;
  return null;
}
}  // namespace

JsonAt JsonAt::child(std::string_view key) const {
  std::string p = path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
  if (value.is_object()) {
    auto it = value.find(key);
    if (it != value.end()) return {*it, source, std::move(p)};
  }
  return {null_json(), source, std::move(p)};
}

JsonAt JsonAt::at(size_t index) const {
  return {value.is_array() && index < value.size() ? value[index] : null_json(), source,
          fmt::format("{}[{}]", path, index)};
}

bool JsonAt::has(std::string_view key) const {
  if (!value.is_object()) return false;
  auto it = value.find(key);
  return it != value.end() && !it->is_null();
}

void JsonAt::fail(std::string_view expected) const {
  throw_error(ErrorCode::InvalidFormat,
              fmt::format("{}: key '{}' must be {}, found {}", source, path, expected,
                          value.is_null() ? std::string("nothing") : value.dump().substr(0, 80)),
              "the tokenizer file is malformed or from an unsupported version; re-download it or "
              "re-save it with Hugging Face tokenizers");
}

std::string JsonAt::str() const {
  if (!value.is_string()) fail("a string");
  return value.get<std::string>();
}
bool JsonAt::boolean() const {
  if (!value.is_boolean()) fail("a boolean");
  return value.get<bool>();
}
int64_t JsonAt::integer() const {
  if (!value.is_number_integer()) fail("an integer");
  return value.get<int64_t>();
}
double JsonAt::number() const {
  if (!value.is_number()) fail("a number");
  return value.get<double>();
}
const Json::array_t& JsonAt::array() const {
  if (!value.is_array()) fail("an array");
  return value.get_ref<const Json::array_t&>();
}
const Json::object_t& JsonAt::object() const {
  if (!value.is_object()) fail("an object");
  return value.get_ref<const Json::object_t&>();
}
std::string JsonAt::type() const {
  if (!value.is_object()) fail("an object with a \"type\"");
  return child("type").str();
}

std::string JsonAt::str_or(std::string_view key, std::string fallback) const {
  return has(key) ? child(key).str() : std::move(fallback);
}
bool JsonAt::bool_or(std::string_view key, bool fallback) const {
  return has(key) ? child(key).boolean() : fallback;
}
int64_t JsonAt::int_or(std::string_view key, int64_t fallback) const {
  return has(key) ? child(key).integer() : fallback;
}
std::optional<std::string> JsonAt::opt_str(std::string_view key) const {
  if (!has(key)) return std::nullopt;
  return child(key).str();
}

void unknown_type(const JsonAt& at, std::string_view kind, std::string_view type) {
  throw_error(
      ErrorCode::Unsupported,
      fmt::format("{}: {} type '{}' (key '{}') is not supported", at.source, kind, type, at.path),
      "use a tokenizer whose components Pagoda implements (see docs), or report the type");
}

}  // namespace pagoda::tok
