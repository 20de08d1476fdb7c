#include "pagoda/weights_mapper.h"

#include "core/regex.h"
#include "pagoda/error.h"

namespace pagoda {

struct WeightsMapper::Rules {
  struct Plain {
    std::string from;
    std::optional<std::string> to;
  };
  struct Pattern {
    Regex re;
    std::optional<std::string> to;
  };
  std::vector<Plain> prefixes, suffixes, substrings;
  std::vector<Pattern> patterns;
};

WeightsMapper::WeightsMapper() : rules_(std::make_unique<Rules>()) {}
WeightsMapper::~WeightsMapper() = default;
WeightsMapper::WeightsMapper(WeightsMapper&&) noexcept = default;
WeightsMapper& WeightsMapper::operator=(WeightsMapper&&) noexcept = default;

WeightsMapper& WeightsMapper::prefix(std::string from, std::optional<std::string> to) {
  rules_->prefixes.push_back({std::move(from), std::move(to)});
  return *this;
}
WeightsMapper& WeightsMapper::suffix(std::string from, std::optional<std::string> to) {
  rules_->suffixes.push_back({std::move(from), std::move(to)});
  return *this;
}
WeightsMapper& WeightsMapper::substring(std::string from, std::optional<std::string> to) {
  rules_->substrings.push_back({std::move(from), std::move(to)});
  return *this;
}
WeightsMapper& WeightsMapper::regex(const std::string& pattern, std::optional<std::string> to) {
  rules_->patterns.push_back({Regex(pattern), std::move(to)});
  return *this;
}

std::optional<std::string> WeightsMapper::apply(const std::string& name) const {
  // vLLM's order: regex, substring, prefix, suffix; every matching rule applies in turn.
  std::string out = name;
  for (const auto& r : rules_->patterns)
    if (r.re.search(out)) {
      if (!r.to) return std::nullopt;
      out = r.re.replace_first(out, *r.to);
    }
  for (const auto& r : rules_->substrings) {
    const size_t at = out.find(r.from);
    if (at == std::string::npos) continue;
    if (!r.to) return std::nullopt;
    out.replace(at, r.from.size(), *r.to);
  }
  for (const auto& r : rules_->prefixes)
    if (out.starts_with(r.from)) {
      if (!r.to) return std::nullopt;
      out = *r.to + out.substr(r.from.size());
    }
  for (const auto& r : rules_->suffixes)
    if (out.ends_with(r.from)) {
      if (!r.to) return std::nullopt;
      out = out.substr(0, out.size() - r.from.size()) + *r.to;
    }
  return out;
}

}  // namespace pagoda
