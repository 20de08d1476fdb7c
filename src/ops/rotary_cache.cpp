#include "ops/rotary_cache.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numbers>
#include <vector>

#include "pagoda/error.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops {
namespace {

constexpr std::string_view kSupported = "default, linear, dynamic, llama3, yarn, longrope";

[[noreturn]] void bad_config(const RopeConfig& c, const std::string& problem,
                             const std::string& fix) {
  throw_error(ErrorCode::InvalidConfig,
              fmt::format("rotary embedding (rope_type '{}'): {}", c.rope_type, problem), fix);
}

// 1 / theta^(2i / d) for i < d / 2.
std::vector<double> base_inv_freq(double theta, int d) {
  std::vector<double> f(static_cast<size_t>(d / 2));
  for (int i = 0; i < d / 2; ++i) f[static_cast<size_t>(i)] = std::pow(theta, -2.0 * i / d);
  return f;
}

int64_t original_max(const RopeConfig& c, bool required) {
  if (c.original_max_position_embeddings) {
    if (*c.original_max_position_embeddings <= 0)
      bad_config(c,
                 fmt::format("original_max_position_embeddings is {}",
                             *c.original_max_position_embeddings),
                 "set it to the context length the model was pre-trained with (> 0)");
    return *c.original_max_position_embeddings;
  }
  if (required)
    bad_config(c, "original_max_position_embeddings is missing",
               "add rope_scaling.original_max_position_embeddings (the pre-training context) to "
               "config.json");
  return c.max_position_embeddings;
}

int64_t scaled_rows(double max_pos, double factor) {
  return static_cast<int64_t>(std::ceil(max_pos * factor));
}

// Llama 3.1: frequencies whose wavelength exceeds original_max / low_freq_factor are divided by
// factor, those shorter than original_max / high_freq_factor kept, and the band between blended.
void llama3_scale(const RopeConfig& c, std::vector<double>& f) {
  const double old_len = static_cast<double>(original_max(c, true));
  const double low_wavelen = old_len / c.low_freq_factor;
  const double high_wavelen = old_len / c.high_freq_factor;
  for (double& v : f) {
    const double wavelen = 2 * std::numbers::pi / v;
    if (wavelen < high_wavelen) continue;
    if (wavelen > low_wavelen) {
      v /= c.factor;
      continue;
    }
    const double smooth =
        c.low_freq_factor == c.high_freq_factor
            ? 0.0
            : (old_len / wavelen - c.low_freq_factor) / (c.high_freq_factor - c.low_freq_factor);
    v = (1 - smooth) * v / c.factor + smooth * v;
  }
}

double yarn_get_mscale(double scale, double mscale) {
  return scale <= 1 ? 1.0 : 0.1 * mscale * std::log(scale) + 1.0;
}

// YaRN: interpolate (divide by factor) the low frequencies, keep (extrapolate) the high ones,
// blending linearly over the dimensions between the beta_fast and beta_slow correction points.
void yarn_scale(const RopeConfig& c, int d, std::vector<double>& f) {
  const double orig = static_cast<double>(original_max(c, false));
  // The dimension index at which a frequency completes `rotations` turns over the original context.
  auto correction_dim = [&](double rotations) {
    return d * std::log(orig / (rotations * 2 * std::numbers::pi)) / (2 * std::log(c.theta));
  };
  double low = correction_dim(c.beta_fast);
  double high = correction_dim(c.beta_slow);
  if (c.truncate) {
    low = std::floor(low);
    high = std::ceil(high);
  }
  low = std::max(low, 0.0);
  high = std::min(high, static_cast<double>(d - 1));
  if (low == high) high += 0.001;  // as vLLM: avoid a zero-width ramp
  for (size_t i = 0; i < f.size(); ++i) {
    const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
    const double extrapolate = (1 - ramp) * c.extrapolation_factor;
    f[i] = f[i] / c.factor * (1 - extrapolate) + f[i] * extrapolate;
  }
}

double yarn_attention_scale(const RopeConfig& c) {
  if (c.attention_factor) return *c.attention_factor * c.attn_factor;
  const double m =
      (c.mscale && c.mscale_all_dim && *c.mscale != 0 && *c.mscale_all_dim != 0)
          ? yarn_get_mscale(c.factor, *c.mscale) / yarn_get_mscale(c.factor, *c.mscale_all_dim)
          : yarn_get_mscale(c.factor, 1.0);
  return m * c.attn_factor;
}

std::vector<double> longrope_inv_freq(const RopeConfig& c, int d,
                                      const std::vector<double>& factors, std::string_view name) {
  if (factors.size() != static_cast<size_t>(d / 2))
    bad_config(
        c,
        fmt::format("{} has {} values; expected rotary_dim / 2 = {}", name, factors.size(), d / 2),
        fmt::format("give one {} entry per rotated frequency", name));
  std::vector<double> f = base_inv_freq(c.theta, d);
  for (size_t i = 0; i < f.size(); ++i) {
    if (!(factors[i] > 0))
      bad_config(c, fmt::format("{}[{}] is {}; factors must be > 0", name, i, factors[i]),
                 "fix the factor list in config.json");
    f[i] /= factors[i];
  }
  return f;
}

// Fills rows [row0, row0 + count) of the cache with positions 0 .. count-1.
void fill(float* cache, int d, int64_t row0, int64_t count, const std::vector<double>& f,
          double m) {
  const int half = d / 2;
  parallel_for(0, count, std::max<int64_t>(1, 16384 / d), [&](int64_t begin, int64_t end) {
    for (int64_t p = begin; p < end; ++p) {
      float* row = cache + (row0 + p) * d;
      for (int i = 0; i < half; ++i) {
        const double angle = static_cast<double>(p) * f[static_cast<size_t>(i)];
        row[i] = static_cast<float>(std::cos(angle) * m);
        row[half + i] = static_cast<float>(std::sin(angle) * m);
      }
    }
  });
}

void validate(const RopeConfig& c) {
  if (c.rotary_dim <= 0 || c.rotary_dim % 2 != 0)
    bad_config(c, fmt::format("rotary_dim is {}; expected a positive even number", c.rotary_dim),
               "set rotary_dim to head_size * partial_rotary_factor (rounded to an even number)");
  if (c.head_size > 0 && c.rotary_dim > c.head_size)
    bad_config(c, fmt::format("rotary_dim {} exceeds head_size {}", c.rotary_dim, c.head_size),
               "check partial_rotary_factor (at most 1) and head_dim in config.json");
  if (!(c.theta > 0) || !std::isfinite(c.theta))
    bad_config(c, fmt::format("rope_theta is {}; expected a finite value > 0", c.theta),
               "check rope_theta in config.json");
  if (c.max_position_embeddings <= 0)
    bad_config(c, fmt::format("max_position_embeddings is {}", c.max_position_embeddings),
               "set max_position_embeddings in config.json to the model's context length");
  if (!(c.factor > 0) || !std::isfinite(c.factor))
    bad_config(c, fmt::format("factor is {}; expected a finite value > 0", c.factor),
               "check rope_scaling.factor in config.json");
}

}  // namespace

