// The `pagoda` command line.
#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include "pagoda/error.h"
#include "pagoda/version.h"

int main(int argc, char** argv) {
  CLI::App app{"Pagoda: run and serve large language models"};
  app.require_subcommand(0, 1);
  bool show_version = false;
  app.add_flag("--version", show_version, "print the version and exit");

  auto* version = app.add_subcommand("version", "print the version");
  auto* models = app.add_subcommand("models", "list the supported model architectures");

  CLI11_PARSE(app, argc, argv);
  try {
    if (show_version || version->parsed() || app.get_subcommands().empty()) {
      fmt::print("pagoda {}\n", pagoda::kVersion);
      if (!app.get_subcommands().empty() || show_version) return 0;
    }
    if (models->parsed() || app.get_subcommands().empty()) {
      // The model registry arrives with the model system; until then the list is empty.
      fmt::print("supported architectures: (none yet)\n");
    }
  } catch (const pagoda::Error& e) {
    fmt::print(stderr, "error: {}\n", e.what());
    return 1;
  }
  return 0;
}
