#include "pagoda/checkpoint_check.h"

#include <fmt/format.h>

#include <set>

#include "pagoda/error.h"
#include "pagoda/layers/attention.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/model_config.h"
#include "pagoda/model_registry.h"
#include "pagoda/safetensors.h"

namespace pagoda {

CheckReport check_checkpoint(const std::filesystem::path& model_dir) {
  CheckReport report;
  try {
    const ModelConfig config = ModelConfig::from_model_dir(model_dir);
    report.summary = {
        fmt::format("architectures {}", fmt::join(config.architectures, ", ")),
        fmt::format("hidden_size {}, layers {}, heads {}, kv heads {}, head size {}", config.hidden_size,
                    config.num_hidden_layers, config.num_attention_heads, config.num_kv_heads, config.head_size),
        fmt::format("vocab {}, max_model_len {} ({}), dtype {}", config.vocab_size, config.max_model_len,
                    config.max_model_len_origin, dtype_name(config.dtype)),
        fmt::format("rope {} theta {} rotary_dim {}", config.rope.rope_type, config.rope.theta,
                    config.rope.rotary_dim),
    };
    const ResolvedModel resolved = ModelRegistry::global().resolve(config.architectures);
    report.architecture = resolved.architecture;
    report.capabilities = resolved.capabilities;

    ParameterSet parameters;
    AttentionRegistry attention;
    ModelInitContext ctx;
    ctx.config = &config;
    ctx.parameters = &parameters;
    ctx.attention = &attention;
    ctx.dtype = config.dtype;
    std::unique_ptr<Model> model = resolved.factory(ctx);
    report.num_parameters = parameters.size();

    const SafetensorsCheckpoint checkpoint(model_dir);
    report.num_checkpoint_tensors = checkpoint.size();
    CheckpointWeights weights(checkpoint);
    WeightLoadResult result =
        load_weights(parameters, weights, model->weight_loading_rules(), /*validate_only=*/true, &report.mismatched);
    for (const auto& name : parameters.names())
      if (!result.loaded.contains(name))
        report.missing.push_back(fmt::format("{} {}", name, parameters.find(name)->data.shape().to_string()));
    for (const auto& [name, shape] : result.unexpected)
      report.unexpected.push_back(fmt::format("{} {}", name, shape.to_string()));
    // Keys that only matter to transformers (bookkeeping, training) are not worth a line.
    static const std::set<std::string> kBookkeeping = {
        "transformers_version", "_name_or_path", "initializer_range", "use_cache", "attention_dropout",
        "pretraining_tp", "output_attentions", "output_hidden_states", "return_dict", "torchscript"};
    for (const auto& key : config.hf_config.unread_keys())
      if (!kBookkeeping.contains(key)) report.unused_config_keys.push_back(key);
  } catch (const Error& e) {
    report.errors.push_back(e.what());
  }
  return report;
}

std::string format_check_report(const CheckReport& r) {
  std::string out;
  for (const auto& line : r.summary) out += fmt::format("  {}\n", line);
  if (!r.architecture.empty())
    out += fmt::format("  implementation {} [{}]: {} parameters, checkpoint {} tensors\n", r.architecture,
                       r.capabilities.to_string(), r.num_parameters, r.num_checkpoint_tensors);
  auto section = [&](const char* title, const std::vector<std::string>& items) {
    if (items.empty()) return;
    out += fmt::format("{} ({}):\n", title, items.size());
    for (const auto& i : items) out += fmt::format("  - {}\n", i);
  };
  section("error", r.errors);
  section("missing from the checkpoint", r.missing);
  section("in the checkpoint but not in the model", r.unexpected);
  section("wrong shape or shard", r.mismatched);
  section("config.json keys nothing read (informational)", r.unused_config_keys);
  out += r.ok() ? "OK: the checkpoint matches the implementation\n" : "FAILED\n";
  return out;
}

}  // namespace pagoda