RotaryCache build_rotary_cache(const RopeConfig& c) {
  const std::string& type = c.rope_type;
  if (type != "default" && type != "linear" && type != "dynamic" && type != "llama3" &&
      type != "yarn" && type != "longrope")
    throw_error(ErrorCode::Unsupported,
                fmt::format("rotary embedding: rope_type '{}' is not supported", type),
                fmt::format("use a model whose rope_type is one of: {}", kSupported));
  validate(c);
  const int d = c.rotary_dim;
  const int64_t max_pos = c.max_position_embeddings;
  RotaryCache out;

  if (type == "longrope") {
    const int64_t orig = original_max(c, true);
    const double ratio = static_cast<double>(max_pos) / static_cast<double>(orig);
    const double default_m = c.attention_factor.value_or(
        ratio <= 1 ? 1.0 : std::sqrt(1 + std::log(ratio) / std::log(static_cast<double>(orig))));
    const auto short_f = longrope_inv_freq(c, d, c.short_factor, "short_factor");
    const auto long_f = longrope_inv_freq(c, d, c.long_factor, "long_factor");
    out.cos_sin = Tensor::empty({orig + max_pos, d}, DType::F32);
    float* cache = out.cos_sin.mutable_data_as<float>();
    fill(cache, d, 0, orig, short_f, c.short_mscale.value_or(default_m));
    fill(cache, d, orig, max_pos, long_f, c.long_mscale.value_or(default_m));
    out.long_offset = orig;
    return out;
  }

  std::vector<double> f = base_inv_freq(c.theta, d);
  int64_t rows = max_pos;
  double m = 1.0;
  if (type == "linear") {
    for (double& v : f) v /= c.factor;
    rows = scaled_rows(static_cast<double>(max_pos), c.factor);
  } else if (type == "dynamic") {
    // vLLM's DynamicNTKScalingRotaryEmbedding scales the base once, for the longest context
    // max_len = max_pos * factor: theta * ((max_len / max_pos) - (factor - 1))^(d / (d - 2)). The
    // bracket is exactly 1, so the base stays theta and only the table grows.
    rows = scaled_rows(static_cast<double>(original_max(c, false)), c.factor);
  } else if (type == "llama3") {
    llama3_scale(c, f);
  } else if (type == "yarn") {
    yarn_scale(c, d, f);
    m = yarn_attention_scale(c);
    rows = std::max(scaled_rows(static_cast<double>(original_max(c, false)), c.factor), max_pos);
  }
  out.cos_sin = Tensor::empty({rows, d}, DType::F32);
  fill(out.cos_sin.mutable_data_as<float>(), d, 0, rows, f, m);
  return out;
}

}  // namespace pagoda::ops
