// Qwen2: Llama with biases on the q/k/v projections (and none on o_proj).
#include "models/llama.h"
#include "pagoda/model_registry.h"

namespace pagoda {

class Qwen2ForCausalLM : public LlamaForCausalLM {
 public:
  explicit Qwen2ForCausalLM(const ModelInitContext& ctx) : LlamaForCausalLM(ctx, {.qkv_bias = true, .qk_norm = false}) {}
};

PAGODA_REGISTER_MODEL(Qwen2ForCausalLM, (ModelCapabilities{.pipeline_parallel = true, .lora = true}),
                      "Qwen2ForCausalLM");

}  // namespace pagoda
