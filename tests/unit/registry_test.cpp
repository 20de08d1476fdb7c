#include <dlfcn.h>
#include <gtest/gtest.h>

#include <fmt/format.h>

#include "models/nearest_name.h"
#include "pagoda/error.h"
#include "pagoda/model_registry.h"
#include "pagoda/plugin.h"
#include "unit/plugins/marker_model.h"

using namespace pagoda;
using pagoda::testing::MarkerModel;
using pagoda::testing::marker_of;

namespace {

ModelFactory marker_factory(float marker) {
  return [marker](const ModelInitContext& c) -> std::unique_ptr<Model> {
    return std::make_unique<MarkerModel>(c, marker);
  };
}

std::string error_of(const std::function<void()>& fn) {
  try {
    fn();
  } catch (const Error& e) {
    return e.what();
  }
  return "<no error>";
}

bool library_is_loaded(const char* path) {
  void* h = dlopen(path, RTLD_NOW | RTLD_NOLOAD);
  if (h) dlclose(h);  // balances the reference RTLD_NOLOAD took
  return h != nullptr;
}

}  // namespace

TEST(ModelRegistry, EagerRegistrationWithAliasesResolvesInOrder) {
  ModelRegistry r;
  r.register_model("LlamaForCausalLM", marker_factory(1), ModelCapabilities{.pipeline_parallel = true});
  r.register_model("MistralForCausalLM", marker_factory(1));
  r.register_model("Qwen2ForCausalLM", marker_factory(2));
  EXPECT_EQ(r.supported_architectures(),
            (std::vector<std::string>{"LlamaForCausalLM", "MistralForCausalLM", "Qwen2ForCausalLM"}));
  // The first registered name of `architectures` wins; unknown names before it are skipped.
  ResolvedModel m = r.resolve({"UnknownThing", "Qwen2ForCausalLM", "LlamaForCausalLM"});
  EXPECT_EQ(m.architecture, "Qwen2ForCausalLM");
  ModelInitContext ctx{nullptr, "model"};
  auto model = m.factory(ctx);
  EXPECT_EQ(marker_of(*model), 2.0f);
  EXPECT_EQ(static_cast<MarkerModel&>(*model).prefix(), "model");
  EXPECT_TRUE(r.capabilities("LlamaForCausalLM").pipeline_parallel);
  EXPECT_EQ(r.capabilities("LlamaForCausalLM").to_string(), "generate, pp");
}

TEST(ModelRegistry, ReRegistrationLastWins) {
  ModelRegistry r;
  r.register_model("FooForCausalLM", marker_factory(1));
  r.register_model("FooForCausalLM", marker_factory(5));
  EXPECT_EQ(r.supported_architectures().size(), 1u);
  auto model = r.resolve({"FooForCausalLM"}).factory({});
  EXPECT_EQ(marker_of(*model), 5.0f);
}

