// A model's config.json: typed access to its keys (HfConfig) and the values Pagoda derives from it
// the way vLLM does (ModelConfig: kv heads, head size, max model length, dtype, RoPE, ...).
//
// Raw JSON is exposed as nlohmann::json (declared here; include <nlohmann/json.hpp> to use it).
#pragma once

#include <cstdint>
#include <filesystem>
#include <initializer_list>
#include <memory>
#include <nlohmann/json_fwd.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pagoda/dtype.h"
#include "pagoda/rope_config.h"

namespace pagoda {

// One JSON object of a Hugging Face config: config.json itself, or an object inside it such as
// its `text_config` or `rope_scaling`. Getters throw pagoda::Error(InvalidConfig) naming the file,
// the key's full path (e.g. 'text_config.hidden_size'), the expected type and the value found,
// with a fix. A key whose value is null counts as absent, as `getattr(config, key, None)` does.
// Integers written as integral floats (4096.0) are accepted as integers; other numbers are not.
// Copies are cheap (the object is shared and immutable).
class HfConfig {
 public:
  HfConfig();  // an empty object, source "<empty config>"

  // Reads `path` (a config.json). Missing file: NotFound; bad JSON: InvalidFormat with the
  // character position; not an object: InvalidConfig.
  static HfConfig from_file(const std::filesystem::path& path);
  // Reads `dir`/config.json.
  static HfConfig from_model_dir(const std::filesystem::path& dir);
  // Parses JSON text; `source` names it in error messages.
  static HfConfig from_string(std::string_view json_text, std::string source = "<config string>");
  // Copies an already-parsed object. `key_prefix` ("text_config.") is prepended to key names in
  // messages when the object sits inside another one. `override_option` names the option that
  // can override keys in error messages' fixes ("" for none: the file must be edited).
  static HfConfig from_json(const nlohmann::json& object, std::string source,
                            std::string key_prefix = "",
                            std::string override_option = "hf_overrides");

  // Returns this config with `overrides_json` (a JSON object, like vLLM's --hf-overrides) merged
  // in: objects are merged recursively, so '{"text_config": {"num_hidden_layers": 2}}' changes one
  // key of the text config; other values replace the original. `rope_scaling` and
  // `rope_parameters` are replaced as a whole, because a RoPE block describes one scheme and
  // mixing two schemes' keys is never meant. Malformed JSON: InvalidConfig naming the character
  // position.
  HfConfig with_overrides(std::string_view overrides_json) const;

  // The config the language model reads, as vLLM's get_text_config(): the `text_config` object of
  // multimodal configs (Llava, Gemma3, Mistral3, ...), else this config itself. Keys that
  // transformers' text config class supplies by default and that Hugging Face therefore omits
  // from nested configs (e.g. Llava-1.5's text_config has no hidden_size: LlamaConfig's 4096)
  // are filled in for the common text model types; see model_config_defaults.cpp.
  HfConfig text_config() const;
  bool has_text_config() const;
  // The object under `key` (e.g. "vision_config", "rope_scaling"), or nullopt when absent/null.
  // Throws when the value is not an object.
  std::optional<HfConfig> sub_config(std::string_view key) const;

  // True when `key` is present and not null.
  bool has(std::string_view key) const;

  int64_t get_int(std::string_view key) const;  // required
  int64_t get_int_or(std::string_view key, int64_t fallback) const;
  std::optional<int64_t> find_int(std::string_view key) const;  // nullopt when absent

  double get_double(std::string_view key) const;  // integers are accepted
  double get_double_or(std::string_view key, double fallback) const;
  std::optional<double> find_double(std::string_view key) const;

  std::string get_string(std::string_view key) const;
  std::string get_string_or(std::string_view key, std::string_view fallback) const;
  std::optional<std::string> find_string(std::string_view key) const;

  bool get_bool(std::string_view key) const;
  bool get_bool_or(std::string_view key, bool fallback) const;
  std::optional<bool> find_bool(std::string_view key) const;

  std::vector<int64_t> get_int_list(std::string_view key) const;
  std::optional<std::vector<int64_t>> find_int_list(std::string_view key) const;
  std::vector<double> get_double_list(std::string_view key) const;
  std::optional<std::vector<double>> find_double_list(std::string_view key) const;
  std::vector<std::string> get_string_list(std::string_view key) const;
  std::optional<std::vector<std::string>> find_string_list(std::string_view key) const;
  // An integer or a list of integers (`eos_token_id`); empty when absent.
  std::vector<int64_t> find_int_or_int_list(std::string_view key) const;

