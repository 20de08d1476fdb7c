// Hidden states -> vocabulary logits, as vLLM's LogitsProcessor.
#pragma once

#include <optional>

#include "pagoda/layers/vocab_embedding.h"

namespace pagoda {

class LogitsProcessor {
 public:
  // vocab_size: the real vocabulary (padding is stripped). soft_cap: logits = tanh(x / cap) * cap
  // (Gemma 2). scale: logits *= scale, after the soft cap.
  LogitsProcessor(const ModelInitContext& ctx, int64_t vocab_size, std::optional<double> soft_cap = std::nullopt,
                  double scale = 1.0);

  // hidden [T, H] -> f32 [T, vocab_size] on every rank: this rank's vocab shard, all-gathered.
  Tensor forward(const ParallelLMHead& head, const Tensor& hidden) const;

 private:
  ModelInitContext ctx_;
  int64_t vocab_size_;
  std::optional<double> soft_cap_;
  double scale_;
};

}  // namespace pagoda
