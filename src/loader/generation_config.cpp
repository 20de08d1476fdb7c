#include "pagoda/generation_config.h"

#include <fmt/format.h>

#include <algorithm>

#include "loader/json_util.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

namespace pagoda {
namespace {

// Values that would break sampling are rejected; anything transformers accepts otherwise is kept.
template <typename T, typename Valid>
std::optional<T> checked(const HfConfig& file, std::string_view key, std::optional<T> value,
                         Valid valid, std::string_view rule, std::string_view example) {
  if (value && !valid(*value)) file.fail(key, fmt::format("is {}; {}", *value, rule), example);
  return value;
}

GenerationConfig from_parsed(const nlohmann::json& parsed, std::string source) {
  // No override option exists for this file: the fix is always to edit it.
  const HfConfig file = HfConfig::from_json(parsed, source, "", "");
  GenerationConfig g;
  g.source = std::move(source);
  g.temperature = checked(
      file, "temperature", file.find_double("temperature"), [](double t) { return t >= 0.0; },
      "a temperature must be >= 0 (0 means greedy)", "a number such as 0.7");
  g.top_p = checked(
      file, "top_p", file.find_double("top_p"), [](double p) { return p > 0.0 && p <= 1.0; },
      "top_p must be in (0, 1]", "a number such as 0.9");
  g.top_k = checked(
      file, "top_k", file.find_int("top_k"), [](int64_t k) { return k >= -1; },
      "top_k must be >= -1 (0 and -1 disable it)", "an integer such as 20");
  g.min_p = checked(
      file, "min_p", file.find_double("min_p"), [](double p) { return p >= 0.0 && p <= 1.0; },
      "min_p must be in [0, 1]", "a number such as 0.05");
  g.repetition_penalty = checked(
      file, "repetition_penalty", file.find_double("repetition_penalty"),
      [](double r) { return r > 0.0; }, "a repetition penalty must be > 0 (1 disables it)",
      "a number such as 1.05");
  g.max_new_tokens = checked(
      file, "max_new_tokens", file.find_int("max_new_tokens"), [](int64_t n) { return n > 0; },
      "max_new_tokens must be positive", "an integer such as 2048");
  g.do_sample = file.find_bool("do_sample");
  g.eos_token_ids = file.find_int_or_int_list("eos_token_id");
  g.bos_token_id = file.find_int("bos_token_id");
  g.pad_token_id = file.find_int("pad_token_id");
  return g;
}

}  // namespace

std::vector<int64_t> GenerationConfig::all_eos_token_ids(
    const std::vector<int64_t>& config_eos_token_ids) const {
  std::vector<int64_t> out;
  for (const auto* ids : {&config_eos_token_ids, &eos_token_ids})
    for (int64_t id : *ids)
      if (std::find(out.begin(), out.end(), id) == out.end()) out.push_back(id);
  return out;
}

GenerationConfig GenerationConfig::from_string(std::string_view json_text, std::string source) {
  return from_parsed(json_util::parse(json_text, source), std::move(source));
}

GenerationConfig GenerationConfig::from_file(const std::filesystem::path& path) {
  return from_parsed(json_util::read_file(path), path.string());
}

GenerationConfig GenerationConfig::from_model_dir(const std::filesystem::path& dir) {
  const auto path = dir / "generation_config.json";
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  return from_file(path);
}

}  // namespace pagoda
