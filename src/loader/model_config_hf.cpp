// HfConfig: typed, error-reporting access to one JSON object of a Hugging Face config.
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include <mutex>
#include <set>

#include "loader/json_util.h"
#include "loader/model_config_internal.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

namespace pagoda {
namespace {

using Json = nlohmann::json;

std::optional<int64_t> as_int(const Json& v) {
  if (v.is_number_unsigned()) {
    const uint64_t u = v.get<uint64_t>();
    if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return std::nullopt;
    return static_cast<int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<int64_t>();
  if (v.is_number_float()) {
    // Some exporters write 4096.0; accept integral values that fit.
    const double d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && d >= -9223372036854775808.0 &&
        d < 9223372036854775808.0)
      return static_cast<int64_t>(d);
  }
  return std::nullopt;
}

std::optional<double> as_double(const Json& v) {
  if (!v.is_number()) return std::nullopt;
  const double d = v.get<double>();
  if (!std::isfinite(d)) return std::nullopt;
  return d;
}

// '{"text_config": {"hidden_size": <integer>}}' for prefix "text_config." and key "hidden_size".
std::string override_example(std::string_view prefix, std::string_view key,
                             std::string_view value) {
  std::vector<std::string_view> parts;
  while (!prefix.empty()) {
    const size_t dot = prefix.find('.');
    parts.push_back(prefix.substr(0, dot));
    prefix.remove_prefix(dot == std::string_view::npos ? prefix.size() : dot + 1);
  }
  std::string out = fmt::format("{{\"{}\": {}}}", key, value);
  for (auto it = parts.rbegin(); it != parts.rend(); ++it)
    out = fmt::format("{{\"{}\": {}}}", *it, out);
  return out;
}

std::string_view placeholder(std::string_view expected) {
  if (expected.starts_with("an integer")) return "<integer>";
  if (expected.starts_with("a number")) return "<number>";
  if (expected.starts_with("a string")) return "\"<text>\"";
  if (expected.starts_with("a boolean")) return "true";
  if (expected.starts_with("a list of integers")) return "[<integer>, ...]";
  if (expected.starts_with("a list of numbers")) return "[<number>, ...]";
  if (expected.starts_with("a list of strings")) return "[\"<text>\", ...]";
  if (expected.starts_with("an object")) return "{...}";
  return "<value>";
}

}  // namespace

HfConfig::HfConfig()
    : HfConfig(std::make_shared<const Json>(Json::object()), "<empty config>", "", "hf_overrides") {
}

struct HfConfig::ReadKeys {
  std::mutex mutex;
  std::set<std::string> keys;  // with their key prefix: "hidden_size", "text_config.hidden_size"
};

HfConfig::HfConfig(std::shared_ptr<const Json> object, std::string source, std::string prefix,
                   std::string override_option)
    : object_(std::move(object)),
      read_keys_(std::make_shared<ReadKeys>()),
      source_(std::move(source)),
      key_prefix_(std::move(prefix)),
      override_option_(std::move(override_option)) {}

HfConfig HfConfig::child(Json object, std::string prefix) const {
  HfConfig c(std::make_shared<const Json>(std::move(object)), source_, std::move(prefix), override_option_);
  c.read_keys_ = read_keys_;
  return c;
}

std::string HfConfig::override_hint(std::string_view verb, std::string_view key,
                                    std::string_view value) const {
  if (override_option_.empty()) return "";
  return fmt::format(", or {} it with {}='{}'", verb, override_option_,
                     override_example(key_prefix_, key, value));
}

HfConfig HfConfig::from_json(const Json& object, std::string source, std::string key_prefix,
                             std::string override_option) {
  PAGODA_CHECK(
      object.is_object(), InvalidConfig,
      fmt::format("{} must hold a JSON object at {}, but it holds {}", source,
                  key_prefix.empty() ? "the top level" : key_prefix, json_util::describe(object)),
      "a Hugging Face config.json is one JSON object of settings; check that this is "
      "the model's config.json");
  return HfConfig(std::make_shared<const Json>(object), std::move(source), std::move(key_prefix),
                  std::move(override_option));
}

HfConfig HfConfig::from_string(std::string_view json_text, std::string source) {
  return from_json(json_util::parse(json_text, source), std::move(source));
}

HfConfig HfConfig::from_file(const std::filesystem::path& path) {
  return from_json(json_util::read_file(path), path.string());
}

HfConfig HfConfig::from_model_dir(const std::filesystem::path& dir) {
  const auto path = dir / "config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) {
    const bool mistral = std::filesystem::exists(dir / "params.json", ec);
    throw Error(ErrorCode::NotFound, fmt::format("{} has no config.json", dir.string()),
                mistral ? "this looks like a Mistral-format checkpoint (params.json); use the "
                          "Hugging Face-format repository of the model, which has config.json"
                        : "pass the directory of a Hugging Face model snapshot (it holds "
                          "config.json beside the *.safetensors files)");
  }
  return from_file(path);
}

