// Qwen3: Llama with an RMSNorm over each head of q and k before the rotary embedding, and q/k/v
// bias only when config.json's attention_bias says so.
#include "models/llama.h"
#include "pagoda/model_registry.h"

namespace pagoda {

class Qwen3ForCausalLM : public LlamaForCausalLM {
 public:
  explicit Qwen3ForCausalLM(const ModelInitContext& ctx) : LlamaForCausalLM(ctx, {.qkv_bias = std::nullopt, .qk_norm = true}) {}
};

PAGODA_REGISTER_MODEL(Qwen3ForCausalLM, (ModelCapabilities{.pipeline_parallel = true, .lora = true}),
                      "Qwen3ForCausalLM");

}  // namespace pagoda
