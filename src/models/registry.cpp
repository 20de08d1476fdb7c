#include "pagoda/model_registry.h"

#include <fmt/format.h>

#include <algorithm>

#include "models/nearest_name.h"
#include "models/shared_library.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "pagoda/plugin.h"

namespace pagoda {

struct ModelRegistry::Entry {
  std::string architecture;
  ModelCapabilities capabilities;
  ModelFactory factory;    // empty while a lazy entry is unloaded
  std::string lazy_spec;   // "path:Symbol" for lazy entries
};

struct ModelRegistry::Plugin {
  std::filesystem::path path;  // as given, made absolute
  std::unique_ptr<SharedLibrary> library;
};

namespace {

std::string abi_mismatch_problem(const std::string& what, uint32_t found) {
  return fmt::format("{} was built against Pagoda plugin ABI version {}, but this Pagoda has ABI version {}",
                     what, found, kPluginAbiVersion);
}
constexpr const char* kAbiFix = "rebuild the plugin against this Pagoda's headers and library";

std::filesystem::path absolute_path(const std::filesystem::path& p) {
  std::error_code ec;
  auto a = std::filesystem::absolute(p, ec);
  return ec ? p : a.lexically_normal();
}

}  // namespace

ModelRegistry& ModelRegistry::global() {
  static ModelRegistry registry;
  return registry;
}

ModelRegistry::ModelRegistry() = default;
ModelRegistry::~ModelRegistry() = default;

void ModelRegistry::register_model(const std::string& architecture, ModelFactory factory,
                                   ModelCapabilities capabilities) {
  PAGODA_CHECK(!architecture.empty(), InvalidArgument, "register_model called with an empty architecture name",
               "pass the name config.json's 'architectures' uses, e.g. \"LlamaForCausalLM\"");
  PAGODA_CHECK(factory != nullptr, InvalidArgument,
               fmt::format("register_model('{}') was given no factory", architecture),
               "pass a function that constructs the model from a ModelInitContext");
  std::lock_guard lock(mutex_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const auto& e) { return e->architecture == architecture; });
  if (it != entries_.end()) {
    log::warn("model architecture '{}' is already registered; the new registration replaces it", architecture);
    entries_.erase(it);
  }
  entries_.push_back(std::make_unique<Entry>(Entry{architecture, capabilities, std::move(factory), {}}));
}

void ModelRegistry::register_model(const std::string& architecture, const std::string& spec,
                                   ModelCapabilities capabilities) {
  const size_t colon = spec.rfind(':');
  PAGODA_CHECK(colon != std::string::npos && colon > 0 && colon + 1 < spec.size(), InvalidArgument,
               fmt::format("lazy model spec '{}' for '{}' is not of the form 'path/libfoo.so:Symbol'", spec,
                           architecture),
               "give the library path and the descriptor symbol separated by ':'");
  PAGODA_CHECK(!architecture.empty(), InvalidArgument, "register_model called with an empty architecture name",
               "pass the name config.json's 'architectures' uses");
  std::lock_guard lock(mutex_);
  auto it = std::find_if(entries_.begin(), entries_.end(),
                         [&](const auto& e) { return e->architecture == architecture; });
  if (it != entries_.end()) {
    log::warn("model architecture '{}' is already registered; the lazy registration '{}' replaces it",
              architecture, spec);
    entries_.erase(it);
  }
  entries_.push_back(std::make_unique<Entry>(Entry{architecture, capabilities, nullptr, spec}));
}

void ModelRegistry::load_plugin(const std::filesystem::path& path) {
  const auto absolute = absolute_path(path);
  std::lock_guard lock(mutex_);
  for (const auto& p : plugins_)
    if (p->path == absolute) return;
  auto library = std::make_unique<SharedLibrary>(absolute);
  auto* abi = reinterpret_cast<uint32_t (*)()>(
      library->symbol(PAGODA_PLUGIN_ABI_SYMBOL, "the plugin's ABI version, from PAGODA_PLUGIN"));
  const uint32_t version = abi();
  PAGODA_CHECK(version == kPluginAbiVersion, Unsupported,
               abi_mismatch_problem(fmt::format("plugin '{}'", absolute.string()), version), kAbiFix);
  auto* entry_point = reinterpret_cast<void (*)(ModelRegistry*)>(
      library->symbol(PAGODA_PLUGIN_REGISTER_SYMBOL, "the plugin's entry point, from PAGODA_PLUGIN"));
  plugins_.push_back(std::make_unique<Plugin>(Plugin{absolute, std::move(library)}));
  // The entry point calls register_model on this registry; mutex_ is recursive for that.
  entry_point(this);
  log::debug("loaded plugin {}", absolute.string());
}

void ModelRegistry::load_plugins(const std::string& path_list) {
  size_t start = 0;
  while (start <= path_list.size()) {
    size_t end = path_list.find(':', start);
    if (end == std::string::npos) end = path_list.size();
    const std::string item = path_list.substr(start, end - start);
    if (!item.empty()) load_plugin(item);
    start = end + 1;
  }
}