  // The first present key of `keys` with its integer value (e.g. {"num_hidden_layers",
  // "n_layer", "num_layers"}); nullopt when none is present.
  std::optional<std::pair<std::string, int64_t>> find_first_int(
      std::initializer_list<std::string_view> keys) const;
  // Like find_first_int, but a missing value is an error naming every accepted key.
  int64_t get_first_int(std::initializer_list<std::string_view> keys) const;

  // Raw access for model-specific keys: this object, and the value under `key` (nullptr when
  // absent or null).
  const nlohmann::json& json() const;
  const nlohmann::json* find(std::string_view key) const;

  // This object's "model_type" ("" when absent) and "architectures" (empty when absent).
  std::string model_type() const;
  std::vector<std::string> architectures() const;

  // Where the config came from ("/models/llama/config.json") and where this object sits in it
  // ("" at the top level, "text_config." in the text config).
  const std::string& source() const { return source_; }
  const std::string& key_prefix() const { return key_prefix_; }
  // "'text_config.hidden_size' in /models/llava/config.json", for error messages.
  std::string describe_key(std::string_view key) const;

  // Throws InvalidConfig for `key` with the given problem detail and the standard fix (edit the
  // file or use hf_overrides). Used by derivations that find an invalid value.
  [[noreturn]] void fail(std::string_view key, std::string_view problem,
                         std::string_view expected_example) const;

  // Keys of this config (and of its "text_config", as "text_config.<key>") that nothing has read
  // through this object, its copies or its text_config() view: what `pagoda check` reports as
  // unused. Reads are recorded by every typed getter, has() and find().
  std::vector<std::string> unread_keys() const;

 private:
  HfConfig(std::shared_ptr<const nlohmann::json> object, std::string source, std::string prefix,
           std::string override_option);
  HfConfig child(nlohmann::json object, std::string prefix) const;
  // ", or override it with hf_overrides='{...}'" for `key`, or "" without an override option.
  std::string override_hint(std::string_view verb, std::string_view key,
                            std::string_view value) const;
  const nlohmann::json& require(std::string_view key, std::string_view expected) const;
  std::string location() const;  // "the 'text_config' object in /m/config.json"
  [[noreturn]] void type_error(std::string_view key, const nlohmann::json& found,
                               std::string_view expected) const;

  struct ReadKeys;  // shared by copies and children; thread-safe
  std::shared_ptr<const nlohmann::json> object_;
  std::shared_ptr<ReadKeys> read_keys_;
  std::string source_;
  std::string key_prefix_;
  std::string override_option_;
};

// Choices that come from the user (engine arguments), not from config.json.
struct ModelConfigOptions {
  // JSON object merged into config.json before anything is derived (vLLM's --hf-overrides).
  std::string hf_overrides;
  // "auto", "bfloat16", "float16", "half", "float32" or "float" (vLLM's --dtype).
  std::string dtype = "auto";
  // Requested context length; nullopt derives it from the config (vLLM's --max-model-len).
  std::optional<int64_t> max_model_len;
  // Accept a max_model_len above the derived one with a warning instead of an error, like
  // VLLM_ALLOW_LONG_MAX_MODEL_LEN=1. Positions past the trained range give garbage or NaN.
  bool allow_long_max_model_len = false;
  // Cap the context at the sliding window and attend fully (vLLM's --disable-sliding-window).
  bool disable_sliding_window = false;
  // Floating-point types the target device computes in, preferred first; "auto" picks from it.
  // The default is vLLM's CPU backend list. CUDA sm80+ uses the same list; older GPUs {F16, F32}.
  std::vector<DType> platform_dtypes = {DType::BF16, DType::F16, DType::F32};
  // The checkpoint's weight dtype (e.g. from safetensors headers), used by "auto" only when the
  // config names no dtype; float32 is assumed when neither is known, as vLLM does.
  std::optional<DType> weights_dtype;
};

// The values Pagoda derives from config.json, each exactly as vLLM's ModelConfig derives it
// (vllm/config/model.py). Architecture facts are read from the text config (see
// HfConfig::text_config); `architectures` and `model_type` from the top level.
struct ModelConfig {
  HfConfig hf_config;       // config.json after hf_overrides
  HfConfig hf_text_config;  // hf_config.text_config()

  std::vector<std::string> architectures;  // top-level "architectures"
  std::string model_type;                  // top-level "model_type"
  std::string text_model_type;             // the text config's "model_type"

