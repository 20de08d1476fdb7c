// ModelConfig: config.json + hf_overrides -> the derived values, in vLLM's order.
#include "pagoda/model_config.h"

#include <fmt/format.h>

#include "loader/model_config_internal.h"
#include "pagoda/logging.h"

namespace pagoda {

ModelConfig ModelConfig::from_hf_config(const HfConfig& config, const ModelConfigOptions& options) {
  using namespace config_detail;
  ModelConfig m;
  m.hf_config = config.with_overrides(options.hf_overrides);
  m.hf_text_config = m.hf_config.text_config();
  m.architectures = m.hf_config.architectures();
  m.model_type = m.hf_config.model_type();
  m.text_model_type = m.hf_text_config.model_type();
  if (m.architectures.empty())
    log::warn(
        "{} has no 'architectures'; pass hf_overrides='{{\"architectures\": [\"...\"]}}' "
        "to name the model class",
        m.hf_config.source());

  derive_shape(m);

  const HfConfig& text = m.hf_text_config;
  int64_t max_position = 2048;
  if (auto v = text.find_int("max_position_embeddings"))
    max_position = *v;
  else if (auto smallest = smallest_max_len_key(text))
    max_position = smallest->second;
  const RopeSet rope = derive_rope(text, m.head_size, max_position);
  m.rope = rope.main;
  m.rope_by_layer_type = rope.by_layer_type;

  const MaxModelLen len =
      derive_max_model_len(text, m.text_model_type, rope, m.sliding_window, options);
  m.derived_max_model_len = len.derived;
  m.max_model_len = len.chosen;
  m.max_model_len_origin = len.origin;
  // After the length is capped to the window, as vLLM orders it.
  if (options.disable_sliding_window) m.sliding_window.reset();

  const DTypeChoice dtype = resolve_dtype(m.hf_config, text, options);
  m.config_dtype = dtype.config_dtype;
  m.dtype = dtype.dtype;
  return m;
}

ModelConfig ModelConfig::from_model_dir(const std::filesystem::path& dir,
                                        const ModelConfigOptions& options) {
  return from_hf_config(HfConfig::from_model_dir(dir), options);
}

ModelConfig ModelConfig::from_json_string(std::string_view json_text,
                                          const ModelConfigOptions& options, std::string source) {
  return from_hf_config(HfConfig::from_string(json_text, std::move(source)), options);
}

std::optional<int64_t> ModelConfig::sliding_window_for_layer(int64_t layer) const {
  if (!sliding_window) return std::nullopt;
  if (!layer_types.empty()) {
    const bool sliding = layer >= 0 && layer < static_cast<int64_t>(layer_types.size()) &&
                         layer_types[static_cast<size_t>(layer)] == "sliding_attention";
    return sliding ? sliding_window : std::nullopt;
  }
  if (max_window_layers) return layer >= *max_window_layers ? sliding_window : std::nullopt;
  return sliding_window;
}

const RopeConfig& ModelConfig::rope_for_layer_type(std::string_view layer_type) const {
  for (const auto& [type, config] : rope_by_layer_type)
    if (type == layer_type) return config;
  return rope;
}

}  // namespace pagoda
