// ExampleForCausalLM: a Llama-style decoder (RMSNorm, rotary GQA attention, SwiGLU MLP) built only
// from Pagoda's installed public headers, as an out-of-tree model plugin would be.
//
// The file is declarative: each module constructs its layers with its own state-dict prefix and
// wires forward(); which kernels run, and how weights are sharded over tensor-parallel ranks, is
// the layers' business.
#pragma once

#include <memory>
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

namespace example {

using pagoda::ForwardContext;
using pagoda::ModelConfig;
using pagoda::ModelInitContext;
using pagoda::Tensor;

// gate_up_proj -> act(gate) * up -> down_proj.
class ExampleMLP {
 public:
  ExampleMLP(const ModelInitContext& ctx, const ModelConfig& config);
  Tensor forward(const Tensor& x) const;

 private:
  pagoda::MergedColumnParallelLinear gate_up_proj_;
  pagoda::GatedActivation act_;
  pagoda::RowParallelLinear down_proj_;
};

// qkv_proj -> rotary on q and k -> attention -> o_proj.
class ExampleAttention {
 public:
  ExampleAttention(const ModelInitContext& ctx, const ModelConfig& config);
  Tensor forward(const Tensor& positions, const Tensor& hidden,
                 const ForwardContext& context) const;

 private:
  pagoda::QKVParallelLinear qkv_proj_;
  pagoda::RowParallelLinear o_proj_;
  std::shared_ptr<const pagoda::RotaryEmbedding> rotary_emb_;
  pagoda::Attention attn_;
};

class ExampleDecoderLayer {
 public:
  ExampleDecoderLayer(const ModelInitContext& ctx, const ModelConfig& config);
  // Pre-norm block; the residual stream is carried separately so that each norm can fuse the
  // residual add (RMSNorm::forward(x, residual)). `residual` is undefined before the first layer.
  void forward(const Tensor& positions, Tensor& hidden, Tensor& residual,
               const ForwardContext& context) const;

 private:
  ExampleAttention self_attn_;
  ExampleMLP mlp_;
  pagoda::RMSNorm input_layernorm_;
  pagoda::RMSNorm post_attention_layernorm_;
};

// The "model." part of the checkpoint: embeddings, layers, final norm.
class ExampleModel {
 public:
  ExampleModel(const ModelInitContext& ctx, const ModelConfig& config);
  Tensor forward(const Tensor& input_ids, const Tensor& positions,
                 const ForwardContext& context) const;
  const pagoda::VocabParallelEmbedding& embed_tokens() const { return embed_tokens_; }

 private:
  pagoda::VocabParallelEmbedding embed_tokens_;
  // unique_ptr: attention layers register their address, so layers must never move.
  std::vector<std::unique_ptr<ExampleDecoderLayer>> layers_;
  pagoda::RMSNorm norm_;
};

class ExampleForCausalLM : public pagoda::Model {
 public:
  explicit ExampleForCausalLM(const ModelInitContext& ctx);

  Tensor embed_input_ids(const Tensor& input_ids) override;
  Tensor forward(const Tensor& input_ids, const Tensor& positions,
                 ForwardContext& context) override;
  Tensor compute_logits(const Tensor& hidden_states) override;
  // How checkpoint tensors reach the parameters; Model::load_weights does the loading and the
  // strict check (no parameter missing, no tensor left over).
  pagoda::WeightLoadingRules weight_loading_rules() const override;

 private:
  const ModelConfig& config_;
  ExampleModel model_;
  pagoda::ParallelLMHead lm_head_;
  pagoda::LogitsProcessor logits_processor_;
};

}  // namespace example
