#include "loader/json_util.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <sstream>
#include <system_error>

#include "pagoda/error.h"

namespace pagoda::json_util {
namespace {

// Config files are a few levels deep; a bound keeps recursive consumers (dump, merge) safe from
// hostile input.
constexpr int kMaxDepth = 64;

struct TextPosition {
  size_t line = 1;
  size_t column = 1;
};

TextPosition position_of(std::string_view text, size_t offset) {
  TextPosition pos;
  for (size_t i = 0; i < offset && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++pos.line;
      pos.column = 1;
    } else {
      ++pos.column;
    }
  }
  return pos;
}

// A short, single-line window of `text` around `offset` for error messages.
std::string context_around(std::string_view text, size_t offset) {
  const size_t begin = offset > 20 ? offset - 20 : 0;
  const size_t end = std::min(text.size(), offset + 20);
  std::string out(text.substr(begin, end - begin));
  std::replace_if(
      out.begin(), out.end(), [](char c) { return c == '\n' || c == '\r' || c == '\t'; }, ' ');
  return out;
}

// nlohmann's message is "[json.exception.parse_error.101] parse error at line 1, column 5:
// syntax error while parsing ..."; keep the part that explains the syntax.
std::string parser_reason(const nlohmann::json::parse_error& e) {
  std::string_view what = e.what();
  if (const size_t at = what.find("syntax error"); at != std::string_view::npos)
    return std::string(what.substr(at));
  return std::string(what);
}

}  // namespace

nlohmann::json parse(std::string_view text, std::string_view source) {
  const nlohmann::json::parser_callback_t limit_depth =
      [source](int depth, nlohmann::json::parse_event_t, nlohmann::json&) {
        PAGODA_CHECK(
            depth <= kMaxDepth, InvalidFormat,
            fmt::format("{} nests JSON objects/arrays deeper than {} levels", source, kMaxDepth),
            "a Hugging Face config is a few levels deep; check that the file is the "
            "intended one and not corrupted");
        return true;
      };
  try {
    return nlohmann::json::parse(text.begin(), text.end(), limit_depth);
  } catch (const nlohmann::json::parse_error& e) {
    // e.byte counts from 1; the offset of the offending character is one less.
    const size_t offset = e.byte > 0 ? std::min<size_t>(e.byte - 1, text.size()) : 0;
    const TextPosition pos = position_of(text, offset);
    throw Error(ErrorCode::InvalidFormat,
                fmt::format("{} is not valid JSON: at character {} (line {}, column {}), near "
                            "'{}': {}",
                            source, offset, pos.line, pos.column, context_around(text, offset),
                            parser_reason(e)),
                "fix the JSON syntax at that position (quotes around keys and strings, commas "
                "between members, no trailing commas, no comments)");
  } catch (const nlohmann::json::exception& e) {
    // Numbers out of range (1e999) and similar: nlohmann gives no position.
    throw Error(ErrorCode::InvalidFormat, fmt::format("{} is not valid JSON: {}", source, e.what()),
                "fix the value the message names");
  }
}

nlohmann::json read_file(const std::filesystem::path& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  PAGODA_CHECK(std::filesystem::exists(status), NotFound,
               fmt::format("{} does not exist", path.string()),
               "check the path; a Hugging Face model directory holds config.json beside its "
               "*.safetensors files");
  PAGODA_CHECK(std::filesystem::is_regular_file(status), InvalidArgument,
               fmt::format("{} is not a regular file", path.string()),
               "pass the path of the JSON file itself");
  std::ifstream in(path, std::ios::binary);
  PAGODA_CHECK(in.good(), Io, fmt::format("cannot open {} for reading", path.string()),
               "check the file's permissions");
  std::ostringstream buffer;
  buffer << in.rdbuf();
  PAGODA_CHECK(!in.bad(), Io, fmt::format("reading {} failed", path.string()),
               "check the disk and the file's permissions");
  return parse(buffer.str(), path.string());
}

std::string_view type_name(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
      return "null";
    case nlohmann::json::value_t::object:
      return "object";
    case nlohmann::json::value_t::array:
      return "array";
    case nlohmann::json::value_t::string:
      return "string";
    case nlohmann::json::value_t::boolean:
      return "boolean";
    case nlohmann::json::value_t::number_integer:
    case nlohmann::json::value_t::number_unsigned:
      return "integer";
    case nlohmann::json::value_t::number_float:
      return "number";
    case nlohmann::json::value_t::binary:
      return "binary";
    case nlohmann::json::value_t::discarded:
      return "discarded";
  }
  return "value";
}

std::string excerpt(const nlohmann::json& value, size_t max_chars) {
  std::string text = value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  if (text.size() > max_chars) text = text.substr(0, max_chars) + "...";
  return text;
}

std::string describe(const nlohmann::json& value) {
  if (value.is_null()) return "null";
  if (value.is_array())
    return fmt::format("an array of {} elements: {}", value.size(), excerpt(value));
  if (value.is_object()) return fmt::format("an object: {}", excerpt(value));
  return fmt::format("the {} {}", type_name(value), excerpt(value));
}

void merge(nlohmann::json& target, const nlohmann::json& patch,
           std::initializer_list<std::string_view> replace_whole) {
  if (!target.is_object() || !patch.is_object()) {
    target = patch;
    return;
  }
  for (const auto& [key, value] : patch.items()) {
    const bool whole =
        std::find(replace_whole.begin(), replace_whole.end(), key) != replace_whole.end();
    auto it = target.find(key);
    if (!whole && it != target.end() && it->is_object() && value.is_object()) {
      merge(*it, value, replace_whole);
    } else {
      target[key] = value;
    }
  }
}

}  // namespace pagoda::json_util