HfConfig HfConfig::with_overrides(std::string_view overrides_json) const {
  if (overrides_json.find_first_not_of(" \t\r\n") == std::string_view::npos) return *this;
  Json patch;
  try {
    patch = json_util::parse(overrides_json, "hf_overrides");
  } catch (const Error& e) {
    // A bad engine argument rather than a bad file.
    throw Error(ErrorCode::InvalidConfig, e.problem(), e.fix());
  }
  PAGODA_CHECK(
      patch.is_object(), InvalidConfig,
      fmt::format("hf_overrides must be a JSON object, but it is {}", json_util::describe(patch)),
      "pass an object of config keys, e.g. '{\"max_position_embeddings\": 8192}'");
  Json merged = *object_;
  json_util::merge(merged, patch, {"rope_scaling", "rope_parameters"});
  return HfConfig(std::make_shared<const Json>(std::move(merged)), source_ + " (with hf_overrides)",
                  key_prefix_, override_option_);
}

bool HfConfig::has_text_config() const {
  return find("text_config") != nullptr;
}

HfConfig HfConfig::text_config() const {
  const Json* nested = find("text_config");
  if (nested == nullptr) return *this;
  if (!nested->is_object()) type_error("text_config", *nested, "an object");
  Json text = *nested;
  std::string type = text.contains("model_type") && text["model_type"].is_string()
                         ? text["model_type"].get<std::string>()
                         : std::string(config_detail::implied_text_model_type(model_type()));
  if (const Json* defaults = config_detail::text_config_defaults(type)) {
    for (const auto& [key, value] : defaults->items())
      if (!text.contains(key)) text[key] = value;
  }
  if (!type.empty() && !text.contains("model_type")) text["model_type"] = type;
  return child(std::move(text), key_prefix_ + "text_config.");
}

std::optional<HfConfig> HfConfig::sub_config(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_object()) type_error(key, *v, "an object");
  return child(*v, fmt::format("{}{}.", key_prefix_, key));
}

const nlohmann::json& HfConfig::json() const {
  return *object_;
}

const Json* HfConfig::find(std::string_view key) const {
  {
    std::lock_guard lock(read_keys_->mutex);
    read_keys_->keys.insert(key_prefix_ + std::string(key));
  }
  const auto it = object_->find(key);
  if (it == object_->end() || it->is_null()) return nullptr;
  return &*it;
}

std::vector<std::string> HfConfig::unread_keys() const {
  std::vector<std::string> out;
  std::lock_guard lock(read_keys_->mutex);
  auto collect = [&](const Json& object, const std::string& prefix) {
    for (const auto& [key, value] : object.items())
      if (!read_keys_->keys.contains(prefix + key) && !(prefix.empty() && key == "text_config"))
        out.push_back(prefix + key);
  };
  collect(*object_, key_prefix_);
  if (auto it = object_->find("text_config"); it != object_->end() && it->is_object())
    collect(*it, key_prefix_ + "text_config.");
  return out;
}

bool HfConfig::has(std::string_view key) const {
  return find(key) != nullptr;
}

std::string HfConfig::location() const {
  if (key_prefix_.empty()) return source_;
  return fmt::format("the '{}' object in {}",
                     std::string_view(key_prefix_).substr(0, key_prefix_.size() - 1), source_);
}

std::string HfConfig::describe_key(std::string_view key) const {
  return fmt::format("'{}{}' in {}", key_prefix_, key, source_);
}

void HfConfig::fail(std::string_view key, std::string_view problem,
                    std::string_view expected_example) const {
  throw Error(ErrorCode::InvalidConfig, fmt::format("{} {}", describe_key(key), problem),
              fmt::format("set it to {} in {}{}", expected_example, location(),
                          override_hint("override", key, expected_example)));
}

void HfConfig::type_error(std::string_view key, const Json& found,
                          std::string_view expected) const {
  const bool quoted = found.is_string() && !expected.starts_with("a string") &&
                      !expected.starts_with("a list of strings");
  const bool too_large = found.is_number_unsigned();  // only reaches here past INT64_MAX
  throw Error(ErrorCode::InvalidConfig,
              fmt::format("{} must be {}, but it is {}{}", describe_key(key), expected,
                          json_util::describe(found),
                          too_large ? " (beyond the 64-bit integer range)" : ""),
              fmt::format("write it as {}{} in {}{}", placeholder(expected),
                          quoted ? " without quotes" : "", location(),
                          override_hint("override", key, placeholder(expected))));
}

const Json& HfConfig::require(std::string_view key, std::string_view expected) const {
  const Json* v = find(key);
  if (v == nullptr) {
    throw Error(ErrorCode::InvalidConfig,
                fmt::format("{} has no '{}{}' ({} is required{})", source_, key_prefix_, key,
                            expected, object_->contains(key) ? "; it is null" : ""),
                fmt::format("add \"{}\": {} to {}{}", key, placeholder(expected), location(),
                            override_hint("pass", key, placeholder(expected))));
  }
  return *v;
}

// --- scalars ---------------------------------------------------------------------------------

