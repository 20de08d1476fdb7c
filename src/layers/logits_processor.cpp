// Logits: this rank's vocabulary shard of hidden @ lm_head^T, gathered over ranks, padding
// stripped, then the model's soft cap and scale.
#include "pagoda/layers/logits_processor.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/cast.h"
#include "ops/elementwise.h"
#include "ops/matmul.h"
#include "pagoda/error.h"
#include "pagoda/thread_pool.h"

namespace pagoda {
namespace {

// x = tanh(x / cap) * cap over a contiguous f32 tensor. No op exists for it yet: device logits
// make a round trip through the host (Gemma 2 only).
void apply_soft_cap(Tensor& logits, double cap) {
  if (!logits.device().is_cpu()) {
    Tensor host = logits.to(Device::cpu());
    apply_soft_cap(host, cap);
    logits.copy_from(host);
    return;
  }
  float* p = logits.mutable_data_as<float>();
  const float c = static_cast<float>(cap);
  const float inv = static_cast<float>(1.0 / cap);
  parallel_for(0, logits.numel(), 16384, [&](int64_t b, int64_t e) {
    for (int64_t i = b; i < e; ++i) p[i] = std::tanh(p[i] * inv) * c;
  });
}

}  // namespace

LogitsProcessor::LogitsProcessor(const ModelInitContext& ctx, int64_t vocab_size,
                                 std::optional<double> soft_cap, double scale)
    : ctx_(ctx), vocab_size_(vocab_size), soft_cap_(soft_cap), scale_(scale) {
  PAGODA_CHECK(vocab_size > 0, InvalidArgument,
               fmt::format("logits processor '{}' with vocabulary size {}", ctx.prefix, vocab_size),
               "check vocab_size in config.json");
  PAGODA_CHECK(!soft_cap || (std::isfinite(*soft_cap) && *soft_cap > 0), InvalidConfig,
               fmt::format("logits processor '{}': soft cap {}; expected a positive number",
                           ctx.prefix, soft_cap ? *soft_cap : 0.0),
               "check final_logit_softcapping in config.json");
  PAGODA_CHECK(std::isfinite(scale), InvalidConfig,
               fmt::format("logits processor '{}': logit scale {}; expected a finite number",
                           ctx.prefix, scale),
               "check the logit scale in config.json");
}

Tensor LogitsProcessor::forward(const ParallelLMHead& head, const Tensor& hidden) const {
  PAGODA_CHECK(
      vocab_size_ <= head.num_embeddings_padded(), InvalidArgument,
      fmt::format("logits processor '{}': vocabulary size {} exceeds the LM head's {} rows",
                  ctx_.prefix, vocab_size_, head.num_embeddings_padded()),
      "build the logits processor with the LM head's vocabulary size");
  PAGODA_CHECK(
      hidden.defined() && hidden.dim() == 2 && hidden.size(1) == head.embedding_dim(),
      InvalidArgument,
      fmt::format("logits processor '{}' was given hidden states {}; expected [rows, {}]",
                  ctx_.prefix, hidden.defined() ? hidden.to_string() : std::string("(undefined)"),
                  head.embedding_dim()),
      "pass the final hidden states of the rows to sample from");
  const int64_t rows = hidden.size(0);
  const Tensor& weight = head.weight();
  Tensor local = Tensor::empty({rows, weight.size(0)}, DType::F32, hidden.device());
  ops::matmul(hidden, weight, local);
  Tensor logits = local;
  if (ctx_.parallel.tp_size > 1) {
    logits =
        Tensor::empty({rows, weight.size(0) * ctx_.parallel.tp_size}, DType::F32, hidden.device());
    ctx_.parallel.tp_group->all_gather(local, logits, 1);
  }
  if (logits.size(1) != vocab_size_) {
    // The padding columns go; a cast to the same dtype copies the strided rows on any device.
    Tensor trimmed = Tensor::empty({rows, vocab_size_}, DType::F32, logits.device());
    ops::cast(logits.slice(1, 0, vocab_size_), trimmed);
    logits = trimmed;
  }
  if (soft_cap_) apply_soft_cap(logits, *soft_cap_);
  if (scale_ != 1.0) ops::scale(logits, scale_, logits);
  return logits;
}

}  // namespace pagoda
