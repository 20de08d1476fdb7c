#include "server/openai_server.h"

#include <fmt/format.h>
#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <set>

#include "pagoda/chat.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "pagoda/model_config.h"
#include "pagoda/tokenizer.h"
#include "pagoda/version.h"
#include "server/api_error.h"
#include "server/generation.h"
#include "server/metrics.h"
#include "server/protocol.h"
#include "server/responses.h"

namespace pagoda::server {

using nlohmann::json;

struct OpenAIServer::Impl {
  Impl(AsyncEngine& e, ServerConfig c)
      : engine(e), config(std::move(c)), tokenizer(e.core().tokenizer()) {
    if (config.served_model_names.empty()) config.served_model_names = {e.core().args().model};
    if (tokenizer) formatter.emplace(tokenizer);
    const ModelConfig& mc = e.core().model_config();
    limits.max_n = config.max_n;
    limits.vocab_size = mc.vocab_size;
    max_model_len = mc.max_model_len;
  }

  AsyncEngine& engine;
  ServerConfig config;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::optional<ChatFormatter> formatter;
  RequestLimits limits;
  int64_t max_model_len = 0;
  ServerMetrics metrics;
  httplib::Server http;
  std::atomic<bool> draining{false};
  int listen_socket = -1;
  std::mutex live_mutex;
  std::set<std::string> live_ids;  // engine requests submitted and not yet ended

  const std::string& model_name() const { return config.served_model_names.front(); }

  void install_routes();
  void send_error(httplib::Response& res, const ApiError& e);
  httplib::Server::Handler guarded(void (Impl::*handler)(const httplib::Request&,
                                                         httplib::Response&));

  void check_accepting() const {
    if (draining) throw ApiError(503, "the server is shutting down", "service_unavailable");
  }
  void check_model(const std::string& model) const {
    if (model.empty()) return;
    for (const auto& name : config.served_model_names)
      if (name == model) return;
    throw ApiError(404, fmt::format("The model `{}` does not exist; this server serves `{}`",
                                    model, model_name()),
                   "model_not_found", "model");
  }
  const Tokenizer& require_tokenizer(const char* what) const {
    if (!tokenizer)
      throw bad_request(fmt::format("{} needs a tokenizer, and the server was started with "
                                    "--skip-tokenizer-init; send token ids",
                                    what),
                        "", "unsupported");
    return *tokenizer;
  }
  // vLLM's check and message: the prompt and the tokens asked for must fit the context.
  int64_t resolve_max_tokens(int64_t prompt_len, std::optional<int64_t> max_tokens) const {
    if (prompt_len >= max_model_len || (max_tokens && prompt_len + *max_tokens > max_model_len))
      throw ApiError(
          400,
          fmt::format("This model's maximum context length is {} tokens. However, you requested "
                      "{} tokens ({} in the prompt, {} for the completion). Please reduce the "
                      "length of the prompt or of max_tokens.",
                      max_model_len, prompt_len + max_tokens.value_or(0), prompt_len,
                      max_tokens.value_or(0)),
          "context_length_exceeded", max_tokens ? "max_tokens" : "prompt");
    return max_tokens.value_or(max_model_len - prompt_len);
  }

  void fill_format(ResponseFormat& format, const GenerationRequest& r, const std::string& id) const {
    format.id = id;
    format.model = model_name();
    format.created = unix_time();
    format.n = r.params.n;
    format.include_usage = r.include_usage;
    format.continuous_usage = r.continuous_usage;
  }

  std::shared_ptr<Generation> submit(std::vector<EngineRequest> requests, bool stream);

  void completions(const httplib::Request& req, httplib::Response& res);
  void chat_completions(const httplib::Request& req, httplib::Response& res);
  void models(const httplib::Request& req, httplib::Response& res);
  void health(const httplib::Request& req, httplib::Response& res);
  void version(const httplib::Request& req, httplib::Response& res);
  void metrics_text(const httplib::Request& req, httplib::Response& res);
  void tokenize(const httplib::Request& req, httplib::Response& res);
  void detokenize(const httplib::Request& req, httplib::Response& res);
};

void OpenAIServer::Impl::send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status();
  res.set_content(dump_json(e.to_json()), "application/json");
}

