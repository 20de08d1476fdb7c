// Defaults of transformers' text config classes, for nested text configs.
//
// Why: when transformers saves a composite config (Llava, Gemma3, ...), each sub-config is written
// as its difference from the sub-config class's defaults. Llava-1.5's text_config therefore lacks
// hidden_size, num_attention_heads, ... (LlamaConfig supplies them) and gemma-3-4b-it's lacks
// num_attention_heads, head_dim, vocab_size, ... (Gemma3TextConfig supplies them). Top-level
// configs are written in full, so only nested text configs are filled from this table, and only
// for keys that are absent (a null stays null, as transformers keeps it).
//
// Values are the class defaults of transformers (configuration_<model>.py), limited to the keys
// Pagoda derives from or that the model files read.
#include <map>
#include <string>

#include "loader/model_config_internal.h"

namespace pagoda::config_detail {
namespace {

const std::map<std::string, nlohmann::json, std::less<>>& defaults_table() {
  static const std::map<std::string, nlohmann::json, std::less<>> table{
      {"llama", nlohmann::json::parse(R"({
        "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 11008,
        "num_hidden_layers": 32, "num_attention_heads": 32, "hidden_act": "silu",
        "max_position_embeddings": 2048, "rms_norm_eps": 1e-6, "tie_word_embeddings": false,
        "rope_theta": 10000.0, "attention_bias": false, "mlp_bias": false})")},
      {"mistral", nlohmann::json::parse(R"({
        "vocab_size": 32000, "hidden_size": 4096, "intermediate_size": 14336,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
        "hidden_act": "silu", "max_position_embeddings": 131072, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": false, "rope_theta": 10000.0, "sliding_window": 4096})")},
      {"qwen2", nlohmann::json::parse(R"({
        "vocab_size": 151936, "hidden_size": 4096, "intermediate_size": 22016,
        "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 32,
        "hidden_act": "silu", "max_position_embeddings": 32768, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": false, "rope_theta": 10000.0, "use_sliding_window": false,
        "sliding_window": 4096, "max_window_layers": 28})")},
      {"gemma", nlohmann::json::parse(R"({
        "vocab_size": 256000, "hidden_size": 3072, "intermediate_size": 24576,
        "num_hidden_layers": 28, "num_attention_heads": 16, "num_key_value_heads": 16,
        "head_dim": 256, "max_position_embeddings": 8192, "rms_norm_eps": 1e-6,
        "tie_word_embeddings": true, "rope_theta": 10000.0})")},
      {"gemma2", nlohmann::json::parse(R"({
        "vocab_size": 256000, "hidden_size": 2304, "intermediate_size": 9216,
        "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
        "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 8192, "rms_norm_eps": 1e-6, "tie_word_embeddings": true,
        "rope_theta": 10000.0, "query_pre_attn_scalar": 256, "sliding_window": 4096,
        "final_logit_softcapping": 30.0, "attn_logit_softcapping": 50.0})")},
      {"gemma3_text", nlohmann::json::parse(R"({
        "vocab_size": 262208, "hidden_size": 2304, "intermediate_size": 9216,
        "num_hidden_layers": 26, "num_attention_heads": 8, "num_key_value_heads": 4,
        "head_dim": 256, "hidden_activation": "gelu_pytorch_tanh",
        "max_position_embeddings": 131072, "rms_norm_eps": 1e-6, "tie_word_embeddings": true,
        "rope_theta": 1000000.0, "query_pre_attn_scalar": 256, "sliding_window": 4096,
        "rope_local_base_freq": 10000.0, "sliding_window_pattern": 6})")},
  };
  return table;
}

}  // namespace

const nlohmann::json* text_config_defaults(std::string_view text_model_type) {
  const auto& table = defaults_table();
  const auto it = table.find(text_model_type);
  return it == table.end() ? nullptr : &it->second;
}

std::string_view implied_text_model_type(std::string_view parent_model_type) {
  // The text config class each composite config instantiates when text_config has no model_type.
  static constexpr std::pair<std::string_view, std::string_view> kImplied[] = {
      {"llava", "llama"},        {"llava_next", "llama"},      {"llava_next_video", "llama"},
      {"vipllava", "llama"},     {"llava_onevision", "qwen2"}, {"mistral3", "mistral"},
      {"gemma3", "gemma3_text"}, {"paligemma", "gemma"},
  };
  for (const auto& [parent, text] : kImplied)
    if (parent == parent_model_type) return text;
  return "";
}

}  // namespace pagoda::config_detail
