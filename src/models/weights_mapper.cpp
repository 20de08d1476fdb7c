#include "pagoda/weights_mapper.h"

#include <regex>

#include "pagoda/error.h"

namespace pagoda {

struct WeightsMapper::Rules {
  struct Plain {
    std::string from;
    std::optional<std::string> to;
  };
  struct Pattern {
    std::string source;
    std::regex re;
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
  try {
    rules_->patterns.push_back({pattern, std::regex(pattern, std::regex::ECMAScript), std::move(to)});
  } catch (const std::regex_error& e) {
    throw_error(ErrorCode::InvalidArgument, "weights mapper pattern '" + pattern + "' is not a valid regex: " + e.what(),
                "write the pattern in ECMAScript regex syntax");
  }
  return *this;
}

std::optional<std::string> WeightsMapper::apply(const std::string& name) const {
  std::string out = name;
  for (const auto& r : rules_->prefixes)
    if (out.starts_with(r.from)) {
      if (!r.to) return std::nullopt;
      out = *r.to + out.substr(r.from.size());
      break;
    }
  for (const auto& r : rules_->suffixes)
    if (out.ends_with(r.from)) {
      if (!r.to) return std::nullopt;
      out = out.substr(0, out.size() - r.from.size()) + *r.to;
      break;
    }
  for (const auto& r : rules_->substrings) {
    const size_t at = out.find(r.from);
    if (at != std::string::npos) {
      if (!r.to) return std::nullopt;
      out.replace(at, r.from.size(), *r.to);
      break;
    }
  }
  for (const auto& r : rules_->patterns)
    if (std::regex_search(out, r.re)) {
      if (!r.to) return std::nullopt;
      out = std::regex_replace(out, r.re, *r.to, std::regex_constants::format_first_only);
      break;
    }
  return out;
}

}  // namespace pagoda
