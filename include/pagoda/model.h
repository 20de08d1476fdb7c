// The interface every model implements, and the static facts the registry keeps about it.
//
// A model is built from its configuration and its state-dict prefix, runs on the flattened tokens
// of the whole batch (no batch dimension: input_ids and positions are [num_tokens]), and returns
// hidden states; logits are computed separately, only for the rows the engine samples from.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pagoda/communicator.h"
#include "pagoda/tensor.h"
#include "pagoda/weight_loading.h"

namespace pagoda {

struct ModelConfig;       // pagoda/model_config.h
struct ForwardContext;    // pagoda/layers/attention.h: per-step batch layout, from the model runner
class AttentionRegistry;  // pagoda/layers/attention.h

// What an architecture can do, known without constructing it or touching a GPU.
struct ModelCapabilities {
  bool text_generation = true;
  bool pooling = false;
  bool multimodal = false;
  bool pipeline_parallel = false;
  bool lora = false;
  bool hybrid = false;          // attention and recurrent (Mamba) layers together
  bool attention_free = false;  // recurrent only

  // "generate, pp, lora": the flags that are set, in a fixed order.
  std::string to_string() const;
  bool operator==(const ModelCapabilities&) const = default;
};

// What a model, and each of its layers, is constructed from. A model passes it down, extending
// the prefix with child(): a layer registers its parameters as prefix + ".weight" and so on.
struct ModelInitContext {
  const ModelConfig* config = nullptr;
  // The module's full state-dict name ("" for the top level, "model.layers.3.self_attn" deeper).
  std::string prefix;
  // Tensor-parallel rank and size; every parallel layer shards by it.
  ParallelState parallel = ParallelState::single();
  // Where layers register their parameters (with weight loaders), and attention layers
  // themselves; owned by whoever builds the model (the model runner, `pagoda check`, a test).
  ParameterSet* parameters = nullptr;
  AttentionRegistry* attention = nullptr;
  // The dtype of parameters and activations.
  DType dtype = DType::F32;
  // Where parameters live (and so where the layers compute): weight loaders copy checkpoint
  // tensors from host memory to it.
  Device device = Device::cpu();

  // The same context for the child module `name`: prefix "a.b" -> "a.b.name" ("" -> "name").
  ModelInitContext child(std::string_view name) const {
    ModelInitContext c = *this;
    c.prefix = prefix.empty() ? std::string(name) : prefix + "." + std::string(name);
    return c;
  }
};

// The tensors one pipeline stage hands the next (vLLM's IntermediateTensors): for decoder models
// the hidden states and the residual stream, [num_tokens, hidden] each, by name, in a fixed order.
struct IntermediateTensors {
  std::vector<std::pair<std::string, Tensor>> tensors;

  bool empty() const { return tensors.empty(); }
  // The tensor called `name`; pagoda::Error naming the ones there are if it is missing.
  const Tensor& at(std::string_view name) const;
  void set(std::string name, Tensor tensor);
};

// The decoder layers [begin, end) that pipeline stage `pp_rank` of `pp_size` owns (vLLM's
// get_pp_indices): num_layers / pp_size each, the remainder going one by one to the stages before
// the last (the last stage also computes the final norm and the logits). PAGODA_PP_LAYER_PARTITION
// ("10,12,10") overrides the split. Throws pagoda::Error when a stage would get no layer.
struct LayerRange {
  int64_t begin = 0, end = 0;
  bool contains(int64_t layer) const { return layer >= begin && layer < end; }
};
LayerRange pp_layer_range(int64_t num_layers, int pp_rank, int pp_size);
// Skips the checkpoint tensors of the decoder layers outside `range` ("<layers_prefix>.<i>."):
// another stage loads them.
void skip_layers_outside(WeightLoadingRules& rules, const std::string& layers_prefix, int64_t num_layers,
                         LayerRange range);

class Model {
 public:
  Model() = default;
  // Remembers the ParameterSet the model's layers register into, for the default load_weights,
  // and the parallel state, for forward_stage.
  explicit Model(const ModelInitContext& context)
      : parameters_(context.parameters), parallel_(context.parallel) {}
  virtual ~Model() = default;
  // Token embeddings for input_ids [num_tokens] -> [num_tokens, hidden].
  virtual Tensor embed_input_ids(const Tensor& input_ids) = 0;
  // Hidden states [num_tokens, hidden] for the flattened batch.
  virtual Tensor forward(const Tensor& input_ids, const Tensor& positions, ForwardContext& context) = 0;
  // Logits [rows, vocab] for the given hidden-state rows (on the last pipeline stage).
  virtual Tensor compute_logits(const Tensor& hidden_states) = 0;

  // Pipeline parallelism (vLLM's SupportsPP; ModelCapabilities::pipeline_parallel). A model that
  // supports it builds only the layers of its stage (pp_layer_range of ctx.parallel) and runs
  // them here: the first stage starts from input_ids, the others from `inputs`, the previous
  // stage's output; every stage but the last returns what the next one needs, the last returns
  // {"hidden_states": the final hidden states}. The default runs forward() when the model is one
  // stage and refuses otherwise.
  virtual IntermediateTensors forward_stage(const Tensor& input_ids, const Tensor& positions,
                                            ForwardContext& context,
                                            const IntermediateTensors& inputs);
  // Empty tensors of the shapes and dtypes forward_stage() passes between stages for
  // `num_tokens` tokens: what a stage receives into.
  virtual IntermediateTensors make_empty_intermediate_tensors(int64_t num_tokens) const;
  // How checkpoint names reach parameters (stacked q/k/v and gate/up, renames, skips).
  virtual WeightLoadingRules weight_loading_rules() const { return {}; }
  // Consumes checkpoint tensors; returns the names of the parameters it loaded. The default feeds
  // every tensor to its parameter by weight_loading_rules() and then checks strictly that no
  // parameter is missing and no tensor is left over (pagoda::Error listing both).
  virtual std::set<std::string> load_weights(WeightIterator& weights);

 protected:
  ParameterSet* parameters_ = nullptr;
  ParallelState parallel_ = ParallelState::single();
};

}  // namespace pagoda
