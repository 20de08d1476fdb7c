// RoPE normalisation: config.json's rope_scaling / rope_parameters (transformers v4 and v5
// spellings), rope_theta and the partial-rotary keys, folded into RopeConfig the way vLLM's
// patch_rope_parameters and get_rope read them, with the values checked.
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "loader/model_config_internal.h"
#include "pagoda/error.h"

namespace pagoda::config_detail {
namespace {

constexpr std::string_view kSupportedRopeTypes =
    "default, linear, dynamic, llama3, yarn, longrope (legacy spellings: type for rope_type, "
    "\"su\" for longrope, \"mrope\" for default)";

// transformers' ALLOWED_LAYER_TYPES: keys that mark rope_parameters as one block per layer type.
constexpr std::array<std::string_view, 11> kLayerTypes = {"full_attention",
                                                          "sliding_attention",
                                                          "chunked_attention",
                                                          "linear_attention",
                                                          "conv",
                                                          "mamba",
                                                          "attention",
                                                          "sparse",
                                                          "dense",
                                                          "hybrid",
                                                          "moe"};

bool is_layer_type(std::string_view key) {
  return std::find(kLayerTypes.begin(), kLayerTypes.end(), key) != kLayerTypes.end();
}

// rope_parameters (transformers v5) wins over rope_scaling (v4); an empty object counts as
// absent, as Python's truthiness test in vLLM treats it.
std::optional<HfConfig> find_rope_block(const HfConfig& text) {
  for (std::string_view key : {"rope_parameters", "rope_scaling"}) {
    if (auto block = text.sub_config(key); block && !block->json().empty()) return block;
  }
  return std::nullopt;
}

bool is_nested_per_layer_type(const HfConfig& block) {
  for (const auto& [key, value] : block.json().items())
    if (!is_layer_type(key) || !value.is_object()) return false;
  return true;
}

// The block's scheme, with the legacy spellings normalised.
std::string rope_type_of(const HfConfig& block) {
  const auto modern = block.find_string("rope_type");
  const auto legacy = block.find_string("type");
  if (modern && legacy && *modern != *legacy) {
    const bool same =
        (*legacy == "su" && *modern == "longrope") || (*legacy == "mrope" && *modern == "default");
    if (!same) {
      throw Error(ErrorCode::InvalidConfig,
                  fmt::format("{} is \"{}\" but {} is \"{}\"; the legacy and the modern key name "
                              "different RoPE schemes",
                              block.describe_key("type"), *legacy, block.describe_key("rope_type"),
                              *modern),
                  "keep only 'rope_type' with the intended scheme");
    }
  }
  if (!modern && !legacy) {
    block.fail("rope_type",
               "is missing: the RoPE block must name its scheme (or the legacy 'type')",
               "\"default\"");
  }
  std::string type = modern ? *modern : *legacy;
  const std::string_view key = modern ? "rope_type" : "type";
  if (type == "su") return "longrope";
  if (type == "mrope") {
    if (!block.has("mrope_section"))
      block.fail("mrope_section", "is missing; the legacy rope_type \"mrope\" requires it",
                 "[<integer>, ...]");
    return "default";  // multimodal RoPE: default frequencies, sections read by the model
  }
  static constexpr std::array<std::string_view, 6> kSupported = {"default", "linear", "dynamic",
                                                                 "llama3",  "yarn",   "longrope"};
  if (std::find(kSupported.begin(), kSupported.end(), type) == kSupported.end()) {
    throw Error(ErrorCode::InvalidConfig,
                fmt::format("{} is \"{}\", a RoPE scheme Pagoda does not support (supported: {})",
                            block.describe_key(key), type, kSupportedRopeTypes),
                "check the spelling of the scheme; if the model really uses it, it needs a RoPE "
                "implementation in Pagoda before it can run");
  }
  return type;
}

double required_factor(const HfConfig& block, std::string_view type) {
  const double factor = block.get_double("factor");
  if (factor < 1.0)
    block.fail("factor",
               fmt::format("is {}, but {} RoPE scaling needs a factor >= 1", factor, type),
               "a number >= 1 such as 8.0");
  return factor;
}

int64_t positive_int(const HfConfig& config, std::string_view key, int64_t value) {
  if (value <= 0) config.fail(key, fmt::format("is {}; it must be positive", value), "<integer>");
  return value;
}

// rotary_dim from partial_rotary_factor (block, then top level), rotary_pct (GPT-NeoX),
// rotary_emb_fraction, or an absolute rotary_dim (GPT-J); the whole head otherwise.
int64_t rotary_dim_of(const HfConfig& text, const HfConfig* block, int64_t head_size) {
  std::optional<double> fraction;
  const HfConfig* owner = &text;
  std::string_view key;
  if (block != nullptr && block->has("partial_rotary_factor")) {
    owner = block;
    key = "partial_rotary_factor";
    fraction = block->get_double(key);
  } else {
    for (std::string_view k : {"partial_rotary_factor", "rotary_pct", "rotary_emb_fraction"}) {
      if (auto f = text.find_double(k)) {
        key = k;
        fraction = f;
        break;
      }
    }
  }
  int64_t dim = head_size;
  if (fraction) {
    if (!(*fraction > 0.0 && *fraction <= 1.0))
      owner->fail(key,
                  fmt::format("is {}; the rotated fraction of a head must be in (0, 1]", *fraction),
                  "a number such as 0.5");
    dim = static_cast<int64_t>(static_cast<double>(head_size) * *fraction);  // int() as vLLM
  } else if (auto absolute = text.find_int("rotary_dim")) {
    key = "rotary_dim";
    dim = *absolute;
    if (dim <= 0 || dim > head_size)
      text.fail(key, fmt::format("is {}; it must be in [1, head size {}]", dim, head_size),
                "an even integer <= the head size");
  }
  if (dim <= 0 || dim % 2 != 0) {
    owner->fail(key.empty() ? "head_dim" : key,
                fmt::format("gives {} rotated dimensions (head size {}); RoPE rotates pairs, so "
                            "the count must be even and positive",
                            dim, head_size),
                "a value giving an even rotary dimension");
  }
  return dim;
}

void read_llama3(RopeConfig& r, const HfConfig& block) {
  r.factor = required_factor(block, "llama3");
  r.low_freq_factor = block.get_double("low_freq_factor");
  r.high_freq_factor = block.get_double("high_freq_factor");
  if (!(r.high_freq_factor > r.low_freq_factor))
    block.fail("high_freq_factor",
               fmt::format("is {}, not above low_freq_factor {}; llama3 scaling interpolates "
                           "between them",
                           r.high_freq_factor, r.low_freq_factor),
               "a number above low_freq_factor, such as 4.0");
  r.original_max_position_embeddings = positive_int(
      block, "original_max_position_embeddings", block.get_int("original_max_position_embeddings"));
}

void read_yarn(RopeConfig& r, const HfConfig& block) {
  r.factor = required_factor(block, "yarn");
  r.attention_factor = block.find_double("attention_factor");
  r.beta_fast = block.get_double_or("beta_fast", r.beta_fast);
  r.beta_slow = block.get_double_or("beta_slow", r.beta_slow);
  r.extrapolation_factor = block.get_double_or("extrapolation_factor", r.extrapolation_factor);
  r.attn_factor = block.get_double_or("attn_factor", r.attn_factor);
  r.mscale = block.find_double("mscale");
  r.mscale_all_dim = block.find_double("mscale_all_dim");
  r.truncate = block.get_bool_or("truncate", r.truncate);
  // transformers falls back to max_position_embeddings when the block omits it.
  if (!r.original_max_position_embeddings)
    r.original_max_position_embeddings = r.max_position_embeddings;
}

void read_longrope(RopeConfig& r, const HfConfig& block) {
  r.attention_factor = block.find_double("attention_factor");
  const size_t expected = static_cast<size_t>(r.rotary_dim / 2);
  for (std::string_view key : {"short_factor", "long_factor"}) {
    std::vector<double> values = block.get_double_list(key);
    if (values.size() != expected)
      block.fail(key,
                 fmt::format("has {} values, but longrope needs one per rotated pair: rotary_dim "
                             "{} / 2 = {}",
                             values.size(), r.rotary_dim, expected),
                 fmt::format("a list of {} numbers", expected));
    (key == "short_factor" ? r.short_factor : r.long_factor) = std::move(values);
  }
  if (!r.original_max_position_embeddings)
    block.fail("original_max_position_embeddings",
               "is missing (also at the top level, where Phi-3 keeps it); longrope switches "
               "factors at that length",
               "<integer>");
  if (auto factor = block.find_double("factor")) {
    if (*factor < 1.0)
      block.fail("factor", fmt::format("is {}; longrope needs a factor >= 1", *factor),
                 "a number >= 1");
    r.factor = *factor;
  } else {
    // Phi-3 leaves it implicit: the context extension ratio.
    r.factor = static_cast<double>(r.max_position_embeddings) /
               static_cast<double>(*r.original_max_position_embeddings);
  }
  r.short_mscale = block.find_double("short_mscale");
  r.long_mscale = block.find_double("long_mscale");
}

RopeConfig normalize_block(const HfConfig& text, const HfConfig* block, int64_t head_size,
                           int64_t max_position_embeddings) {
  RopeConfig r;
  r.rope_type = block != nullptr ? rope_type_of(*block) : "default";
  r.head_size = static_cast<int>(head_size);
  r.max_position_embeddings = max_position_embeddings;

  std::optional<double> theta = block != nullptr ? block->find_double("rope_theta") : std::nullopt;
  if (!theta) theta = text.find_double("rope_theta");
  if (!theta) theta = text.find_double("rotary_emb_base");
  r.theta = theta.value_or(10000.0);
  if (!(r.theta > 0.0))
    text.fail("rope_theta", fmt::format("is {}; the RoPE base must be positive", r.theta),
              "a positive number such as 10000.0");

  r.rotary_dim = static_cast<int>(rotary_dim_of(text, block, head_size));

  // Phi-3 keeps original_max_position_embeddings at the top level; vLLM folds it into the block.
  std::optional<int64_t> original =
      block != nullptr ? block->find_int("original_max_position_embeddings") : std::nullopt;
  if (!original) original = text.find_int("original_max_position_embeddings");
  if (original) {
    positive_int(block != nullptr && block->has("original_max_position_embeddings") ? *block : text,
                 "original_max_position_embeddings", *original);
    r.original_max_position_embeddings = original;
  }

  if (r.rope_type == "linear") {
    r.factor = required_factor(*block, "linear");
  } else if (r.rope_type == "dynamic") {
    if (!block->has("factor") && block->has("alpha"))
      throw Error(ErrorCode::Unsupported,
                  fmt::format("{} selects dynamic NTK scaling by alpha, which Pagoda does not "
                              "support yet",
                              block->describe_key("alpha")),
                  "use a model with factor-based dynamic scaling, or add alpha support to "
                  "RopeConfig and the rotary op");
    r.factor = required_factor(*block, "dynamic");
  } else if (r.rope_type == "llama3") {
    read_llama3(r, *block);
  } else if (r.rope_type == "yarn") {
    read_yarn(r, *block);
  } else if (r.rope_type == "longrope") {
    read_longrope(r, *block);
  }
  return r;
}

}  // namespace

RopeSet derive_rope(const HfConfig& text, int64_t head_size, int64_t max_position_embeddings) {
  RopeSet set;
  const std::optional<HfConfig> block = find_rope_block(text);
  set.has_rope_block = block.has_value();
  if (block && is_nested_per_layer_type(*block)) {
    // transformers v5: {"full_attention": {...}, "sliding_attention": {...}}.
    for (const auto& item : block->json().items()) {
      const HfConfig layer_block = *block->sub_config(item.key());
      set.by_layer_type.emplace_back(
          item.key(), normalize_block(text, &layer_block, head_size, max_position_embeddings));
    }
    set.nested_in_config = true;
    const auto full = std::find_if(set.by_layer_type.begin(), set.by_layer_type.end(),
                                   [](const auto& e) { return e.first == "full_attention"; });
    set.main = full != set.by_layer_type.end() ? full->second : set.by_layer_type.front().second;
    return set;
  }
  set.main = normalize_block(text, block ? &*block : nullptr, head_size, max_position_embeddings);
  // Gemma3 (transformers v4): sliding-window layers use plain RoPE with rope_local_base_freq.
  if (auto local_theta = text.find_double("rope_local_base_freq")) {
    RopeConfig local = normalize_block(text, nullptr, head_size, max_position_embeddings);
    local.theta = *local_theta;
    if (!(local.theta > 0.0))
      text.fail("rope_local_base_freq", fmt::format("is {}; it must be positive", local.theta),
                "a positive number such as 10000.0");
    set.by_layer_type = {{"full_attention", set.main}, {"sliding_attention", local}};
  }
  return set;
}

}  // namespace pagoda::config_detail
