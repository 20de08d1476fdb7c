// Test plugin: registers one model eagerly through the PAGODA_PLUGIN entry point.
#include "pagoda/model_registry.h"
#include "pagoda/plugin.h"
#include "unit/plugins/marker_model.h"

PAGODA_PLUGIN(registry) {
  registry.register_model(
      "EagerPluginForCausalLM",
      [](const pagoda::ModelInitContext& context) -> std::unique_ptr<pagoda::Model> {
        return std::make_unique<pagoda::testing::MarkerModel>(context, 7.0f);
      },
      pagoda::ModelCapabilities{.text_generation = true, .lora = true});
}
