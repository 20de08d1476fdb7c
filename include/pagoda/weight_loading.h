// Loading checkpoint tensors into a model's parameters, as vLLM's load_weights loops and
// AutoWeightsLoader: rename (WeightsMapper), skip (tied lm_head, rotary caches), route stacked
// names into fused parameters with a shard id (q_proj -> qkv_proj "q"), call each parameter's
// loader, and check strictly that nothing is missing or left over.
#pragma once

#include <set>
#include <string>
#include <utility>
#include <vector>

#include <optional>

#include "pagoda/layers/parameter.h"
#include "pagoda/weights_mapper.h"

namespace pagoda {

// A lazy sequence of checkpoint tensors (name, tensor), typically read-only views into mmapped
// safetensors files (see CheckpointWeights in pagoda/safetensors.h).
class WeightIterator {
 public:
  virtual ~WeightIterator() = default;
  // The next tensor, or nullopt at the end.
  virtual std::optional<std::pair<std::string, Tensor>> next() = 0;
};

// A checkpoint name part that belongs to a fused parameter: a tensor named "...<weight_name>..."
// loads into "...<param_name>..." as shard `shard_id`. Llama's:
//   {".qkv_proj", ".q_proj", "q"}, {".qkv_proj", ".k_proj", "k"}, {".qkv_proj", ".v_proj", "v"},
//   {".gate_up_proj", ".gate_proj", "0"}, {".gate_up_proj", ".up_proj", "1"}
struct StackedParameter {
  std::string param_name;
  std::string weight_name;
  std::string shard_id;
};

struct WeightLoadingRules {
  std::vector<StackedParameter> stacked;
  const WeightsMapper* mapper = nullptr;  // applied first
  // Checkpoint names to ignore: by prefix ("lm_head." when embeddings are tied) and by substring.
  std::vector<std::string> skip_prefixes;
  // Rotary caches some checkpoints carry are always skipped; add more here.
  std::vector<std::string> skip_substrings = {"rotary_emb.inv_freq", "rotary_emb.cos_cached",
                                              "rotary_emb.sin_cached"};
};

// What a load did: the parameters it filled and the checkpoint tensors that matched none.
struct WeightLoadResult {
  std::set<std::string> loaded;
  std::vector<std::pair<std::string, Shape>> unexpected;
};

// Feeds every checkpoint tensor to its parameter's loader. validate_only: loaders check shapes
// and copy nothing (`pagoda check`).
WeightLoadResult load_weights(ParameterSet& parameters, WeightIterator& weights, const WeightLoadingRules& rules,
                              bool validate_only = false);

// Throws pagoda::Error listing, together, the parameters no checkpoint tensor filled and the
// checkpoint tensors that matched no parameter, with their shapes.
void check_weights_complete(const ParameterSet& parameters, const WeightLoadResult& result);


}  // namespace pagoda
