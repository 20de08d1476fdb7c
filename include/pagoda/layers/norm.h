// Normalisation layers: RMSNorm (with the fused residual add) and LayerNorm.
#pragma once

#include <cstdint>

#include "pagoda/layers/parameter.h"
#include "pagoda/model.h"

namespace pagoda {

// Parameter "<prefix>.weight" [hidden] (replicated). gemma_style: scales by (1 + weight).
class RMSNorm {
 public:
  RMSNorm(const ModelInitContext& ctx, int64_t hidden_size, double eps = 1e-6, bool gemma_style = false);
  // x [T, hidden] (rows may be strided, e.g. per-head views [T*heads, head_size]) -> new [T, hidden].
  Tensor forward(const Tensor& x) const;
  // In place, as vLLM's forward(x, residual): residual += x; x = norm(residual).
  void forward(Tensor& x, Tensor& residual) const;
  const Tensor& weight() const { return weight_; }

 private:
  int64_t hidden_size_;
  double eps_;
  bool gemma_style_;
  Tensor weight_;
};

// Parameters "<prefix>.weight" and, when bias, "<prefix>.bias" [hidden].
class LayerNorm {
 public:
  LayerNorm(const ModelInitContext& ctx, int64_t hidden_size, double eps = 1e-5, bool bias = true);
  Tensor forward(const Tensor& x) const;

 private:
  int64_t hidden_size_;
  double eps_;
  Tensor weight_, bias_;
};

}  // namespace pagoda