  // hidden_size (also n_embd, d_model).
  int64_t hidden_size = 0;
  // num_attention_heads (also n_head, num_heads, n_heads).
  int64_t num_attention_heads = 0;
  // Total KV heads before tensor parallelism: 1 for multi_query models (except Falcon's
  // new_decoder_architecture), else the first present of n_head_kv, num_kv_heads,
  // num_key_value_heads, multi_query_group_num (vLLM's order), else num_attention_heads.
  int64_t num_kv_heads = 0;
  // head_dim when present and not null, else hidden_size / num_attention_heads.
  int64_t head_size = 0;
  // num_hidden_layers (also n_layer, num_layers, n_layers).
  int64_t num_hidden_layers = 0;
  // vocab_size (also padded_vocab_size, ChatGLM).
  int64_t vocab_size = 0;
  // intermediate_size (also ffn_hidden_size, n_inner); nullopt when the config has none.
  std::optional<int64_t> intermediate_size;
  // rms_norm_eps, layer_norm_eps, layer_norm_epsilon or layernorm_epsilon.
  std::optional<double> norm_eps;
  // tie_word_embeddings of the text config, else the top level. When absent: true (the
  // PretrainedConfig default that transformers leaves implicit when saving, e.g. Gemma2, GPT-2,
  // Falcon), except for model types whose config class defaults to false (llama, qwen2, ...).
  bool tie_word_embeddings = false;

  // Experts of a mixture-of-experts model (num_experts, moe_num_experts, n_routed_experts or
  // num_local_experts); 0 for dense models.
  int64_t num_experts = 0;
  std::optional<int64_t> num_experts_per_tok;

  // The attention window, nullopt for full attention: sliding_window unless null, absent, or
  // switched off by `use_sliding_window: false` (Qwen2 style) or disable_sliding_window. Which
  // layers use it is model-specific: see max_window_layers and layer_types.
  std::optional<int64_t> sliding_window;
  std::optional<int64_t> max_window_layers;  // Qwen2: layers from this index on use the window
  std::vector<std::string> layer_types;      // "full_attention"/"sliding_attention" per layer

  // The longest context the config supports: the smallest of max_position_embeddings,
  // n_positions, max_seq_len, seq_length, model_max_length, max_target_positions,
  // max_sequence_length, max_seq_length and seq_len (model_max_length wins when set), multiplied
  // by the RoPE factor for linear/dynamic/yarn scaling (yarn: original_max_position_embeddings *
  // factor); 2048 when no key is present.
  int64_t derived_max_model_len = 0;
  // The context length in effect: the requested one, else derived_max_model_len, except for
  // longrope models, where vLLM defaults to original_max_position_embeddings (4096 for
  // Phi-3-mini-128k) because the long factors degrade shorter sequences; request more explicitly.
  int64_t max_model_len = 0;
  // Human-readable origin of derived_max_model_len ("max_position_embeddings=32768 * yarn factor
  // 4"), for messages.
  std::string max_model_len_origin;

  // The dtype config.json names ("dtype", transformers v5, or "torch_dtype"), nullopt when none.
  std::optional<DType> config_dtype;
  // The dtype weights and activations use, resolved from options.dtype as vLLM does: "auto" takes
  // the config's dtype, except that float32 checkpoints run in the platform's preferred type
  // (bfloat16 on CPU) and a type the platform or model cannot use falls back to it. Ask for
  // "float32" explicitly to compute in float32.
  DType dtype = DType::BF16;

  // RoPE of the (global) attention layers, and per layer type when the config gives layer types
  // different parameters (transformers v5 nested rope_parameters, Gemma3's rope_local_base_freq).
  RopeConfig rope;
  std::vector<std::pair<std::string, RopeConfig>> rope_by_layer_type;
  // The attention window of decoder layer `layer`, as vLLM and transformers assign it: with
  // layer_types, the window for "sliding_attention" layers only; else with max_window_layers
  // (Qwen2), layers from that index on; else every layer (Mistral). nullopt without a window.
  std::optional<int64_t> sliding_window_for_layer(int64_t layer) const;
  // RoPE for a layer type ("sliding_attention"); `rope` when the type has no entry of its own.
  const RopeConfig& rope_for_layer_type(std::string_view layer_type) const;

  // Special tokens declared in config.json (top level, else the text config); generation_config
  // adds more EOS ids (see GenerationConfig).
  std::vector<int64_t> eos_token_ids;
  std::optional<int64_t> bos_token_id;
  std::optional<int64_t> pad_token_id;

  // Loads `dir`/config.json and derives everything. Every problem is a pagoda::Error naming the
  // file and key with a fix.
  static ModelConfig from_model_dir(const std::filesystem::path& dir,
                                    const ModelConfigOptions& options = {});
  static ModelConfig from_json_string(std::string_view json_text,
                                      const ModelConfigOptions& options = {},
                                      std::string source = "<config string>");
  static ModelConfig from_hf_config(const HfConfig& config, const ModelConfigOptions& options = {});
};

}  // namespace pagoda