std::optional<int64_t> HfConfig::find_int(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (auto i = as_int(*v)) return i;
  type_error(key, *v, "an integer");
}
int64_t HfConfig::get_int(std::string_view key) const {
  const Json& v = require(key, "an integer");
  if (auto i = as_int(v)) return *i;
  type_error(key, v, "an integer");
}
int64_t HfConfig::get_int_or(std::string_view key, int64_t fallback) const {
  return find_int(key).value_or(fallback);
}

std::optional<double> HfConfig::find_double(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (auto d = as_double(*v)) return d;
  type_error(key, *v, "a number");
}
double HfConfig::get_double(std::string_view key) const {
  const Json& v = require(key, "a number");
  if (auto d = as_double(v)) return *d;
  type_error(key, v, "a number");
}
double HfConfig::get_double_or(std::string_view key, double fallback) const {
  return find_double(key).value_or(fallback);
}

std::optional<std::string> HfConfig::find_string(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_string()) type_error(key, *v, "a string");
  return v->get<std::string>();
}
std::string HfConfig::get_string(std::string_view key) const {
  const Json& v = require(key, "a string");
  if (!v.is_string()) type_error(key, v, "a string");
  return v.get<std::string>();
}
std::string HfConfig::get_string_or(std::string_view key, std::string_view fallback) const {
  auto s = find_string(key);
  return s ? *s : std::string(fallback);
}

std::optional<bool> HfConfig::find_bool(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (!v->is_boolean()) type_error(key, *v, "a boolean");
  return v->get<bool>();
}
bool HfConfig::get_bool(std::string_view key) const {
  const Json& v = require(key, "a boolean");
  if (!v.is_boolean()) type_error(key, v, "a boolean");
  return v.get<bool>();
}
bool HfConfig::get_bool_or(std::string_view key, bool fallback) const {
  return find_bool(key).value_or(fallback);
}

// --- lists -----------------------------------------------------------------------------------

namespace {

template <typename T, typename Convert>
std::optional<std::vector<T>> convert_list(const Json& v, Convert convert) {
  if (!v.is_array()) return std::nullopt;
  std::vector<T> out;
  out.reserve(v.size());
  for (const Json& element : v) {
    auto x = convert(element);
    if (!x) return std::nullopt;
    out.push_back(std::move(*x));
  }
  return out;
}

std::optional<std::string> as_string(const Json& v) {
  if (!v.is_string()) return std::nullopt;
  return v.get<std::string>();
}

}  // namespace

std::optional<std::vector<int64_t>> HfConfig::find_int_list(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (auto list = convert_list<int64_t>(*v, as_int)) return list;
  type_error(key, *v, "a list of integers");
}
std::vector<int64_t> HfConfig::get_int_list(std::string_view key) const {
  require(key, "a list of integers");
  return *find_int_list(key);
}

std::optional<std::vector<double>> HfConfig::find_double_list(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (auto list = convert_list<double>(*v, as_double)) return list;
  type_error(key, *v, "a list of numbers");
}
std::vector<double> HfConfig::get_double_list(std::string_view key) const {
  require(key, "a list of numbers");
  return *find_double_list(key);
}

std::optional<std::vector<std::string>> HfConfig::find_string_list(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return std::nullopt;
  if (auto list = convert_list<std::string>(*v, as_string)) return list;
  type_error(key, *v, "a list of strings");
}
std::vector<std::string> HfConfig::get_string_list(std::string_view key) const {
  require(key, "a list of strings");
  return *find_string_list(key);
}

std::vector<int64_t> HfConfig::find_int_or_int_list(std::string_view key) const {
  const Json* v = find(key);
  if (v == nullptr) return {};
  if (auto i = as_int(*v)) return {*i};
  if (auto list = convert_list<int64_t>(*v, as_int)) return *list;
  type_error(key, *v, "an integer or a list of integers");
}

// --- aliases ---------------------------------------------------------------------------------

std::optional<std::pair<std::string, int64_t>> HfConfig::find_first_int(
    std::initializer_list<std::string_view> keys) const {
  for (std::string_view key : keys)
    if (auto v = find_int(key)) return std::make_pair(std::string(key), *v);
  return std::nullopt;
}

int64_t HfConfig::get_first_int(std::initializer_list<std::string_view> keys) const {
  if (auto found = find_first_int(keys)) return found->second;
  PAGODA_ASSERT(keys.size() > 0);
  if (keys.size() == 1) return get_int(*keys.begin());
  std::string names;
  for (std::string_view key : keys)
    names += fmt::format("{}'{}{}'", names.empty() ? "" : ", ", key_prefix_, key);
  const std::string_view first = *keys.begin();
  throw Error(ErrorCode::InvalidConfig,
              fmt::format("{} has no '{}{}' (an integer is required; also accepted under the "
                          "names {})",
                          source_, key_prefix_, first, names),
              fmt::format("add \"{}\": <integer> to {}{}", first, location(),
                          override_hint("pass", first, "<integer>")));
}

std::string HfConfig::model_type() const {
  return get_string_or("model_type", "");
}

std::vector<std::string> HfConfig::architectures() const {
  return find_string_list("architectures").value_or(std::vector<std::string>{});
}

}  // namespace pagoda
