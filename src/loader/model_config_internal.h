// Pieces of ModelConfig's derivation, one file each (model_config_*.cpp), declared here so that
// model_config.cpp can assemble them and tests can reach them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pagoda/model_config.h"

namespace pagoda::config_detail {

// model_config_defaults.cpp: the defaults of transformers' text config classes for keys that
// Hugging Face omits from nested text configs. nullptr for model types without a table.
const nlohmann::json* text_config_defaults(std::string_view text_model_type);
// The text model type a multimodal config implies when its text_config names none (Llava ->
// "llama", Gemma3 -> "gemma3_text", ...); "" when unknown.
std::string_view implied_text_model_type(std::string_view parent_model_type);

// model_config_rope.cpp
struct RopeSet {
  RopeConfig main;
  std::vector<std::pair<std::string, RopeConfig>> by_layer_type;
  // True when by_layer_type comes from nested rope_parameters in the config (and so takes part
  // in the max-length scaling), false when synthesised (Gemma3's rope_local_base_freq).
  bool nested_in_config = false;
  bool has_rope_block = false;  // rope_scaling / rope_parameters present
};
RopeSet derive_rope(const HfConfig& text_config, int64_t head_size,
                    int64_t max_position_embeddings);

// model_config_max_len.cpp
struct MaxModelLen {
  int64_t derived = 0;
  int64_t chosen = 0;
  std::string origin;
};
MaxModelLen derive_max_model_len(const HfConfig& text_config, const std::string& text_model_type,
                                 const RopeSet& rope, std::optional<int64_t> sliding_window,
                                 const ModelConfigOptions& options);
// The smallest of the max-length keys (vLLM's possible_keys), with the key's name; nullopt when
// the config has none of them.
std::optional<std::pair<std::string, int64_t>> smallest_max_len_key(const HfConfig& text_config);

// model_config_dtype.cpp
struct DTypeChoice {
  std::optional<DType> config_dtype;
  DType dtype = DType::BF16;
};
DTypeChoice resolve_dtype(const HfConfig& config, const HfConfig& text_config,
                          const ModelConfigOptions& options);

// model_config_shape.cpp: heads, sizes, layers, experts, norms, sliding window.
void derive_shape(ModelConfig& out);

}  // namespace pagoda::config_detail