// Every handler's errors become OpenAI error bodies: ApiError as it says, pagoda::Error from the
// engine's own checks (a request it refuses) as 400, anything else as 500.
httplib::Server::Handler OpenAIServer::Impl::guarded(
    void (Impl::*handler)(const httplib::Request&, httplib::Response&)) {
  return [this, handler](const httplib::Request& req, httplib::Response& res) {
    try {
      (this->*handler)(req, res);
    } catch (const ApiError& e) {
      send_error(res, e);
    } catch (const Error& e) {
      const bool client = e.code() == ErrorCode::InvalidArgument ||
                          e.code() == ErrorCode::NotFound || e.code() == ErrorCode::Unsupported;
      send_error(res, ApiError(client ? 400 : 500, e.what(),
                               client ? "invalid_value" : "internal_error"));
    } catch (const std::exception& e) {
      log::error("request to {} failed: {}", req.path, e.what());
      send_error(res, ApiError(500, std::string("internal error: ") + e.what(), "internal_error"));
    }
  };
}

std::shared_ptr<Generation> OpenAIServer::Impl::submit(std::vector<EngineRequest> requests,
                                                       bool stream) {
  auto generation = std::make_shared<Generation>(engine, metrics, stream);
  for (auto& request : requests) {
    const std::string id = request.request_id;
    try {
      generation->add(engine.generate(std::move(request)));
    } catch (...) {
      generation->abort();  // the prompts already submitted
      throw;
    }
    std::lock_guard lock(live_mutex);
    live_ids.insert(id);
  }
  generation->on_end = [this](const std::vector<std::string>& ids) {
    std::lock_guard lock(live_mutex);
    for (const auto& id : ids) live_ids.erase(id);
  };
  return generation;
}

void OpenAIServer::Impl::completions(const httplib::Request& req, httplib::Response& res) {
  check_accepting();
  CompletionRequest r = parse_completion_request(
      parse_body(req.body), engine.core().default_sampling_params(), limits);
  check_model(r.model);
  const std::string id = random_id("cmpl-");
  std::vector<EngineRequest> requests;
  std::vector<PromptInfo> prompts;
  for (size_t i = 0; i < r.prompts.size(); ++i) {
    PromptInput& p = r.prompts[i];
    PromptInfo info;
    if (p.text) {
      info.token_ids = require_tokenizer("a text prompt").encode(*p.text);
      info.text = *p.text;
    } else {
      info.token_ids = std::move(p.token_ids);
      if (tokenizer) info.text = tokenizer->decode(info.token_ids, false);
    }
    const int64_t prompt_len = static_cast<int64_t>(info.token_ids.size());
    SamplingParams params = r.params;
    // echo with max_tokens 0 returns the prompt alone: one token is generated and dropped.
    params.max_tokens = std::max<int64_t>(1, resolve_max_tokens(prompt_len, r.max_tokens));
    if (r.logprobs) params.logprobs = *r.logprobs;
    if (r.echo && r.logprobs) params.prompt_logprobs = *r.logprobs;
    requests.push_back(
        {fmt::format("{}-{}", id, i), Prompt::from_tokens(info.token_ids), params, r.cache_salt});
    prompts.push_back(std::move(info));
  }
  CompletionFormat format;
  fill_format(format, r, id);
  format.echo = r.echo;
  format.drop_generated = *r.max_tokens == 0;
  format.logprobs = r.logprobs;
  format.tokenizer = tokenizer;
  auto generation = submit(std::move(requests), r.stream);
  generation->set_completion_format(std::move(format), std::move(prompts));
  generation->respond(res);
}

void OpenAIServer::Impl::chat_completions(const httplib::Request& req, httplib::Response& res) {
  check_accepting();
  ChatRequest r =
      parse_chat_request(parse_body(req.body), engine.core().default_sampling_params(), limits);
  check_model(r.model);
  require_tokenizer("a chat request");
  r.chat.chat_template = config.chat_template;
  std::string rendered;
  try {
    rendered = formatter->render(r.messages, r.chat);
  } catch (const Error& e) {
    throw bad_request(std::string("the chat template could not be applied: ") + e.what(),
                      "messages", "chat_template_error");
  }
  PromptInfo info;
  info.token_ids = tokenizer->encode(rendered, false);
  info.text = rendered;
  SamplingParams params = r.params;
  params.max_tokens = resolve_max_tokens(static_cast<int64_t>(info.token_ids.size()), r.max_tokens);
  if (r.logprobs) params.logprobs = r.top_logprobs;
  const std::string id = random_id("chatcmpl-");
  ChatFormat format;
  fill_format(format, r, id);
  format.logprobs = r.logprobs;
  format.top_logprobs = r.top_logprobs;
  std::vector<EngineRequest> requests;
  requests.push_back({id, Prompt::from_tokens(info.token_ids), params, r.cache_salt});
  auto generation = submit(std::move(requests), r.stream);
  generation->set_chat_format(std::move(format), std::move(info));
  generation->respond(res);
}

