// `pagoda serve [MODEL]`: the OpenAI-compatible server (src/server), with vLLM's flag names.
// SIGINT/SIGTERM stop it gracefully: new requests get 503, running ones may finish for
// --shutdown-timeout seconds, the rest are aborted.
#pragma once

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "cli/engine_options.h"
#include "server/openai_server.h"

namespace pagoda::cli {

struct ServeOptions {
  EngineOptions engine;
  server::ServerConfig server;
  std::string chat_template;  // a file, or the template itself
  std::string max_request_body = "16MiB";
  bool enable_prefix_caching = false;  // the default; accepted for vLLM's spelling
  std::vector<std::string> plugins;

  CLI::App* add_to(CLI::App& app);
};

int run_serve_command(ServeOptions& options);

}  // namespace pagoda::cli
