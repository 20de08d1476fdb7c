#include "pagoda/weight_loading.h"

#include <fmt/format.h>

#include "pagoda/error.h"

namespace pagoda {
namespace {

bool skipped(const std::string& name, const WeightLoadingRules& rules) {
  for (const auto& p : rules.skip_prefixes)
    if (name.starts_with(p)) return true;
  for (const auto& s : rules.skip_substrings)
    if (name.find(s) != std::string::npos) return true;
  return false;
}

}  // namespace

WeightLoadResult load_weights(ParameterSet& parameters, WeightIterator& weights, const WeightLoadingRules& rules,
                              bool validate_only) {
  WeightLoadResult result;
  while (auto item = weights.next()) {
    auto& [original, tensor] = *item;
    std::string name = original;
    if (rules.mapper) {
      auto mapped = rules.mapper->apply(name);
      if (!mapped) continue;
      name = std::move(*mapped);
    }
    if (skipped(name, rules)) continue;

    std::string param_name = name;
    std::string shard_id;
    for (const auto& s : rules.stacked) {
      const size_t at = name.find(s.weight_name);
      if (at == std::string::npos) continue;
      param_name = name.substr(0, at) + s.param_name + name.substr(at + s.weight_name.size());
      shard_id = s.shard_id;
      break;
    }
    Parameter* param = parameters.find(param_name);
    if (!param) {
      result.unexpected.emplace_back(original, tensor.shape());
      continue;
    }
    try {
      param->loader(param->data, tensor, shard_id, validate_only);
    } catch (const Error& e) {
      // Name the checkpoint tensor and the parameter: the loader only knows its own side.
      throw Error(e.code(),
                  fmt::format("loading checkpoint tensor '{}' into parameter '{}'{}: {}", original, param_name,
                              shard_id.empty() ? "" : fmt::format(" (shard '{}')", shard_id), e.problem()),
                  e.fix());
    }
    result.loaded.insert(param_name);
  }
  return result;
}

void check_weights_complete(const ParameterSet& parameters, const WeightLoadResult& result) {
  std::vector<std::string> missing;
  for (const auto& name : parameters.names())
    if (!result.loaded.contains(name))
      missing.push_back(fmt::format("{} {}", name, parameters.find(name)->data.shape().to_string()));
  if (missing.empty() && result.unexpected.empty()) return;
  std::vector<std::string> unexpected;
  for (const auto& [name, shape] : result.unexpected) unexpected.push_back(fmt::format("{} {}", name, shape.to_string()));
  throw_error(ErrorCode::InvalidFormat,
              fmt::format("the checkpoint does not match the model: {} parameter(s) missing from the checkpoint "
                          "[{}]; {} checkpoint tensor(s) match no parameter [{}]",
                          missing.size(), fmt::join(missing, ", "), unexpected.size(), fmt::join(unexpected, ", ")),
              "check that config.json's 'architectures' names the right model for these weights, and that the "
              "checkpoint is complete (`pagoda check MODEL_DIR` reports every mismatch)");
}

}  // namespace pagoda

#include "pagoda/model.h"

namespace pagoda {

std::set<std::string> Model::load_weights(WeightIterator& weights) {
  PAGODA_CHECK(parameters_ != nullptr, InvalidArgument,
               "this model was constructed without a ParameterSet, so it has nothing to load into",
               "construct the model with ModelInitContext::parameters set (and pass the context to Model's "
               "constructor)");
  WeightLoadResult result = pagoda::load_weights(*parameters_, weights, weight_loading_rules());
  check_weights_complete(*parameters_, result);
  return result.loaded;
}

}  // namespace pagoda