TEST(ModelRegistry, UnknownArchitectureListsSupportedAndNearest) {
  ModelRegistry r;
  r.register_model("LlamaForCausalLM", marker_factory(1));
  r.register_model("Qwen2ForCausalLM", marker_factory(2));
  const std::string msg = error_of([&] { r.resolve({"LLamaForCausalLm"}); });
  EXPECT_NE(msg.find("'LLamaForCausalLm'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("did you mean 'LlamaForCausalLM'"), std::string::npos) << msg;
  EXPECT_NE(msg.find("Supported architectures: LlamaForCausalLM, Qwen2ForCausalLM"), std::string::npos) << msg;
  const std::string far = error_of([&] { r.resolve({"T5ForConditionalGeneration"}); });
  EXPECT_EQ(far.find("did you mean"), std::string::npos) << far;
  EXPECT_NE(error_of([&] { r.resolve({}); }).find("lists no 'architectures'"), std::string::npos);
  EXPECT_NE(error_of([&] { r.capabilities("Nope"); }).find("not registered"), std::string::npos);
}

TEST(ModelRegistry, RejectsBadRegistrations) {
  ModelRegistry r;
  EXPECT_NE(error_of([&] { r.register_model("", marker_factory(1)); }).find("empty architecture"),
            std::string::npos);
  EXPECT_NE(error_of([&] { r.register_model("X", ModelFactory{}); }).find("no factory"), std::string::npos);
  EXPECT_NE(error_of([&] { r.register_model("X", std::string("no-colon")); }).find("path/libfoo.so:Symbol"),
            std::string::npos);
}

TEST(ModelRegistry, PluginRegistersEagerly) {
  ModelRegistry r;
  r.load_plugin(PAGODA_TEST_EAGER_PLUGIN);
  r.load_plugin(PAGODA_TEST_EAGER_PLUGIN);  // a second load is a no-op
  ASSERT_TRUE(r.is_supported("EagerPluginForCausalLM"));
  EXPECT_TRUE(r.capabilities("EagerPluginForCausalLM").lora);
  auto model = r.resolve({"EagerPluginForCausalLM"}).factory({});
  EXPECT_EQ(marker_of(*model), 7.0f);
}

TEST(ModelRegistry, LazyEntryOpensItsLibraryOnlyWhenResolved) {
  ASSERT_FALSE(library_is_loaded(PAGODA_TEST_LAZY_PLUGIN));
  ModelRegistry r;
  r.register_model("LazyForCausalLM", std::string(PAGODA_TEST_LAZY_PLUGIN) + ":lazy_model",
                   ModelCapabilities{.text_generation = true, .pipeline_parallel = true});
  // Capabilities and the list answer without loading anything.
  EXPECT_TRUE(r.capabilities("LazyForCausalLM").pipeline_parallel);
  EXPECT_TRUE(r.is_lazy_unloaded("LazyForCausalLM"));
  EXPECT_FALSE(library_is_loaded(PAGODA_TEST_LAZY_PLUGIN));
  ResolvedModel m = r.resolve({"LazyForCausalLM"});
  EXPECT_TRUE(library_is_loaded(PAGODA_TEST_LAZY_PLUGIN));
  EXPECT_FALSE(r.is_lazy_unloaded("LazyForCausalLM"));
  EXPECT_EQ(marker_of(*m.factory({})), 11.0f);
}

TEST(ModelRegistry, LazyEntryErrorsNameTheCause) {
  ModelRegistry r;
  r.register_model("MissingLib", std::string("/nonexistent/libnothing.so:sym"));
  std::string msg = error_of([&] { r.resolve({"MissingLib"}); });
  EXPECT_NE(msg.find("/nonexistent/libnothing.so"), std::string::npos) << msg;
  EXPECT_NE(msg.find("No such file"), std::string::npos) << msg;  // the loader's own words
  // (Not the lazy plugin: the test above must be the first to open that library.)
  r.register_model("MissingSymbol", std::string(PAGODA_TEST_WRONG_ABI_PLUGIN) + ":no_such_descriptor");
  msg = error_of([&] { r.resolve({"MissingSymbol"}); });
  EXPECT_NE(msg.find("does not export 'no_such_descriptor'"), std::string::npos) << msg;
  r.register_model("OldModel", std::string(PAGODA_TEST_WRONG_ABI_PLUGIN) + ":old_model");
  msg = error_of([&] { r.resolve({"OldModel"}); });
  EXPECT_NE(msg.find(fmt::format("ABI version {}", kPluginAbiVersion + 41)), std::string::npos) << msg;
  EXPECT_NE(msg.find(fmt::format("ABI version {}", kPluginAbiVersion)), std::string::npos) << msg;
}

TEST(ModelRegistry, PluginAbiMismatchAndMissingEntryPointAreRefused) {
  ModelRegistry r;
  std::string msg = error_of([&] { r.load_plugin(PAGODA_TEST_WRONG_ABI_PLUGIN); });
  EXPECT_NE(msg.find(fmt::format("ABI version {}", kPluginAbiVersion + 41)), std::string::npos) << msg;
  EXPECT_NE(msg.find(fmt::format("this Pagoda has ABI version {}", kPluginAbiVersion)), std::string::npos) << msg;
  EXPECT_NE(msg.find("rebuild the plugin"), std::string::npos) << msg;
  msg = error_of([&] { r.load_plugin(PAGODA_TEST_NO_ENTRY_PLUGIN); });
  EXPECT_NE(msg.find("does not export 'pagoda_plugin_abi_version'"), std::string::npos) << msg;
  msg = error_of([&] { r.load_plugin("/nonexistent/libplugin.so"); });
  EXPECT_NE(msg.find("cannot load plugin library '/nonexistent/libplugin.so'"), std::string::npos) << msg;
}

TEST(ModelRegistry, PluginListLoadsEach) {
  ModelRegistry r;
  r.load_plugins(std::string(":") + PAGODA_TEST_EAGER_PLUGIN + "::");
  EXPECT_TRUE(r.is_supported("EagerPluginForCausalLM"));
  EXPECT_THROW(r.load_plugins(std::string(PAGODA_TEST_EAGER_PLUGIN) + ":/nonexistent.so"), Error);
}

TEST(ModelRegistry, BuiltInMacroRegistersEveryAlias) {
  struct Local : MarkerModel {
    explicit Local(const ModelInitContext& c) : MarkerModel(c, 3) {}
  };
  // The macro defines a static registrar; use it in a block to register into the global registry.
  PAGODA_REGISTER_MODEL(Local, ModelCapabilities{}, "MacroTestForCausalLM", "MacroAliasForCausalLM");
  auto& g = ModelRegistry::global();
  EXPECT_TRUE(g.is_supported("MacroTestForCausalLM"));
  EXPECT_TRUE(g.is_supported("MacroAliasForCausalLM"));
  EXPECT_EQ(marker_of(*g.resolve({"MacroAliasForCausalLM"}).factory({})), 3.0f);
}

TEST(NearestName, EditDistance) {
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("ABC", "abc"), 0u);
  EXPECT_EQ(nearest_name("Qwen3ForCausalLM", {"Qwen2ForCausalLM", "LlamaForCausalLM"}), "Qwen2ForCausalLM");
  EXPECT_EQ(nearest_name("Bert", {"LlamaForCausalLM"}), "");
  EXPECT_EQ(nearest_name("LlamaForCausalLMM", {"LLaMAForCausalLM", "LlamaForCausalLM"}), "LlamaForCausalLM");
}
