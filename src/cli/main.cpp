// The `pagoda` command line.
#include <fmt/format.h>

#include <CLI/CLI.hpp>
#include <cstdlib>

#include "cli/bench_command.h"
#include "cli/chat_command.h"
#include "cli/check_command.h"
#include "cli/generate_command.h"
#include "cli/models_command.h"
#include "cli/serve_command.h"
#include "pagoda/error.h"
#include "pagoda/model_registry.h"
#include "pagoda/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Pagoda: run and serve large language models"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  std::vector<std::string> plugins;
  app.add_flag("--version", show_version, "print the version and exit");
  app.add_option("--plugin", plugins,
                 "load a model plugin library (repeatable; also PAGODA_PLUGINS=a.so:b.so)");

  auto* version = app.add_subcommand("version", "print the version");
  auto* models =
      app.add_subcommand("models", "list the supported model architectures and their capabilities");
  auto* check = app.add_subcommand(
      "check", "check a model directory's checkpoint against its implementation");
  std::string check_dir;
  check->add_option("MODEL_DIR", check_dir, "a Hugging Face model directory")->required();
  pagoda::cli::GenerateOptions generate_options;
  auto* generate = generate_options.add_to(app);
  pagoda::cli::ChatCommandOptions chat_options;
  auto* chat = chat_options.add_to(app);
  pagoda::cli::ServeOptions serve_options;
  auto* serve = serve_options.add_to(app);
  pagoda::cli::BenchOptions bench_options;
  auto* bench = bench_options.add_to(app);

  CLI11_PARSE(app, argc, argv);
  try {
    auto& registry = pagoda::ModelRegistry::global();
    if (const char* env = std::getenv("PAGODA_PLUGINS")) registry.load_plugins(env);
    for (const auto& p : plugins) registry.load_plugin(p);

    if (show_version || version->parsed()) {
      fmt::print("pagoda {}\n", pagoda::kVersion);
      return 0;
    }
    if (models->parsed()) return pagoda::cli::run_models_command(registry);
    if (check->parsed()) return pagoda::cli::run_check_command(check_dir);
    if (generate->parsed()) return pagoda::cli::run_generate_command(generate_options);
    if (chat->parsed()) return pagoda::cli::run_chat_command(chat_options);
    if (bench->parsed()) return pagoda::cli::run_bench_command(bench_options);
    if (serve->parsed()) return pagoda::cli::run_serve_command(serve_options);
    // No subcommand: the main job. Until a default model ships, it reports what this build can run.
    fmt::print("pagoda {}\n", pagoda::kVersion);
    return pagoda::cli::run_models_command(registry);
  } catch (const pagoda::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
}
