#include "example_model.h"

#include <fmt/format.h>

#include <cmath>

#include "pagoda/error.h"

namespace example {
namespace {

const ModelConfig& config_of(const ModelInitContext& ctx) {
  PAGODA_CHECK(ctx.config != nullptr && ctx.parameters != nullptr && ctx.attention != nullptr,
               InvalidArgument,
               fmt::format("ExampleForCausalLM at prefix '{}' was given a ModelInitContext without "
                           "a config, a ParameterSet or an AttentionRegistry",
                           ctx.prefix),
               "build the model through the model runner, or fill all three in the context");
  return *ctx.config;
}

int64_t intermediate_size_of(const ModelConfig& config) {
  PAGODA_CHECK(config.intermediate_size.has_value(), InvalidConfig,
               fmt::format("{} has no 'intermediate_size'", config.hf_text_config.source()),
               "add the MLP width (\"intermediate_size\": N) to config.json");
  return *config.intermediate_size;
}

pagoda::ParallelLMHead make_lm_head(const ModelInitContext& ctx, const ModelConfig& config,
                                    const pagoda::VocabParallelEmbedding& embed_tokens) {
  if (config.tie_word_embeddings) return pagoda::ParallelLMHead(ctx, embed_tokens);
  return pagoda::ParallelLMHead(ctx, config.vocab_size, config.hidden_size);
}

}  // namespace

ExampleMLP::ExampleMLP(const ModelInitContext& ctx, const ModelConfig& config)
    : gate_up_proj_(ctx.child("gate_up_proj"), config.hidden_size,
                    {intermediate_size_of(config), intermediate_size_of(config)},
                    config.hf_text_config.get_bool_or("mlp_bias", false)),
      act_(config.hf_text_config.get_string_or("hidden_act", "silu")),
      down_proj_(ctx.child("down_proj"), intermediate_size_of(config), config.hidden_size,
                 config.hf_text_config.get_bool_or("mlp_bias", false)) {}

Tensor ExampleMLP::forward(const Tensor& x) const {
  return down_proj_.forward(act_.forward(gate_up_proj_.forward(x)));
}

ExampleAttention::ExampleAttention(const ModelInitContext& ctx, const ModelConfig& config)
    : qkv_proj_(ctx.child("qkv_proj"), config.hidden_size, config.head_size,
                config.num_attention_heads, config.num_kv_heads,
                config.hf_text_config.get_bool_or("attention_bias", false)),
      o_proj_(ctx.child("o_proj"), config.num_attention_heads * config.head_size,
              config.hidden_size, config.hf_text_config.get_bool_or("attention_bias", false)),
      rotary_emb_(pagoda::RotaryEmbedding::get(config.rope, ctx.device)),
      // Head counts are this rank's share, as the fused projection computed them.
      attn_(ctx.child("attn"), qkv_proj_.num_heads(), config.head_size,
            1.0 / std::sqrt(static_cast<double>(config.head_size)), qkv_proj_.num_kv_heads()) {}

Tensor ExampleAttention::forward(const Tensor& positions, const Tensor& hidden,
                                 const ForwardContext& context) const {
  const Tensor qkv = qkv_proj_.forward(hidden);
  const int64_t q = qkv_proj_.q_size(), kv = qkv_proj_.kv_size();
  // Strided column views of the fused output; rotary rotates them in place.
  Tensor query = qkv.slice(1, 0, q);
  Tensor key = qkv.slice(1, q, q + kv);
  const Tensor value = qkv.slice(1, q + kv, q + 2 * kv);
  rotary_emb_->forward(positions, query, key);
  return o_proj_.forward(attn_.forward(query, key, value, context));
}

ExampleDecoderLayer::ExampleDecoderLayer(const ModelInitContext& ctx, const ModelConfig& config)
    : self_attn_(ctx.child("self_attn"), config),
      mlp_(ctx.child("mlp"), config),
      input_layernorm_(ctx.child("input_layernorm"), config.hidden_size,
                       config.norm_eps.value_or(1e-6)),
      post_attention_layernorm_(ctx.child("post_attention_layernorm"), config.hidden_size,
                                config.norm_eps.value_or(1e-6)) {}

void ExampleDecoderLayer::forward(const Tensor& positions, Tensor& hidden, Tensor& residual,
                                  const ForwardContext& context) const {
  if (!residual.defined()) {
    residual = hidden;
    hidden = input_layernorm_.forward(hidden);
  } else {
    input_layernorm_.forward(hidden, residual);
  }
  hidden = self_attn_.forward(positions, hidden, context);
  post_attention_layernorm_.forward(hidden, residual);
  hidden = mlp_.forward(hidden);
}

ExampleModel::ExampleModel(const ModelInitContext& ctx, const ModelConfig& config)
    : embed_tokens_(ctx.child("embed_tokens"), config.vocab_size, config.hidden_size),
      norm_(ctx.child("norm"), config.hidden_size, config.norm_eps.value_or(1e-6)) {
  for (int64_t i = 0; i < config.num_hidden_layers; ++i)
    layers_.push_back(
        std::make_unique<ExampleDecoderLayer>(ctx.child(fmt::format("layers.{}", i)), config));
}

Tensor ExampleModel::forward(const Tensor& input_ids, const Tensor& positions,
                             const ForwardContext& context) const {
  Tensor hidden = embed_tokens_.forward(input_ids);
  Tensor residual;
  for (const auto& layer : layers_) layer->forward(positions, hidden, residual, context);
  if (residual.defined())
    norm_.forward(hidden, residual);
  else
    hidden = norm_.forward(hidden);  // a config with zero layers
  return hidden;
}

ExampleForCausalLM::ExampleForCausalLM(const ModelInitContext& ctx)
    : pagoda::Model(ctx),
      config_(config_of(ctx)),
      model_(ctx.child("model"), config_),
      lm_head_(make_lm_head(ctx.child("lm_head"), config_, model_.embed_tokens())),
      logits_processor_(ctx, config_.vocab_size) {}

Tensor ExampleForCausalLM::embed_input_ids(const Tensor& input_ids) {
  return model_.embed_tokens().forward(input_ids);
}

Tensor ExampleForCausalLM::forward(const Tensor& input_ids, const Tensor& positions,
                                   ForwardContext& context) {
  return model_.forward(input_ids, positions, context);
}

Tensor ExampleForCausalLM::compute_logits(const Tensor& hidden_states) {
  return logits_processor_.forward(lm_head_, hidden_states);
}

pagoda::WeightLoadingRules ExampleForCausalLM::weight_loading_rules() const {
  pagoda::WeightLoadingRules rules;
  // The checkpoint stores q/k/v and gate/up as separate tensors; the model fuses each group into
  // one parameter whose loader places a tensor by its shard id.
  rules.stacked = {
      {".qkv_proj", ".q_proj", "q"},      {".qkv_proj", ".k_proj", "k"},
      {".qkv_proj", ".v_proj", "v"},      {".gate_up_proj", ".gate_proj", "0"},
      {".gate_up_proj", ".up_proj", "1"},
  };
  // Tied embeddings: the head is the embedding, loaded from model.embed_tokens.weight; a copy of
  // lm_head.weight in the checkpoint is not a parameter of this model.
  if (lm_head_.tied()) rules.skip_prefixes.push_back("lm_head.");
  return rules;
}

}  // namespace example
