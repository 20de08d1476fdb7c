// The OpenAI-compatible HTTP server (`pagoda serve`): /v1/completions, /v1/chat/completions
// (JSON or server-sent events), /v1/models, /health, /version, /metrics, /tokenize, /detokenize,
// over an AsyncEngine whose loop runs on its own thread.
//
// HTTP: cpp-httplib from Debian (libcpp-httplib-dev). It is the one packaged C++ HTTP server
// library that is small, threaded and has streaming responses (chunked content providers); Boost
// Beast would bring Boost and hand-written request parsing.
//
// Requests are parsed, checked and tokenized (and chat templates rendered) on the HTTP worker
// threads; the engine loop only schedules and computes. A client that disconnects has its
// requests aborted, which frees their KV blocks: streams notice at their next write; long
// non-streaming requests write a space (valid leading JSON whitespace) every second to find out.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pagoda/async_engine.h"

namespace pagoda::server {

class ServerMetrics;

struct ServerConfig {
  std::string host = "127.0.0.1";
  int port = 8000;  // 0: any free port (tests)
  // Required as "Authorization: Bearer KEY" on /v1 routes when set (vLLM's --api-key).
  std::string api_key;
  // Names clients may ask for; the first is reported in responses (default: the model path).
  std::vector<std::string> served_model_names;
  // A chat template that replaces the model's (file contents).
  std::optional<std::string> chat_template;
  size_t max_request_body_bytes = size_t{16} << 20;
  int read_timeout_seconds = 30;  // a client slower than this sending its request is dropped
  int64_t max_n = 64;
  int http_threads = 256;  // each open request holds one while it runs
  double shutdown_timeout_seconds = 10;
};

class OpenAIServer {
 public:
  OpenAIServer(AsyncEngine& engine, ServerConfig config);
  ~OpenAIServer();
  OpenAIServer(const OpenAIServer&) = delete;
  OpenAIServer& operator=(const OpenAIServer&) = delete;

  // Binds config.host:config.port and returns the port (the chosen one for port 0); throws
  // pagoda::Error when the address is taken or invalid.
  int bind();
  // Serves until shutdown() or stop(); call bind() first.
  void serve();
  // Graceful stop: new requests get 503, requests in flight may finish for up to
  // shutdown_timeout_seconds, then the rest are aborted and the listener closes.
  void shutdown();
  // Stops listening at once (in-flight requests are aborted by their disconnect).
  void stop();

  const ServerMetrics& metrics() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace pagoda::server
