// Pipeline-parallel pieces every model shares: the tensors passed between stages, the split of
// decoder layers over stages, and the single-stage default of Model::forward_stage.
#include <fmt/format.h>

#include <cstdlib>
#include <sstream>

#include "pagoda/error.h"
#include "pagoda/model.h"

namespace pagoda {
namespace {

std::string names_of(const IntermediateTensors& t) {
  std::string out;
  for (const auto& [name, tensor] : t.tensors) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

// PAGODA_PP_LAYER_PARTITION="10,12,10": layers per stage, summing to num_layers.
std::vector<int64_t> partition_from_env(const char* text, int64_t num_layers, int pp_size) {
  std::vector<int64_t> parts;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) {
    char* end = nullptr;
    const long long n = std::strtoll(item.c_str(), &end, 10);
    PAGODA_CHECK(end != item.c_str() && *end == '\0' && n > 0, InvalidArgument,
                 fmt::format("PAGODA_PP_LAYER_PARTITION '{}' has '{}', not a positive layer count",
                             text, item),
                 "write one positive count per stage, e.g. 10,12,10");
    parts.push_back(n);
  }
  int64_t sum = 0;
  for (int64_t p : parts) sum += p;
  PAGODA_CHECK(
      static_cast<int>(parts.size()) == pp_size && sum == num_layers, InvalidArgument,
      fmt::format("PAGODA_PP_LAYER_PARTITION '{}' gives {} stages and {} layers; the model has {} "
                  "layers over {} stages",
                  text, parts.size(), sum, num_layers, pp_size),
      "give one count per pipeline stage, summing to the model's num_hidden_layers");
  return parts;
}

}  // namespace

const Tensor& IntermediateTensors::at(std::string_view name) const {
  for (const auto& [n, t] : tensors)
    if (n == name) return t;
  throw Error(
      ErrorCode::InvalidArgument,
      fmt::format("the previous pipeline stage sent no '{}' (it sent: {})", name, names_of(*this)),
      "every stage must run the same model");
}

void IntermediateTensors::set(std::string name, Tensor tensor) {
  for (auto& [n, t] : tensors)
    if (n == name) {
      t = std::move(tensor);
      return;
    }
  tensors.emplace_back(std::move(name), std::move(tensor));
}

LayerRange pp_layer_range(int64_t num_layers, int pp_rank, int pp_size) {
  PAGODA_CHECK(pp_size >= 1 && pp_rank >= 0 && pp_rank < pp_size, InvalidArgument,
               fmt::format("pipeline stage {} of {}", pp_rank, pp_size),
               "use a stage in [0, pp_size)");
  PAGODA_CHECK(
      num_layers >= pp_size, InvalidArgument,
      fmt::format("{} decoder layers cannot be split over {} pipeline stages", num_layers, pp_size),
      fmt::format("use --pipeline-parallel-size {} or less", num_layers));
  std::vector<int64_t> parts;
  if (const char* env = std::getenv("PAGODA_PP_LAYER_PARTITION"); env != nullptr && *env != '\0') {
    parts = partition_from_env(env, num_layers, pp_size);
  } else {
    parts.assign(static_cast<size_t>(pp_size), num_layers / pp_size);
    // The extra layers go to the stages before the last, which also runs the norm and logits.
    const int64_t extra = num_layers % pp_size;
    for (int64_t i = 2; i < extra + 2; ++i) ++parts[static_cast<size_t>(pp_size - i)];
  }
  LayerRange range;
  for (int s = 0; s < pp_rank; ++s) range.begin += parts[static_cast<size_t>(s)];
  range.end = range.begin + parts[static_cast<size_t>(pp_rank)];
  return range;
}

void skip_layers_outside(WeightLoadingRules& rules, const std::string& layers_prefix,
                         int64_t num_layers, LayerRange range) {
  for (int64_t i = 0; i < num_layers; ++i)
    if (!range.contains(i)) rules.skip_prefixes.push_back(fmt::format("{}.{}.", layers_prefix, i));
}

IntermediateTensors Model::forward_stage(const Tensor& input_ids, const Tensor& positions,
                                         ForwardContext& context,
                                         const IntermediateTensors& /*inputs*/) {
  PAGODA_CHECK(
      parallel_.pp_size == 1, Unsupported,
      fmt::format("this model does not support pipeline parallelism, but it is stage {} of {}",
                  parallel_.pp_rank, parallel_.pp_size),
      "run it with --pipeline-parallel-size 1 (tensor parallelism still works)");
  IntermediateTensors out;
  out.set("hidden_states", forward(input_ids, positions, context));
  return out;
}

IntermediateTensors Model::make_empty_intermediate_tensors(int64_t /*num_tokens*/) const {
  throw Error(ErrorCode::Unsupported, "this model does not support pipeline parallelism",
              "run it with --pipeline-parallel-size 1 (tensor parallelism still works)");
}

}  // namespace pagoda
