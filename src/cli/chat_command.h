// `pagoda chat MODEL`: a conversation on the terminal (or one user turn per stdin line when piped),
// rendered with the model's chat template and streamed. /reset starts over, /exit ends.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/engine_options.h"

namespace pagoda::cli {

struct ChatCommandOptions {
  EngineOptions engine;
  SamplingOptions sampling;
  std::string system;
  std::string chat_template_file;
  std::string template_kwargs;  // JSON object

  CLI::App* add_to(CLI::App& app);
};

int run_chat_command(ChatCommandOptions& options);

}  // namespace pagoda::cli
