// Rotary position embedding as a layer: the cos/sin cache for a RopeConfig, built once and shared
// by every layer (and model) with the same parameters, as vLLM's cached get_rope().
#pragma once

#include <memory>

#include "pagoda/rope_config.h"
#include "pagoda/tensor.h"

namespace pagoda {

class RotaryEmbedding {
 public:
  // The embedding for `config` with its cos/sin cache on `device`, from a process-wide cache
  // keyed by every field of the config and the device.
  static std::shared_ptr<const RotaryEmbedding> get(const RopeConfig& config,
                                                    Device device = Device::cpu());

  // Rotates query [T, heads*head_size] and key [T, kv_heads*head_size] in place for positions
  // [T] (rows may be strided: slices of a fused qkv output). `key` may be undefined.
  void forward(const Tensor& positions, Tensor& query, Tensor& key) const;

  const RopeConfig& config() const { return config_; }
  const Tensor& cos_sin_cache() const { return cos_sin_; }

  explicit RotaryEmbedding(const RopeConfig& config, Device device = Device::cpu());

 private:
  RopeConfig config_;
  Tensor cos_sin_;
  int64_t long_offset_ = 0;  // longrope: where the long-factor rows start
};

}  // namespace pagoda
