// Out-of-tree models as shared libraries.
//
// A plugin library exports one C entry point, defined with PAGODA_PLUGIN, that registers its
// models; the registry checks the ABI version the plugin was built against before calling it.
// A model can also be registered lazily as "path/libfoo.so:Symbol": the library is opened only
// when that architecture is resolved, and `Symbol` names a descriptor defined with
// PAGODA_MODEL_DESCRIPTOR.
//
//   // my_model.cpp, built into libmy_model.so against the installed headers
//   class MyModel : public pagoda::Model { ... };
//   PAGODA_PLUGIN(registry) {
//     registry.register_model("MyForCausalLM", [](const pagoda::ModelInitContext& ctx) {
//       return std::make_unique<MyModel>(ctx);
//     });
//   }
#pragma once

#include <cstdint>

#include "pagoda/model.h"

namespace pagoda {

class ModelRegistry;

// Bumped whenever Model, ModelInitContext, ModelRegistry or anything a plugin's code sees through
// them changes layout or meaning. A plugin built against another version is refused.
constexpr uint32_t kPluginAbiVersion = 1;

// What a lazily registered symbol points at.
struct ModelDescriptor {
  uint32_t abi_version;
  ModelCapabilities capabilities;
  std::unique_ptr<Model> (*create)(const ModelInitContext& context);
};

}  // namespace pagoda

// The C entry points' names, looked up with dlsym.
#define PAGODA_PLUGIN_ABI_SYMBOL "pagoda_plugin_abi_version"
#define PAGODA_PLUGIN_REGISTER_SYMBOL "pagoda_plugin_register"

// Defines the plugin's entry points; the body registers models on `registry_var`.
#define PAGODA_PLUGIN(registry_var)                                                        \
  extern "C" __attribute__((visibility("default"))) uint32_t pagoda_plugin_abi_version() { \
    return ::pagoda::kPluginAbiVersion;                                                    \
  }                                                                                        \
  static void pagoda_plugin_register_impl(::pagoda::ModelRegistry& registry_var);          \
  extern "C" __attribute__((visibility("default"))) void pagoda_plugin_register(           \
      ::pagoda::ModelRegistry* registry) {                                                 \
    pagoda_plugin_register_impl(*registry);                                                \
  }                                                                                        \
  static void pagoda_plugin_register_impl(::pagoda::ModelRegistry& registry_var)

// Defines `symbol` as a descriptor for lazy registration ("libfoo.so:symbol").
#define PAGODA_MODEL_DESCRIPTOR(symbol, capabilities, create_fn)                          \
  extern "C" __attribute__((visibility("default"))) const ::pagoda::ModelDescriptor symbol = \
      {::pagoda::kPluginAbiVersion, capabilities, create_fn}
