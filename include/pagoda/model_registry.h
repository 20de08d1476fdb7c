// The model registry: Hugging Face `architectures` names -> implementations.
//
// Built-in models register beside their class with PAGODA_REGISTER_MODEL (one line, many names).
// Out-of-tree models come from plugins (pagoda/plugin.h), registered eagerly with a factory or
// lazily as "path/libfoo.so:Symbol", which opens the library only when that architecture is
// resolved. Capabilities are known for every entry without loading or constructing anything.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "pagoda/model.h"

namespace pagoda {

using ModelFactory = std::function<std::unique_ptr<Model>(const ModelInitContext&)>;

// One resolved architecture: the name that matched and how to build it.
struct ResolvedModel {
  std::string architecture;
  ModelCapabilities capabilities;
  ModelFactory factory;
};

class ModelRegistry {
 public:
  // The process-wide registry holding the built-in models.
  static ModelRegistry& global();

  ModelRegistry();
  ~ModelRegistry();
  ModelRegistry(const ModelRegistry&) = delete;
  ModelRegistry& operator=(const ModelRegistry&) = delete;

  // Eager registration. Registering a name again logs a warning and the last registration wins.
  void register_model(const std::string& architecture, ModelFactory factory,
                      ModelCapabilities capabilities = {});
  // Lazy registration: `spec` is "path/to/libfoo.so:Symbol", Symbol a PAGODA_MODEL_DESCRIPTOR.
  // Nothing is opened now; `capabilities` answer questions until the library is loaded.
  void register_model(const std::string& architecture, const std::string& spec,
                      ModelCapabilities capabilities = {});

  // Opens a plugin library, checks its ABI version and runs its PAGODA_PLUGIN entry point.
  // Errors carry the dynamic loader's own message. Loading the same path twice is a no-op.
  void load_plugin(const std::filesystem::path& path);
  // Loads every plugin in a ':'-separated list (the PAGODA_PLUGINS environment variable's form).
  void load_plugins(const std::string& path_list);

  bool is_supported(const std::string& architecture) const;
  // Sorted names of every registered architecture.
  std::vector<std::string> supported_architectures() const;
  // Capabilities of one architecture, without loading or constructing it; throws if unknown.
  ModelCapabilities capabilities(const std::string& architecture) const;
  // Whether the entry is lazy and its library not yet loaded.
  bool is_lazy_unloaded(const std::string& architecture) const;

  // Tries each name of config.json's `architectures` in order and returns the first registered
  // one, loading a lazy entry's library. If none is registered, the error lists the supported
  // architectures and the nearest name to each requested one.
  ResolvedModel resolve(const std::vector<std::string>& architectures);

 private:
  struct Entry;
  struct Plugin;
  Entry& find_or_throw(const std::string& architecture) const;
  void load_lazy(Entry& entry);

  // Recursive: a plugin's entry point (or a lazily opened library's static initialisers)
  // registers models while load_plugin / resolve hold the lock.
  mutable std::recursive_mutex mutex_;
  std::vector<std::unique_ptr<Entry>> entries_;
  std::vector<std::unique_ptr<Plugin>> plugins_;
};

namespace detail {
// Registers built-in models at static-initialisation time; see PAGODA_REGISTER_MODEL.
struct ModelRegistrar {
  ModelRegistrar(std::initializer_list<const char*> architectures, ModelFactory factory,
                 ModelCapabilities capabilities);
};
}  // namespace detail

}  // namespace pagoda

#define PAGODA_REGISTRAR_CONCAT2(a, b) a##b
#define PAGODA_REGISTRAR_CONCAT(a, b) PAGODA_REGISTRAR_CONCAT2(a, b)

// Registers ModelClass under one or more architecture names, beside the class:
//   PAGODA_REGISTER_MODEL(LlamaForCausalLM, ModelCapabilities{.pipeline_parallel = true},
//                         "LlamaForCausalLM", "MistralForCausalLM", "InternLMForCausalLM");
// ModelClass must be constructible from a const ModelInitContext&.
#define PAGODA_REGISTER_MODEL(ModelClass, capabilities, ...)                                      \
  static const ::pagoda::detail::ModelRegistrar PAGODA_REGISTRAR_CONCAT(pagoda_registrar_,         \
                                                                         __COUNTER__)(             \
      {__VA_ARGS__},                                                                               \
      [](const ::pagoda::ModelInitContext& context) -> std::unique_ptr<::pagoda::Model> {          \
        return std::make_unique<ModelClass>(context);                                              \
      },                                                                                           \
      capabilities)
