// Test plugin built as if against another Pagoda: its ABI version is not this one's.
#include <cstdint>

#include "pagoda/plugin.h"

extern "C" __attribute__((visibility("default"))) uint32_t pagoda_plugin_abi_version() {
  return pagoda::kPluginAbiVersion + 41;
}
extern "C" __attribute__((visibility("default"))) void pagoda_plugin_register(pagoda::ModelRegistry*) {}

namespace {
std::unique_ptr<pagoda::Model> create(const pagoda::ModelInitContext&) { return nullptr; }
}  // namespace
extern "C" __attribute__((visibility("default"))) const pagoda::ModelDescriptor old_model = {
    pagoda::kPluginAbiVersion + 41, pagoda::ModelCapabilities{}, &create};