ModelRegistry::Entry& ModelRegistry::find_or_throw(const std::string& architecture) const {
  for (const auto& e : entries_)
    if (e->architecture == architecture) return *e;
  std::vector<std::string> names;
  for (const auto& e : entries_) names.push_back(e->architecture);
  const std::string near = nearest_name(architecture, names);
  throw_error(ErrorCode::NotFound,
              fmt::format("model architecture '{}' is not registered{}", architecture,
                          near.empty() ? "" : fmt::format(" (did you mean '{}'?)", near)),
              "run `pagoda models` for the supported architectures, or load a plugin that provides it");
}

bool ModelRegistry::is_supported(const std::string& architecture) const {
  std::lock_guard lock(mutex_);
  return std::any_of(entries_.begin(), entries_.end(),
                     [&](const auto& e) { return e->architecture == architecture; });
}

std::vector<std::string> ModelRegistry::supported_architectures() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> names;
  for (const auto& e : entries_) names.push_back(e->architecture);
  std::sort(names.begin(), names.end());
  return names;
}

ModelCapabilities ModelRegistry::capabilities(const std::string& architecture) const {
  std::lock_guard lock(mutex_);
  return find_or_throw(architecture).capabilities;
}

bool ModelRegistry::is_lazy_unloaded(const std::string& architecture) const {
  std::lock_guard lock(mutex_);
  const Entry& e = find_or_throw(architecture);
  return !e.factory;
}

void ModelRegistry::load_lazy(Entry& entry) {
  const size_t colon = entry.lazy_spec.rfind(':');
  const std::string path = entry.lazy_spec.substr(0, colon);
  const std::string symbol = entry.lazy_spec.substr(colon + 1);
  const auto absolute = absolute_path(path);
  SharedLibrary* library = nullptr;
  for (const auto& p : plugins_)
    if (p->path == absolute) library = p->library.get();
  if (!library) {
    plugins_.push_back(std::make_unique<Plugin>(Plugin{absolute, std::make_unique<SharedLibrary>(absolute)}));
    library = plugins_.back()->library.get();
  }
  const auto* descriptor = static_cast<const ModelDescriptor*>(
      library->symbol(symbol, fmt::format("the model descriptor for '{}', from PAGODA_MODEL_DESCRIPTOR",
                                          entry.architecture)));
  PAGODA_CHECK(descriptor->abi_version == kPluginAbiVersion, Unsupported,
               abi_mismatch_problem(fmt::format("model '{}' in '{}'", entry.architecture, absolute.string()),
                                    descriptor->abi_version),
               kAbiFix);
  PAGODA_CHECK(descriptor->create != nullptr, InvalidArgument,
               fmt::format("model descriptor '{}' in '{}' has no create function", symbol, absolute.string()),
               "pass the model's factory function to PAGODA_MODEL_DESCRIPTOR");
  if (!(descriptor->capabilities == entry.capabilities))
    log::warn("model '{}': the library declares capabilities [{}] but it was registered with [{}]; using the "
              "library's",
              entry.architecture, descriptor->capabilities.to_string(), entry.capabilities.to_string());
  entry.capabilities = descriptor->capabilities;
  entry.factory = descriptor->create;
}

ResolvedModel ModelRegistry::resolve(const std::vector<std::string>& architectures) {
  std::lock_guard lock(mutex_);
  for (const auto& name : architectures) {
    for (const auto& e : entries_) {
      if (e->architecture != name) continue;
      if (!e->factory) load_lazy(*e);
      return {e->architecture, e->capabilities, e->factory};
    }
  }
  std::vector<std::string> names;
  for (const auto& e : entries_) names.push_back(e->architecture);
  std::sort(names.begin(), names.end());
  std::string hints;
  for (const auto& name : architectures) {
    const std::string near = nearest_name(name, names);
    if (!near.empty()) hints += fmt::format(" (for '{}', did you mean '{}'?)", name, near);
  }
  throw_error(ErrorCode::NotFound,
              architectures.empty()
                  ? std::string("config.json lists no 'architectures'")
                  : fmt::format("none of the model architectures [{}] is supported{}. Supported architectures: {}",
                                fmt::join(architectures, ", "), hints,
                                names.empty() ? std::string("(none)") : fmt::format("{}", fmt::join(names, ", "))),
              architectures.empty()
                  ? "add \"architectures\": [\"<Name>ForCausalLM\"] to config.json"
                  : "use a model with a supported architecture, or load a plugin that registers it (--plugin "
                    "PATH or PAGODA_PLUGINS)");
}

namespace detail {
ModelRegistrar::ModelRegistrar(std::initializer_list<const char*> architectures, ModelFactory factory,
                               ModelCapabilities capabilities) {
  for (const char* name : architectures) ModelRegistry::global().register_model(name, factory, capabilities);
}
}  // namespace detail

}  // namespace pagoda
