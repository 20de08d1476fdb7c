// Test plugin: a model descriptor for lazy registration ("liblazy.so:lazy_model").
#include "pagoda/plugin.h"
#include "unit/plugins/marker_model.h"

namespace {
std::unique_ptr<pagoda::Model> create(const pagoda::ModelInitContext& context) {
  return std::make_unique<pagoda::testing::MarkerModel>(context, 11.0f);
}
}  // namespace

PAGODA_MODEL_DESCRIPTOR(lazy_model, (pagoda::ModelCapabilities{.text_generation = true, .pipeline_parallel = true}),
                        &create);
