#include "loader/safetensors_json.h"

#include <set>
#include <vector>

namespace pagoda {
namespace {

// Thrown from the parser callback to stop at the first duplicate; never leaves this file.
struct DuplicateFound {};

// The parser quotes the bytes it last read, which in a corrupt binary file can be anything; keep
// messages printable.
std::string printable(std::string text) {
  for (char& c : text)
    if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7f) c = '?';
  return text;
}

}  // namespace

std::string text_excerpt(std::string_view text, size_t max_chars) {
  if (text.size() <= max_chars) return std::string(text);
  return std::string(text.substr(0, max_chars)) + "...";
}

std::string json_excerpt(const nlohmann::json& value, size_t max_chars) {
  // Never-throwing dump: invalid UTF-8 cannot reach here (the parser rejects it), but be safe.
  return text_excerpt(value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace),
                      max_chars);
}

StrictJson parse_json_strict(std::string_view text) {
  using nlohmann::json;
  StrictJson result;
  // One frame per open object or array; arrays carry no keys but keep the depth right.
  std::vector<std::set<std::string>> frames;
  std::string current_top_level_key;
  auto callback = [&](int /*depth*/, json::parse_event_t event, json& parsed) -> bool {
    switch (event) {
      case json::parse_event_t::object_start:
      case json::parse_event_t::array_start:
        frames.emplace_back();
        break;
      case json::parse_event_t::object_end:
      case json::parse_event_t::array_end:
        if (!frames.empty()) frames.pop_back();
        break;
      case json::parse_event_t::key: {
        std::string key = parsed.get<std::string>();
        if (frames.size() == 1) current_top_level_key = key;
        if (!frames.empty() && !frames.back().insert(key).second) {
          result.key = std::move(key);
          if (frames.size() > 1) result.top_level_key = current_top_level_key;
          throw DuplicateFound{};
        }
        break;
      }
      case json::parse_event_t::value:
        break;
    }
    return true;
  };
  try {
    result.value = json::parse(text.begin(), text.end(), callback);
  } catch (const DuplicateFound&) {
    result.status = StrictJson::Status::DuplicateKey;
    result.value = nullptr;
  } catch (const json::exception& e) {
    const std::string what = printable(e.what());
    result.status = what.find("unexpected end of input") != std::string::npos
                        ? StrictJson::Status::Truncated
                        : StrictJson::Status::Syntax;
    result.detail = text_excerpt(what, 240);
    result.value = nullptr;
  }
  return result;
}

}  // namespace pagoda
