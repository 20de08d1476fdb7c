#include "models/llama.h"

#include <fmt/format.h>

#include <cmath>

#include "pagoda/error.h"
#include "pagoda/model_registry.h"

namespace pagoda {
namespace {

const ModelConfig& config_of(const ModelInitContext& ctx) {
  PAGODA_CHECK(ctx.config != nullptr, InvalidArgument,
               "a model was constructed without a ModelConfig", "set ModelInitContext::config");
  return *ctx.config;
}

int64_t intermediate_size(const ModelConfig& c) {
  PAGODA_CHECK(c.intermediate_size.has_value(), InvalidConfig,
               "config.json has no intermediate_size",
               "add the MLP width as \"intermediate_size\"");
  return *c.intermediate_size;
}

// [T, heads * head_size] with strided rows -> a [T, heads, head_size] view of the same memory.
Tensor by_head(const Tensor& x, int64_t head_size) {
  const int64_t heads = x.size(1) / head_size;
  return Tensor::from_storage(x.storage(), x.byte_offset(), {x.size(0), heads, head_size},
                              {x.stride(0), head_size, 1}, x.dtype());
}

}  // namespace

LlamaAttention::LlamaAttention(const ModelInitContext& ctx, const ModelConfig& c,
                               const LlamaOptions& options, int64_t layer)
    : qkv_proj_(ctx.child("qkv_proj"), c.hidden_size, c.head_size, c.num_attention_heads,
                c.num_kv_heads,
                options.qkv_bias.value_or(c.hf_text_config.get_bool_or("attention_bias", false))),
      o_proj_(
          ctx.child("o_proj"), c.num_attention_heads * c.head_size, c.hidden_size,
          c.hf_text_config.get_bool_or("attention_bias", false) && !options.qkv_bias.has_value()),
      rotary_emb_(RotaryEmbedding::get(c.rope, ctx.device)),
      attn_(ctx.child("attn"), qkv_proj_.num_heads(), c.head_size,
            1.0 / std::sqrt(static_cast<double>(c.head_size)), qkv_proj_.num_kv_heads(),
            c.sliding_window_for_layer(layer)) {
  if (options.qk_norm) {
    const double eps = c.norm_eps.value_or(1e-6);
    q_norm_.emplace(ctx.child("q_norm"), c.head_size, eps);
    k_norm_.emplace(ctx.child("k_norm"), c.head_size, eps);
  }
}

Tensor LlamaAttention::forward(const Tensor& positions, const Tensor& hidden,
                               const ForwardContext& context) const {
  Tensor qkv = qkv_proj_.forward(hidden);
  const int64_t q_size = qkv_proj_.q_size(), kv_size = qkv_proj_.kv_size();
  Tensor q = qkv.slice(1, 0, q_size);
  Tensor k = qkv.slice(1, q_size, q_size + kv_size);
  Tensor v = qkv.slice(1, q_size + kv_size, q_size + 2 * kv_size);
  if (q_norm_) {
    const int64_t head = qkv_proj_.head_size();
    q = q_norm_->forward(by_head(q, head)).view({q.size(0), q_size});
    k = k_norm_->forward(by_head(k, head)).view({k.size(0), kv_size});
  }
  rotary_emb_->forward(positions, q, k);
  return o_proj_.forward(attn_.forward(q, k, v, context));
}

LlamaMLP::LlamaMLP(const ModelInitContext& ctx, const ModelConfig& c)
    : gate_up_proj_(ctx.child("gate_up_proj"), c.hidden_size,
                    {intermediate_size(c), intermediate_size(c)},
                    c.hf_text_config.get_bool_or("mlp_bias", false)),
      down_proj_(ctx.child("down_proj"), intermediate_size(c), c.hidden_size,
                 c.hf_text_config.get_bool_or("mlp_bias", false)),
      act_fn_(c.hf_text_config.get_string_or("hidden_act", "silu")) {}

Tensor LlamaMLP::forward(const Tensor& hidden) const {
  return down_proj_.forward(act_fn_.forward(gate_up_proj_.forward(hidden)));
}

LlamaDecoderLayer::LlamaDecoderLayer(const ModelInitContext& ctx, const ModelConfig& c,
                                     const LlamaOptions& options, int64_t layer)
    : self_attn_(ctx.child("self_attn"), c, options, layer),
      mlp_(ctx.child("mlp"), c),
      input_layernorm_(ctx.child("input_layernorm"), c.hidden_size, c.norm_eps.value_or(1e-6)),
      post_attention_layernorm_(ctx.child("post_attention_layernorm"), c.hidden_size,
                                c.norm_eps.value_or(1e-6)) {}

void LlamaDecoderLayer::forward(const Tensor& positions, Tensor& hidden, Tensor& residual,
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

LlamaModel::LlamaModel(const ModelInitContext& ctx, const ModelConfig& c,
                       const LlamaOptions& options, bool keep_embeddings_on_last_stage)
    : parallel_(ctx.parallel),
      hidden_size_(c.hidden_size),
      dtype_(ctx.dtype),
      device_(ctx.device),
      range_(pp_layer_range(c.num_hidden_layers, ctx.parallel.pp_rank, ctx.parallel.pp_size)) {
  if (parallel_.is_first_stage() || (parallel_.is_last_stage() && keep_embeddings_on_last_stage))
    embed_tokens_.emplace(ctx.child("embed_tokens"), c.vocab_size, c.hidden_size);
  for (int64_t i = range_.begin; i < range_.end; ++i)
    layers_.push_back(std::make_unique<LlamaDecoderLayer>(
        ctx.child("layers").child(std::to_string(i)), c, options, i));
  if (parallel_.is_last_stage())
    norm_.emplace(ctx.child("norm"), c.hidden_size, c.norm_eps.value_or(1e-6));
}

const VocabParallelEmbedding& LlamaModel::embed_tokens() const {
  PAGODA_CHECK(embed_tokens_.has_value(), Internal,
               fmt::format("pipeline stage {} has no token embeddings", parallel_.pp_rank),
               "only the first stage (and a last stage with tied embeddings) embeds tokens");
  return *embed_tokens_;
}

Tensor LlamaModel::embed_input_ids(const Tensor& input_ids) const {
  return embed_tokens().forward(input_ids);
}

IntermediateTensors LlamaModel::forward_stage(const Tensor& input_ids, const Tensor& positions,
                                              const ForwardContext& context,
                                              const IntermediateTensors& inputs) const {
  Tensor hidden, residual;
  if (parallel_.is_first_stage()) {
    hidden = embed_input_ids(input_ids);
  } else {
    hidden = inputs.at("hidden_states");
    residual = inputs.at("residual");
  }
  for (const auto& layer : layers_) layer->forward(positions, hidden, residual, context);
  IntermediateTensors out;
  if (!parallel_.is_last_stage()) {
    out.set("hidden_states", hidden);
    out.set("residual", residual);
    return out;
  }
  norm_->forward(hidden, residual);
  out.set("hidden_states", hidden);
  return out;
}

IntermediateTensors LlamaModel::make_empty_intermediate_tensors(int64_t num_tokens) const {
  IntermediateTensors out;
  out.set("hidden_states", Tensor::empty({num_tokens, hidden_size_}, dtype_, device_));
  out.set("residual", Tensor::empty({num_tokens, hidden_size_}, dtype_, device_));
  return out;
}

Tensor LlamaModel::forward(const Tensor& input_ids, const Tensor& positions,
                           const ForwardContext& context) const {
  PAGODA_CHECK(
      parallel_.pp_size == 1, InvalidArgument,
      fmt::format("forward() on pipeline stage {} of {}", parallel_.pp_rank, parallel_.pp_size),
      "run a pipeline stage with forward_stage()");
  return forward_stage(input_ids, positions, context, {}).at("hidden_states");
}

LlamaForCausalLM::LlamaForCausalLM(const ModelInitContext& ctx, const LlamaOptions& options)
    : Model(ctx),
      config_(config_of(ctx)),
      model_(ctx.child("model"), config_, options, config_.tie_word_embeddings),
      logits_processor_(ctx, config_.vocab_size) {
  if (!parallel_.is_last_stage()) return;
  if (config_.tie_word_embeddings)
    lm_head_.emplace(ctx.child("lm_head"), model_.embed_tokens());
  else
    lm_head_.emplace(ctx.child("lm_head"), config_.vocab_size, config_.hidden_size);
}

Tensor LlamaForCausalLM::embed_input_ids(const Tensor& input_ids) {
  return model_.embed_input_ids(input_ids);
}

Tensor LlamaForCausalLM::forward(const Tensor& input_ids, const Tensor& positions,
                                 ForwardContext& context) {
  return model_.forward(input_ids, positions, context);
}

IntermediateTensors LlamaForCausalLM::forward_stage(const Tensor& input_ids,
                                                    const Tensor& positions,
                                                    ForwardContext& context,
                                                    const IntermediateTensors& inputs) {
  return model_.forward_stage(input_ids, positions, context, inputs);
}

IntermediateTensors LlamaForCausalLM::make_empty_intermediate_tensors(int64_t num_tokens) const {
  return model_.make_empty_intermediate_tensors(num_tokens);
}

Tensor LlamaForCausalLM::compute_logits(const Tensor& hidden_states) {
  PAGODA_CHECK(lm_head_.has_value(), InvalidArgument,
               fmt::format("compute_logits on pipeline stage {} of {}", parallel_.pp_rank,
                           parallel_.pp_size),
               "compute logits on the last stage, which holds the LM head");
  return logits_processor_.forward(*lm_head_, hidden_states);
}

WeightLoadingRules LlamaForCausalLM::weight_loading_rules() const {
  WeightLoadingRules rules;
  rules.stacked = {{".qkv_proj", ".q_proj", "q"},
                   {".qkv_proj", ".k_proj", "k"},
                   {".qkv_proj", ".v_proj", "v"},
                   {".gate_up_proj", ".gate_proj", "0"},
                   {".gate_up_proj", ".up_proj", "1"}};
  if (config_.tie_word_embeddings || !parallel_.is_last_stage())
    rules.skip_prefixes.push_back("lm_head.");
  // Pipeline stages load only what they built.
  skip_layers_outside(rules, "model.layers", config_.num_hidden_layers, model_.layer_range());
  const bool has_embeddings =
      parallel_.is_first_stage() || (parallel_.is_last_stage() && config_.tie_word_embeddings);
  if (!has_embeddings) rules.skip_prefixes.push_back("model.embed_tokens.");
  if (!parallel_.is_last_stage()) rules.skip_prefixes.push_back("model.norm.");
  return rules;
}

PAGODA_REGISTER_MODEL(LlamaForCausalLM,
                      (ModelCapabilities{.pipeline_parallel = true, .lora = true}),
                      "LlamaForCausalLM", "LLaMAForCausalLM", "MistralForCausalLM",
                      "InternLMForCausalLM", "InternLM3ForCausalLM", "AquilaForCausalLM",
                      "AquilaModel", "XverseForCausalLM");

}  // namespace pagoda
