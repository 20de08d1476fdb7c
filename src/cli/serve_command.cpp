#include "cli/serve_command.h"

#include <fmt/format.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "pagoda/async_engine.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "pagoda/model_config.h"
#include "pagoda/model_registry.h"
#include "pagoda/thread_pool.h"
#include "pagoda/version.h"

namespace pagoda::cli {
namespace {

std::string read_chat_template(const std::string& value) {
  if (value.empty()) return {};
  std::error_code ec;
  if (!std::filesystem::is_regular_file(value, ec)) {
    // vLLM takes the template itself too; a path-like value that does not exist is a mistake.
    PAGODA_CHECK(value.find("{%") != std::string::npos || value.find("{{") != std::string::npos,
                 NotFound, fmt::format("--chat-template '{}' is neither a file nor a template", value),
                 "pass the path of a .jinja file, or the template text itself");
    return value;
  }
  std::ifstream in(value);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// A bar on a terminal; a log line per quarter otherwise.
void show_load_progress(int64_t done, int64_t total) {
  static int last_quarter = -1;
  if (isatty(STDERR_FILENO)) {
    const int width = 30;
    const int filled = total > 0 ? static_cast<int>(width * done / total) : width;
    fmt::print(stderr, "\rLoading weights [{}{}] {}/{} tensors", std::string(filled, '#'),
               std::string(width - filled, ' '), done, total);
    if (done == total) fmt::print(stderr, "\n");
    return;
  }
  const int quarter = total > 0 ? static_cast<int>(4 * done / total) : 4;
  if (quarter != last_quarter) {
    last_quarter = quarter;
    log::info("loading weights: {}/{} tensors", done, total);
  }
}

void print_summary(const AsyncEngine& engine, const server::ServerConfig& config, int port) {
  const ModelConfig& mc = engine.core().model_config();
  const EngineStats stats = engine.stats();
  const EngineArgs& args = engine.core().args();
  fmt::print(stderr,
             "\nPagoda {} serving {}\n"
             "  model        {} ({})\n"
             "  dtype        {}, max_model_len {}, {} CPU threads\n"
             "  KV cache     {} blocks of {} tokens ({} tokens), prefix caching {}\n"
             "  batching     max_num_seqs {}, max_num_batched_tokens {}\n"
             "  API key      {}\n"
             "  listening    http://{}:{}  (/v1/completions /v1/chat/completions /v1/models "
             "/health /metrics /tokenize /detokenize)\n\n",
             kVersion, config.served_model_names.empty() ? args.model : config.served_model_names[0],
             args.model, mc.architectures.empty() ? "?" : mc.architectures[0], dtype_name(mc.dtype),
             mc.max_model_len, ThreadPool::global().num_threads(), stats.num_kv_blocks,
             stats.block_size, stats.num_kv_blocks * stats.block_size,
             args.enable_prefix_caching ? "on" : "off", args.max_num_seqs,
             args.max_num_batched_tokens, config.api_key.empty() ? "none" : "required",
             config.host, port);
}

int g_signal_pipe[2] = {-1, -1};

void on_signal(int signal) {
  const unsigned char byte = static_cast<unsigned char>(signal);
  [[maybe_unused]] const auto written = write(g_signal_pipe[1], &byte, 1);
}

}  // namespace

CLI::App* ServeOptions::add_to(CLI::App& app) {
  CLI::App* cmd = app.add_subcommand("serve", "serve a model over an OpenAI-compatible HTTP API");
  engine.add_to(*cmd);
  cmd->add_option("--host", server.host, "address to listen on")->capture_default_str();
  cmd->add_option("--port", server.port, "port to listen on (0: any free port)")
      ->capture_default_str();
  cmd->add_option("--api-key", server.api_key,
                  "require 'Authorization: Bearer KEY' on /v1 routes (also PAGODA_API_KEY)");
  cmd->add_option("--served-model-name", server.served_model_names,
                  "model name(s) clients use (default: the model path)");
  cmd->add_option("--chat-template", chat_template, "a chat template file (or text) to use");
  cmd->add_flag("--enable-prefix-caching", enable_prefix_caching, "prefix caching (the default)");
  cmd->add_option("--plugin", plugins, "load a model plugin library (repeatable)");
  cmd->add_option("--max-request-body", max_request_body, "largest request body, e.g. 16MiB")
      ->capture_default_str();
  cmd->add_option("--read-timeout", server.read_timeout_seconds,
                  "seconds a client may take to send its request")
      ->capture_default_str();
  cmd->add_option("--max-n", server.max_n, "largest n a request may ask for")
      ->capture_default_str();
  cmd->add_option("--shutdown-timeout", server.shutdown_timeout_seconds,
                  "seconds running requests may finish after SIGINT/SIGTERM")
      ->capture_default_str();
  return cmd;
}

int run_serve_command(ServeOptions& o) {
  for (const auto& p : o.plugins) ModelRegistry::global().load_plugin(p);
  if (o.server.api_key.empty())
    if (const char* key = std::getenv("PAGODA_API_KEY")) o.server.api_key = key;
  o.server.max_request_body_bytes =
      static_cast<size_t>(parse_memory_size(o.max_request_body, "--max-request-body"));
  if (!o.chat_template.empty()) o.server.chat_template = read_chat_template(o.chat_template);

  EngineArgs args = o.engine.resolve();
  if (serve_as_worker(args)) return 0;  // ranks > 0 under mpirun; rank 0 serves the API
  args.load_progress = show_load_progress;
  AsyncEngine engine(args);
  server::OpenAIServer server(engine, o.server);
  const int port = server.bind();
  print_summary(engine, o.server, port);

  // The handler only writes the signal number to a pipe (all a handler may safely do); a thread
  // reads it and shuts the server down. A second signal kills the process as usual.
  PAGODA_CHECK(pipe(g_signal_pipe) == 0, Io, "cannot create the signal pipe", "check ulimit -n");
  struct sigaction action {};
  action.sa_handler = on_signal;
  action.sa_flags = SA_RESETHAND;
  sigaction(SIGINT, &action, nullptr);
  sigaction(SIGTERM, &action, nullptr);
  std::thread signal_thread([&] {
    unsigned char signal = 0;
    if (read(g_signal_pipe[0], &signal, 1) != 1 || signal == 0) return;  // 0: serve() ended
    log::info("received {}: shutting down (running requests get {} s)",
              signal == SIGINT ? "SIGINT" : "SIGTERM", o.server.shutdown_timeout_seconds);
    server.shutdown();
  });
  server.serve();
  const unsigned char wake = 0;
  [[maybe_unused]] const auto written = write(g_signal_pipe[1], &wake, 1);
  signal_thread.join();
  log::info("server stopped");
  return 0;
}

}  // namespace pagoda::cli