void OpenAIServer::Impl::models(const httplib::Request&, httplib::Response& res) {
  json data = json::array();
  for (const auto& name : config.served_model_names)
    data.push_back({{"id", name},
                    {"object", "model"},
                    {"created", unix_time()},
                    {"owned_by", "pagoda"},
                    {"root", engine.core().args().model},
                    {"parent", nullptr},
                    {"max_model_len", max_model_len}});
  res.set_content(dump_json({{"object", "list"}, {"data", data}}), "application/json");
}

void OpenAIServer::Impl::health(const httplib::Request&, httplib::Response& res) {
  if (draining) throw ApiError(503, "the server is shutting down", "service_unavailable");
  res.status = 200;
}

void OpenAIServer::Impl::version(const httplib::Request&, httplib::Response& res) {
  res.set_content(dump_json({{"version", kVersion}}), "application/json");
}

void OpenAIServer::Impl::metrics_text(const httplib::Request&, httplib::Response& res) {
  res.set_content(metrics.render(engine.stats(), model_name()),
                  "text/plain; version=0.0.4; charset=utf-8");
}

// vLLM's /tokenize: {"prompt": text, "add_special_tokens": true} or {"messages": [...],
// "add_generation_prompt": true}; answers {"count", "max_model_len", "tokens"}.
void OpenAIServer::Impl::tokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  const Tokenizer& tok = require_tokenizer("/tokenize");
  if (body.contains("model") && !body["model"].is_null()) {
    if (!body["model"].is_string()) throw unprocessable("'model' must be a string", "model");
    check_model(body["model"].get<std::string>());
  }
  std::vector<int32_t> ids;
  if (body.contains("messages")) {
    ChatRequest r = parse_chat_request(body, engine.core().default_sampling_params(), limits);
    r.chat.chat_template = config.chat_template;
    const bool add_special = body.value("add_special_tokens", false);
    ids = tok.encode(formatter->render(r.messages, r.chat), add_special);
  } else {
    auto it = body.find("prompt");
    if (it == body.end() || !it->is_string())
      throw unprocessable("'prompt' (a string) or 'messages' is required", "prompt",
                          "missing_field");
    auto special = body.find("add_special_tokens");
    if (special != body.end() && !special->is_boolean())
      throw unprocessable("'add_special_tokens' must be true or false", "add_special_tokens");
    ids = tok.encode(it->get<std::string>(), special == body.end() || special->get<bool>());
  }
  res.set_content(dump_json({{"count", ids.size()},
                             {"max_model_len", max_model_len},
                             {"tokens", ids},
                             {"token_strs", nullptr}}),
                  "application/json");
}

void OpenAIServer::Impl::detokenize(const httplib::Request& req, httplib::Response& res) {
  const json body = parse_body(req.body);
  const Tokenizer& tok = require_tokenizer("/detokenize");
  auto it = body.find("tokens");
  if (it == body.end() || !it->is_array())
    throw unprocessable("'tokens' (a list of token ids) is required", "tokens", "missing_field");
  std::vector<int32_t> ids;
  for (const auto& x : *it) {
    if (!x.is_number_integer()) throw unprocessable("'tokens' must hold integers", "tokens");
    const int64_t id = x.get<int64_t>();
    if (id < 0 || id >= limits.vocab_size)
      throw bad_request(fmt::format("token id {} is outside the vocabulary [0, {})", id,
                                    limits.vocab_size),
                        "tokens");
    ids.push_back(static_cast<int32_t>(id));
  }
  res.set_content(dump_json({{"prompt", tok.decode(ids, false)}}), "application/json");
}

