// `pagoda generate MODEL --prompt ...`: offline generation for one or more prompts, streamed to
// the terminal or printed as JSON for scripts.
#pragma once

#include <CLI/CLI.hpp>

#include "cli/engine_options.h"

namespace pagoda::cli {

struct GenerateOptions {
  EngineOptions engine;
  SamplingOptions sampling;
  std::vector<std::string> prompts;
  std::vector<std::string> prompt_token_ids;  // "1,2,3", one per prompt
  std::string output = "text";                // text or json
  bool stream = false;
  bool no_stream = false;

  CLI::App* add_to(CLI::App& app);
};

int run_generate_command(GenerateOptions& options);

}  // namespace pagoda::cli
