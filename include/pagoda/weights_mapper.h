// Renames checkpoint tensor names to the names of a model's parameters, as vLLM's WeightsMapper:
// by regular expression, substring, prefix and suffix, in that order. Mapping a pattern to
// std::nullopt drops the tensor (e.g. rotary caches some checkpoints store).
//
//   WeightsMapper mapper;
//   mapper.prefix("model.language_model.", "model.")
//         .substring(".gamma", ".weight")
//         .regex(R"(^transformer\.h\.(\d+)\.)", "model.layers.$1.")
//         .prefix("vision_tower.", std::nullopt);  // not used by the text model: drop
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace pagoda {

class WeightsMapper {
 public:
  WeightsMapper();
  ~WeightsMapper();
  WeightsMapper(WeightsMapper&&) noexcept;
  WeightsMapper& operator=(WeightsMapper&&) noexcept;

  // Kinds apply in the order regex, substring, prefix, suffix (as vLLM); within a kind, every rule
  // applies in the order added, each to the result of the previous one (a regex or substring
  // rule replaces its first occurrence).
  WeightsMapper& prefix(std::string from, std::optional<std::string> to);
  WeightsMapper& suffix(std::string from, std::optional<std::string> to);
  WeightsMapper& substring(std::string from, std::optional<std::string> to);
  // Perl (PCRE2) syntax; `to` may use $1.. for groups. Throws pagoda::Error for a bad pattern.
  WeightsMapper& regex(const std::string& pattern, std::optional<std::string> to);

  // The mapped name, or nullopt when a rule drops it.
  std::optional<std::string> apply(const std::string& name) const;

 private:
  struct Rules;
  std::unique_ptr<Rules> rules_;
};

}  // namespace pagoda
