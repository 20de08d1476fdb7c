// Rotary position embedding parameters, normalised from config.json's `rope_scaling` /
// `rope_parameters` (by the config loader) and consumed by the rotary op's cos/sin cache.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagoda {

struct RopeConfig {
  // "default", "linear", "dynamic" (dynamic NTK), "llama3", "yarn", "longrope". Hugging Face's
  // legacy spellings are normalised by the config loader: `type` -> `rope_type`, "su" -> "longrope".
  std::string rope_type = "default";
  double theta = 10000.0;  // rope_theta
  int head_size = 0;
  // Rotated dimensions per head: head_size * partial_rotary_factor (or rotary_pct, rotary_dim).
  int rotary_dim = 0;
  // true: rotate halves (x[i], x[i + d/2]) as GPT-NeoX/Llama do; false: rotate interleaved pairs
  // (x[2i], x[2i+1]) as GPT-J does.
  bool is_neox_style = true;
  int64_t max_position_embeddings = 2048;

  // linear, dynamic, llama3, yarn, longrope
  double factor = 1.0;
  // llama3, yarn, longrope, dynamic: the context the model was pre-trained with.
  std::optional<int64_t> original_max_position_embeddings;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double extrapolation_factor = 1.0;
  double attn_factor = 1.0;
  std::optional<double> mscale;
  std::optional<double> mscale_all_dim;
  bool truncate = true;  // yarn: round the correction range to whole dimensions
  // yarn, longrope: transformers' explicit `attention_factor`, which replaces the scale derived
  // from the factor (yarn's mscale term, longrope's sqrt(1 + ln(s) / ln(original))).
  std::optional<double> attention_factor;
  // longrope: per-frequency rescale factors, rotary_dim / 2 values each.
  std::vector<double> short_factor;
  std::vector<double> long_factor;
  std::optional<double> short_mscale;
  std::optional<double> long_mscale;
};

}  // namespace pagoda
