// The Llama family: LlamaForCausalLM and its relatives that differ only by switches (Qwen2's q/k/v
// bias, Qwen3's per-head q/k RMSNorm). As vLLM's llama.py: a declarative wiring of layers; the
// layers and ops choose how to compute.
#pragma once

#include <memory>
#include <optional>
#include <vector>

#include "pagoda/layers/activation.h"
#include "pagoda/layers/attention.h"
#include "pagoda/layers/linear.h"
#include "pagoda/layers/logits_processor.h"
#include "pagoda/layers/norm.h"
#include "pagoda/layers/rotary_embedding.h"
#include "pagoda/layers/vocab_embedding.h"
#include "pagoda/model.h"
#include "pagoda/model_config.h"

namespace pagoda {

struct LlamaOptions {
  std::optional<bool> qkv_bias;  // unset: config.json's attention_bias (default false)
  bool qk_norm = false;          // RMSNorm over each head of q and k before rotary (Qwen3)
};

class LlamaAttention {
 public:
  // layer: the decoder layer's index, which decides whether it uses a sliding window.
  LlamaAttention(const ModelInitContext& ctx, const ModelConfig& config,
                 const LlamaOptions& options, int64_t layer);
  Tensor forward(const Tensor& positions, const Tensor& hidden,
                 const ForwardContext& context) const;

 private:
  QKVParallelLinear qkv_proj_;
  RowParallelLinear o_proj_;
  std::optional<RMSNorm> q_norm_, k_norm_;
  std::shared_ptr<const RotaryEmbedding> rotary_emb_;
  Attention attn_;
};

class LlamaMLP {
 public:
  LlamaMLP(const ModelInitContext& ctx, const ModelConfig& config);
  Tensor forward(const Tensor& hidden) const;

 private:
  MergedColumnParallelLinear gate_up_proj_;
  RowParallelLinear down_proj_;
  GatedActivation act_fn_;
};

class LlamaDecoderLayer {
 public:
  LlamaDecoderLayer(const ModelInitContext& ctx, const ModelConfig& config,
                    const LlamaOptions& options, int64_t layer);
  // hidden and residual in place; residual undefined on the first layer.
  void forward(const Tensor& positions, Tensor& hidden, Tensor& residual,
               const ForwardContext& context) const;

 private:
  LlamaAttention self_attn_;
  LlamaMLP mlp_;
  RMSNorm input_layernorm_, post_attention_layernorm_;
};

// The "model." part: embeddings, decoder layers, final norm. Under pipeline parallelism it holds
// only its stage's layers (the others are never built: vLLM's PPMissingLayer), the embeddings on
// the first stage (and the last, when the LM head is tied to them) and the norm on the last.
class LlamaModel {
 public:
  LlamaModel(const ModelInitContext& ctx, const ModelConfig& config, const LlamaOptions& options,
             bool keep_embeddings_on_last_stage);
  Tensor embed_input_ids(const Tensor& input_ids) const;
  Tensor forward(const Tensor& input_ids, const Tensor& positions,
                 const ForwardContext& context) const;
  IntermediateTensors forward_stage(const Tensor& input_ids, const Tensor& positions,
                                    const ForwardContext& context,
                                    const IntermediateTensors& inputs) const;
  IntermediateTensors make_empty_intermediate_tensors(int64_t num_tokens) const;
  const VocabParallelEmbedding& embed_tokens() const;
  LayerRange layer_range() const { return range_; }

 private:
  ParallelState parallel_;
  int64_t hidden_size_;
  DType dtype_;
  Device device_;
  std::optional<VocabParallelEmbedding> embed_tokens_;
  LayerRange range_;
  std::vector<std::unique_ptr<LlamaDecoderLayer>> layers_;  // layers range_.begin ... end - 1
  std::optional<RMSNorm> norm_;
};

class LlamaForCausalLM : public Model {
 public:
  explicit LlamaForCausalLM(const ModelInitContext& ctx, const LlamaOptions& options = {});
  Tensor embed_input_ids(const Tensor& input_ids) override;
  Tensor forward(const Tensor& input_ids, const Tensor& positions,
                 ForwardContext& context) override;
  Tensor compute_logits(const Tensor& hidden_states) override;
  IntermediateTensors forward_stage(const Tensor& input_ids, const Tensor& positions,
                                    ForwardContext& context,
                                    const IntermediateTensors& inputs) override;
  IntermediateTensors make_empty_intermediate_tensors(int64_t num_tokens) const override;
  WeightLoadingRules weight_loading_rules() const override;

 private:
  const ModelConfig& config_;
  LlamaModel model_;
  std::optional<ParallelLMHead> lm_head_;  // the last pipeline stage's
  LogitsProcessor logits_processor_;
};

}  // namespace pagoda
