// The plugin's registrations: ExampleForCausalLM eagerly, through the PAGODA_PLUGIN entry point,
// and ExampleLazyForCausalLM lazily, as "<this library>:example_lazy_model", so that the registry
// resolves it through the descriptor below only when a config.json asks for it.
#include <dlfcn.h>

#include <memory>
#include <string>

#include "example_model.h"
#include "pagoda/error.h"
#include "pagoda/model_registry.h"
#include "pagoda/plugin.h"

namespace {

constexpr pagoda::ModelCapabilities kCapabilities{.text_generation = true};

std::unique_ptr<pagoda::Model> create_example(const pagoda::ModelInitContext& ctx) {
  return std::make_unique<example::ExampleForCausalLM>(ctx);
}

// The path this library was loaded from: the lazy spec must name a file the registry can open
// later, wherever the library was installed.
std::string this_library_path() {
  Dl_info info{};
  const bool found = dladdr(reinterpret_cast<const void*>(&create_example), &info) != 0 &&
                     info.dli_fname != nullptr;
  PAGODA_CHECK(found, Internal, "the example plugin cannot find its own file with dladdr",
               "load the plugin from a file (pagoda --plugin PATH), not from a static build");
  return info.dli_fname;
}

}  // namespace

// What the registry finds under "libpagoda_example_plugin.so:example_lazy_model".
PAGODA_MODEL_DESCRIPTOR(example_lazy_model, kCapabilities, &create_example);

PAGODA_PLUGIN(registry) {
  registry.register_model("ExampleForCausalLM", &create_example, kCapabilities);
  // The same capabilities as the descriptor, so `pagoda models` is right before the library is
  // opened for this entry.
  registry.register_model("ExampleLazyForCausalLM", this_library_path() + ":example_lazy_model",
                          kCapabilities);
}
