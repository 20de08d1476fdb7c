// Sizes, heads, layers, experts, norms and the sliding window, read from the text config under
// the names the model families use, as vLLM's ModelConfig getters read them.
#include <fmt/format.h>

#include <algorithm>

#include "loader/model_config_internal.h"
#include "pagoda/error.h"

namespace pagoda::config_detail {
namespace {

// Far above any real head (256 today), and small enough for RopeConfig's int fields.
constexpr int64_t kMaxHeadSize = 1 << 16;

int64_t positive_first(const HfConfig& config, std::initializer_list<std::string_view> keys) {
  const int64_t value = config.get_first_int(keys);
  if (value <= 0) {
    const auto found = config.find_first_int(keys);
    config.fail(found->first, fmt::format("is {}; it must be positive", value), "<integer>");
  }
  return value;
}

int64_t head_size_of(const HfConfig& text, int64_t hidden_size, int64_t num_heads) {
  // Some configs write head_dim: null; that means "derive it".
  for (std::string_view key : {"head_dim", "hidden_size_per_head"}) {
    if (auto v = text.find_int(key)) {
      if (*v <= 0 || *v > kMaxHeadSize)
        text.fail(key, fmt::format("is {}; it must be in [1, {}]", *v, kMaxHeadSize), "<integer>");
      return *v;
    }
  }
  if (hidden_size % num_heads != 0 || hidden_size / num_heads > kMaxHeadSize)
    text.fail("head_dim",
              fmt::format("is missing and hidden size {} does not divide into {} attention "
                          "heads of at most {} dimensions, so the head size cannot be derived",
                          hidden_size, num_heads, kMaxHeadSize),
              "the model's per-head dimension");
  return hidden_size / num_heads;
}

// vLLM's get_total_num_kv_heads.
int64_t total_kv_heads(const HfConfig& config, const HfConfig& text, int64_t num_heads) {
  const std::string model_type = config.model_type();
  const bool falcon =
      model_type == "falcon" || model_type == "RefinedWeb" || model_type == "RefinedWebModel";
  // Falcon's new decoder architecture ignores multi_query and states n_head_kv.
  const bool new_decoder_falcon = falcon && config.get_bool_or("new_decoder_architecture", false);
  if (!new_decoder_falcon && text.get_bool_or("multi_query", false)) return 1;

  if (model_type == "mpt" || model_type == "dbrx") {
    if (auto attn = config.sub_config("attn_config"))
      return attn->get_int_or("kv_n_heads", num_heads);
    return num_heads;
  }
  const auto found = text.find_first_int(
      {"n_head_kv", "num_kv_heads", "num_key_value_heads", "multi_query_group_num"});
  if (!found) return num_heads;
  const auto& [key, kv] = *found;
  if (kv <= 0 || num_heads % kv != 0)
    text.fail(key,
              fmt::format("is {}; the {} attention heads must split evenly into KV head groups", kv,
                          num_heads),
              "a positive divisor of num_attention_heads");
  return kv;
}

// vLLM's get_num_experts: the first expert-count key; Ernie writes a list of equal counts.
int64_t num_experts_of(const HfConfig& text) {
  for (std::string_view key :
       {"num_experts", "moe_num_experts", "n_routed_experts", "num_local_experts"}) {
    const nlohmann::json* v = text.find(key);
    if (v == nullptr) continue;
    if (v->is_array()) {
      const auto list = text.get_int_list(key);
      return list.empty() ? 0 : list.front();
    }
    return text.get_int(key);
  }
  return 0;
}

std::optional<int64_t> sliding_window_of(const HfConfig& text) {
  // Qwen2 style: the window is listed but switched off (transformers sets it to None).
  if (text.find_bool("use_sliding_window") == false) return std::nullopt;
  auto window = text.find_int("sliding_window");
  if (!window) return std::nullopt;
  if (*window <= 0)
    text.fail("sliding_window",
              fmt::format("is {}; a window must be positive, or null for full attention", *window),
              "null");
  return window;
}

// transformers writes a config as its difference from PretrainedConfig's defaults, whose
// tie_word_embeddings is true; a config without the key therefore ties (Gemma2, GPT-2, Falcon),
// unless its class defaults to false, which only hand-written configs can leave implicit.
bool tie_word_embeddings_of(const HfConfig& config, const HfConfig& text) {
  if (auto tie = text.find_bool("tie_word_embeddings")) return *tie;
  if (auto tie = config.find_bool("tie_word_embeddings")) return *tie;
  static constexpr std::string_view kUntiedByDefault[] = {
      "llama", "mistral", "mixtral",  "qwen2", "qwen2_moe", "qwen3",       "qwen3_moe",
      "phi3",  "phi",     "gpt_neox", "gptj",  "chatglm",   "deepseek_v2", "deepseek_v3"};
  const std::string type = text.model_type();
  return std::find(std::begin(kUntiedByDefault), std::end(kUntiedByDefault), type) ==
         std::end(kUntiedByDefault);
}

}  // namespace

void derive_shape(ModelConfig& m) {
  const HfConfig& config = m.hf_config;
  const HfConfig& text = m.hf_text_config;

  m.hidden_size = positive_first(text, {"hidden_size", "n_embd", "d_model"});
  m.num_attention_heads =
      positive_first(text, {"num_attention_heads", "n_head", "num_heads", "n_heads"});
  m.num_hidden_layers =
      positive_first(text, {"num_hidden_layers", "n_layer", "num_layers", "n_layers"});
  m.vocab_size = positive_first(text, {"vocab_size", "padded_vocab_size"});
  m.head_size = head_size_of(text, m.hidden_size, m.num_attention_heads);
  m.num_kv_heads = total_kv_heads(config, text, m.num_attention_heads);

  if (auto found = text.find_first_int({"intermediate_size", "ffn_hidden_size", "n_inner"})) {
    if (found->second <= 0)
      text.fail(found->first, fmt::format("is {}; it must be positive", found->second),
                "<integer>");
    m.intermediate_size = found->second;
  }
  for (std::string_view key : {"rms_norm_eps", "layer_norm_eps", "layer_norm_epsilon",
                               "layernorm_epsilon", "norm_epsilon"}) {
    if ((m.norm_eps = text.find_double(key))) break;
  }
  m.tie_word_embeddings = tie_word_embeddings_of(config, text);

  m.num_experts = num_experts_of(text);
  m.num_experts_per_tok = text.find_int("num_experts_per_tok");

  m.sliding_window = sliding_window_of(text);
  m.max_window_layers = text.find_int("max_window_layers");
  m.layer_types = text.find_string_list("layer_types").value_or(std::vector<std::string>{});

  m.eos_token_ids = config.find_int_or_int_list("eos_token_id");
  if (m.eos_token_ids.empty()) m.eos_token_ids = text.find_int_or_int_list("eos_token_id");
  m.bos_token_id = config.find_int("bos_token_id");
  if (!m.bos_token_id) m.bos_token_id = text.find_int("bos_token_id");
  m.pad_token_id = config.find_int("pad_token_id");
  if (!m.pad_token_id) m.pad_token_id = text.find_int("pad_token_id");
}

}  // namespace pagoda::config_detail
