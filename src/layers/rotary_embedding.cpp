#include "pagoda/layers/rotary_embedding.h"

#include <fmt/format.h>

#include <map>
#include <mutex>
#include <string>

#include "ops/rotary.h"
#include "ops/rotary_cache.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

// Every field of the config, doubles in hexadecimal (exact), so equal keys mean equal configs.
std::string cache_key(const RopeConfig& c) {
  auto opt = [](const auto& v) { return v ? fmt::format("{:a}", static_cast<double>(*v)) : "-"; };
  std::string key = fmt::format(
      "{}|{:a}|{}|{}|{}|{}|{:a}|{}|{:a}|{:a}|{:a}|{:a}|{:a}|{:a}|{}|{}|{}|{}|{}|{}|{}", c.rope_type,
      c.theta, c.head_size, c.rotary_dim, c.is_neox_style, c.max_position_embeddings, c.factor,
      c.original_max_position_embeddings ? std::to_string(*c.original_max_position_embeddings)
                                         : "-",
      c.low_freq_factor, c.high_freq_factor, c.beta_fast, c.beta_slow, c.extrapolation_factor,
      c.attn_factor, opt(c.mscale), opt(c.mscale_all_dim), c.truncate, opt(c.attention_factor),
      opt(c.short_mscale), opt(c.long_mscale), c.short_factor.size());
  for (double f : c.short_factor) key += fmt::format(",{:a}", f);
  key += fmt::format("|{}", c.long_factor.size());
  for (double f : c.long_factor) key += fmt::format(",{:a}", f);
  return key;
}

// Position p of `positions` (i64 or i32, any stride) as int64.
int64_t position_at(const Tensor& positions, int64_t i) {
  const int64_t off = i * positions.stride(0);
  if (positions.dtype() == DType::I64) return positions.data_as<int64_t>()[off];
  return positions.data_as<int32_t>()[off];
}

}  // namespace

std::shared_ptr<const RotaryEmbedding> RotaryEmbedding::get(const RopeConfig& config,
                                                            Device device) {
  // Built once per distinct config and kept for the life of the process, as vLLM's _ROPE_DICT.
  // The lock is held while building so that two threads asking for one config build it once.
  // The map is never destroyed: its tensors' storage refers to the CPU allocator, another static,
  // which may already be gone when static destructors run.
  static std::mutex mutex;
  static auto* cache = new std::map<std::string, std::shared_ptr<const RotaryEmbedding>>();
  const std::string key = cache_key(config) + "@" + device.to_string();
  std::lock_guard<std::mutex> lock(mutex);
  auto it = cache->find(key);
  if (it != cache->end()) return it->second;
  auto rope = std::make_shared<const RotaryEmbedding>(config, device);
  cache->emplace(key, rope);
  return rope;
}

RotaryEmbedding::RotaryEmbedding(const RopeConfig& config, Device device) : config_(config) {
  ops::RotaryCache c = ops::build_rotary_cache(config);
  // Built on the host in float64 arithmetic, then moved once to where the rotations run.
  cos_sin_ = c.cos_sin.device() == device ? std::move(c.cos_sin) : c.cos_sin.to(device);
  long_offset_ = c.long_offset;
}

void RotaryEmbedding::forward(const Tensor& positions, Tensor& query, Tensor& key) const {
  if (long_offset_ == 0 || !positions.defined() || positions.dim() != 1 ||
      (positions.dtype() != DType::I64 && positions.dtype() != DType::I32)) {
    // Not longrope, or arguments the op rejects with its own message.
    ops::apply_rotary(positions, query, key, cos_sin_, config_.head_size, config_.is_neox_style);
    return;
  }
  // longrope, as vLLM's Phi3LongRoPE: once any position reaches the original context, every
  // token of the batch uses the long factors (rows from long_offset on).
  const int64_t original = config_.original_max_position_embeddings.value_or(0);
  const int64_t n = positions.size(0);
  // The choice is made on the host: device positions are copied back (longrope models only).
  const Tensor host_positions = positions.device().is_cpu() ? positions : positions.to(Device::cpu());
  bool use_long = false;
  for (int64_t i = 0; i < n && !use_long; ++i)
    use_long = position_at(host_positions, i) >= original;
  if (!use_long) {
    ops::apply_rotary(positions, query, key, cos_sin_, config_.head_size, config_.is_neox_style);
    return;
  }
  Tensor shifted = Tensor::empty({n}, DType::I64);
  int64_t* p = shifted.mutable_data_as<int64_t>();
  for (int64_t i = 0; i < n; ++i) {
    const int64_t pos = position_at(host_positions, i);
    // Negative positions stay negative so that the op reports them, rather than a shifted value.
    p[i] = pos < 0 ? pos : pos + long_offset_;
  }
  ops::apply_rotary(shifted.to(positions.device()), query, key, cos_sin_, config_.head_size,
                    config_.is_neox_style);
}

}  // namespace pagoda
