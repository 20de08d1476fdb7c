// The model's maximum context length, as vLLM's _get_and_verify_max_len derives and checks it.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "loader/model_config_internal.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda::config_detail {
namespace {

// vLLM's possible_keys, in its order (the order decides which key names a tie).
constexpr std::string_view kMaxLenKeys[] = {
    "max_position_embeddings",  // OPT, Llama, ...
    "n_positions",              // GPT-2
    "max_seq_len",              // MPT
    "seq_length",               // ChatGLM2
    "model_max_length",         // Command-R
    "max_target_positions",     // Whisper
    "max_sequence_length",
    "max_seq_length",
    "seq_len",
};

std::string format_factor(double factor) {
  return fmt::format("{:g}", factor);
}

// Applies the RoPE scaling factor the way vLLM does: linear, dynamic and yarn stretch the
// context (yarn from original_max_position_embeddings); llama3 and longrope configs already state
// the extended length in max_position_embeddings.
void apply_rope_scaling(const RopeSet& rope, double& derived, std::string& origin) {
  std::vector<const RopeConfig*> blocks;
  if (rope.nested_in_config) {
    for (const auto& [type, config] : rope.by_layer_type) blocks.push_back(&config);
  } else {
    blocks.push_back(&rope.main);
  }
  double scaling = 1.0;
  const RopeConfig* scaled_by = nullptr;
  for (const RopeConfig* r : blocks) {
    if (r->rope_type == "longrope" || r->rope_type == "llama3" || r->rope_type == "default")
      continue;
    scaling = r->factor;
    scaled_by = r;
    if (r->rope_type == "yarn") {
      derived = static_cast<double>(
          r->original_max_position_embeddings.value_or(r->max_position_embeddings));
      origin = fmt::format("original_max_position_embeddings={}", derived);
    }
  }
  if (scaled_by != nullptr && scaling != 1.0) {
    derived *= scaling;
    origin += fmt::format(" * {} rope factor {}", scaled_by->rope_type, format_factor(scaling));
  }
}

bool uses_longrope(const RopeSet& rope) {
  if (rope.main.rope_type == "longrope") return true;
  return std::any_of(rope.by_layer_type.begin(), rope.by_layer_type.end(),
                     [](const auto& e) { return e.second.rope_type == "longrope"; });
}

}  // namespace

std::optional<std::pair<std::string, int64_t>> smallest_max_len_key(const HfConfig& text) {
  std::optional<std::pair<std::string, int64_t>> best;
  for (std::string_view key : kMaxLenKeys) {
    if (auto v = text.find_int(key); v && (!best || *v < best->second))
      best = std::make_pair(std::string(key), *v);
  }
  // Command-R / Cohere / Aya Vision: model_max_length, when set, is the answer.
  if (auto mml = text.find_int("model_max_length"); mml && *mml != 0)
    best = std::make_pair(std::string("model_max_length"), *mml);
  return best;
}

MaxModelLen derive_max_model_len(const HfConfig& text, const std::string& text_model_type,
                                 const RopeSet& rope, std::optional<int64_t> sliding_window,
                                 const ModelConfigOptions& options) {
  if (options.max_model_len)
    PAGODA_CHECK(*options.max_model_len > 0, InvalidConfig,
                 fmt::format("the requested max_model_len is {}", *options.max_model_len),
                 "request a positive context length, or none to use the model's own");

  const auto found = smallest_max_len_key(text);
  double derived = 0.0;
  std::string origin;
  if (found) {
    PAGODA_CHECK(found->second > 0, InvalidConfig,
                 fmt::format("{} is {}; a context length must be positive",
                             text.describe_key(found->first), found->second),
                 fmt::format("set it to the model's context length in {}", text.source()));
    derived = static_cast<double>(found->second);
    origin = fmt::format("{}={}", found->first, found->second);
  }
  if (options.disable_sliding_window && sliding_window &&
      (!found || static_cast<double>(*sliding_window) < derived)) {
    derived = static_cast<double>(*sliding_window);
    origin = fmt::format("sliding_window={} (sliding window disabled)", *sliding_window);
  }
  if (derived == 0.0) {
    if (options.max_model_len) {
      return {*options.max_model_len, *options.max_model_len,
              "the requested max_model_len (config.json names no maximum)"};
    }
    log::warn(
        "{} names none of max_position_embeddings, n_positions, max_seq_len, seq_length, "
        "model_max_length, max_target_positions, max_sequence_length, max_seq_length, seq_len; "
        "assuming a maximum length of 2048",
        text.source());
    derived = 2048.0;
    origin = "the default 2048 (config.json names no maximum)";
  }

  // Gemma3's max_position_embeddings already includes its linear RoPE factor.
  if (rope.has_rope_block && text_model_type.find("gemma3") == std::string::npos)
    apply_rope_scaling(rope, derived, origin);

  // 2^53: exact in a double, and far beyond any real context.
  PAGODA_CHECK(derived <= 9007199254740992.0, InvalidConfig,
               fmt::format("{} gives an implausible maximum length of {:g} positions ({})",
                           text.source(), derived, origin),
               "check the RoPE factor and the max_position_embeddings of the config");
  MaxModelLen out;
  out.derived = static_cast<int64_t>(derived);
  out.origin = origin;
  if (!options.max_model_len) {
    // vLLM defaults longrope models to their pre-training length: the long factors degrade
    // shorter sequences.
    if (uses_longrope(rope)) {
      out.chosen = text.find_int("original_max_position_embeddings")
                       .value_or(rope.main.original_max_position_embeddings.value_or(out.derived));
    } else {
      out.chosen = out.derived;
    }
    return out;
  }

  const int64_t requested = *options.max_model_len;
  out.chosen = requested;
  if (static_cast<double>(requested) <= derived) return out;
  // A separate, larger model_max_length may allow it.
  if (auto mml = text.find_int("model_max_length"); mml && requested <= *mml) return out;
  const std::string problem =
      fmt::format("the requested max_model_len {} is larger than the model's maximum {} ({} in {})",
                  requested, out.derived, origin, text.source());
  const std::string risk =
      "positions beyond the trained range give NaN or garbage with RoPE, and out-of-bounds "
      "lookups with absolute position embeddings";
  if (options.allow_long_max_model_len) {
    log::warn("{}; allowed by allow_long_max_model_len, but {}", problem, risk);
    return out;
  }
  throw Error(ErrorCode::InvalidConfig, problem,
              fmt::format("request at most {}, or set allow_long_max_model_len (vLLM's "
                          "VLLM_ALLOW_LONG_MAX_MODEL_LEN=1) if you are sure: {}",
                          out.derived, risk));
}

}  // namespace pagoda::config_detail