void OpenAIServer::Impl::install_routes() {
  http.new_task_queue = [threads = config.http_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(threads));
  };
  http.set_payload_max_length(config.max_request_body_bytes);
  http.set_read_timeout(config.read_timeout_seconds, 0);
  http.set_keep_alive_max_count(1000);

  // vLLM checks the key on the /v1 routes only.
  http.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (config.api_key.empty() || req.path.rfind("/v1", 0) != 0)
      return httplib::Server::HandlerResponse::Unhandled;
    if (req.get_header_value("Authorization") == "Bearer " + config.api_key)
      return httplib::Server::HandlerResponse::Unhandled;
    send_error(res, ApiError(401, "invalid or missing API key: send 'Authorization: Bearer KEY'",
                             "invalid_api_key"));
    return httplib::Server::HandlerResponse::Handled;
  });
  // Statuses httplib sets itself (unknown route, body too large, unreadable request) get an
  // OpenAI error body too.
  http.set_error_handler([this](const httplib::Request& req, httplib::Response& res) {
    if (!res.body.empty()) return;
    switch (res.status) {
      case 404:
        send_error(res, ApiError(404, fmt::format("no route {} {}", req.method, req.path),
                                 "route_not_found"));
        break;
      case 413:
        send_error(res, ApiError(413,
                                 fmt::format("the request body is over the server's limit of "
                                             "{} bytes",
                                             config.max_request_body_bytes),
                                 "body_too_large"));
        break;
      case 405:
        send_error(res, ApiError(405, fmt::format("{} is not allowed on {}", req.method, req.path),
                                 "method_not_allowed"));
        break;
      default:
        send_error(res, ApiError(res.status, fmt::format("the request could not be read (HTTP {})",
                                                         res.status),
                                 "bad_request"));
    }
  });
  http.set_logger([this](const httplib::Request& req, const httplib::Response& res) {
    metrics.count_http_response(res.status);
    log::debug("{} {} -> {}", req.method, req.path, res.status);
  });

  http.Post("/v1/completions", guarded(&Impl::completions));
  http.Post("/v1/chat/completions", guarded(&Impl::chat_completions));
  http.Get("/v1/models", guarded(&Impl::models));
  http.Get("/health", guarded(&Impl::health));
  http.Get("/version", guarded(&Impl::version));
  http.Get("/metrics", guarded(&Impl::metrics_text));
  http.Post("/tokenize", guarded(&Impl::tokenize));
  http.Post("/detokenize", guarded(&Impl::detokenize));
}

OpenAIServer::OpenAIServer(AsyncEngine& engine, ServerConfig config)
    : impl_(std::make_unique<Impl>(engine, std::move(config))) {
  impl_->install_routes();
}

OpenAIServer::~OpenAIServer() { stop(); }

int OpenAIServer::bind() {
  const ServerConfig& c = impl_->config;
  // Debian's cpp-httplib listens with a backlog of 5 (compiled into the library), which drops
  // connections when many clients arrive at once; the listening socket is kept so that the
  // backlog can be raised after binding.
  impl_->http.set_socket_options([this](socket_t sock) {
    int yes = 1;
    setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    impl_->listen_socket = sock;
  });
  int port = c.port;
  if (port == 0) {
    port = impl_->http.bind_to_any_port(c.host);
  } else if (!impl_->http.bind_to_port(c.host, port)) {
    port = -1;
  }
  PAGODA_CHECK(port > 0, Io, fmt::format("cannot listen on {}:{}", c.host, c.port),
               "pick a free port with --port, or stop what is using it; --host must be an "
               "address of this machine");
  if (impl_->listen_socket >= 0) ::listen(impl_->listen_socket, SOMAXCONN);
  return port;
}

void OpenAIServer::serve() { impl_->http.listen_after_bind(); }

void OpenAIServer::shutdown() {
  impl_->draining = true;
  if (!impl_->engine.wait_until_idle(impl_->config.shutdown_timeout_seconds)) {
    std::vector<std::string> ids;
    {
      std::lock_guard lock(impl_->live_mutex);
      ids.assign(impl_->live_ids.begin(), impl_->live_ids.end());
    }
    log::warn("shutting down: aborting {} requests still running after {} s", ids.size(),
              impl_->config.shutdown_timeout_seconds);
    for (const auto& id : ids) impl_->engine.abort(id);
    impl_->engine.wait_until_idle(5.0);
  }
  stop();
}

void OpenAIServer::stop() {
  if (impl_->http.is_running()) impl_->http.stop();
}

const ServerMetrics& OpenAIServer::metrics() const { return impl_->metrics; }

}  // namespace pagoda::server
