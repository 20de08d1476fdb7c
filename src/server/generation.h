// One HTTP request's generation: the engine streams of its prompts, read on the HTTP worker
// thread and answered as one JSON body or as server-sent events, with the metrics they feed
// (time to first token, inter-token latency, tokens, finish reasons). A client that goes away
// has every one of its engine requests aborted.
#pragma once

#include <httplib.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pagoda/async_engine.h"
#include "pagoda/tokenizer.h"
#include "server/metrics.h"
#include "server/responses.h"

namespace pagoda::server {

struct PromptInfo {
  std::vector<int32_t> token_ids;
  std::string text;  // as given, or decoded from the ids (for echo)
};

// What every response of one request repeats: its id, model name, creation time, choices per
// prompt, and the usage options.
struct ResponseFormat {
  std::string id, model;
  int64_t created = 0, n = 1;
  bool include_usage = false, continuous_usage = false;
};

struct CompletionFormat : ResponseFormat {
  bool echo = false;
  bool drop_generated = false;  // echo with max_tokens 0: the prompt alone
  std::optional<int64_t> logprobs;
  std::shared_ptr<const Tokenizer> tokenizer;  // token texts of echoed prompt logprobs
};

struct ChatFormat : ResponseFormat {
  bool logprobs = false;
  int64_t top_logprobs = 0;
};

class Generation : public std::enable_shared_from_this<Generation> {
 public:
  Generation(AsyncEngine& engine, ServerMetrics& metrics, bool stream);
  ~Generation();

  void add(std::shared_ptr<RequestStream> stream);
  void set_completion_format(CompletionFormat format, std::vector<PromptInfo> prompts);
  void set_chat_format(ChatFormat format, PromptInfo prompt);
  // Answers on `res`: a JSON body (requests that finish within a moment are answered before the
  // handler returns; longer ones through a chunked body that sends a space each second until the
  // JSON is ready), or an event stream ending in "data: [DONE]".
  void respond(httplib::Response& res);
  // Aborts every engine request of this generation that has not ended.
  void abort();

  // Called once with the engine request ids when the generation ends (answered or aborted).
  std::function<void(const std::vector<std::string>&)> on_end;

 private:
  struct Part {  // one prompt's engine request
    std::shared_ptr<RequestStream> stream;
    RequestOutput total;
    bool ended = false;
    bool first_output = true;
    std::chrono::steady_clock::time_point last_token;
    std::vector<bool> role_sent;  // chat streams: the role chunk went out per choice
    std::vector<bool> echo_sent;  // completion streams: the echoed prompt went out per choice
  };

  // Reads what part i has ready, waiting up to `seconds` for the first of it; returns whether it
  // ended. Deltas go to `deltas` when given.
  bool pump(Part& part, double seconds, std::vector<RequestOutput>* deltas);
  // Every part ended? Waits up to `seconds` in all.
  bool collect(double seconds);
  void record(Part& part, const RequestOutput& delta);
  void finish();

  const ResponseFormat& format() const {
    return chat_ ? static_cast<const ResponseFormat&>(chat_format_) : completion_;
  }
  // {"id", "object", "created", "model"} of this request's responses or chunks.
  nlohmann::json envelope(bool chunk) const;
  std::string json_body() const;
  nlohmann::json completion_body() const;
  nlohmann::json chat_body() const;
  // The SSE chunks (JSON texts) for one delta of part i.
  std::vector<std::string> stream_chunks(size_t i, const RequestOutput& delta);
  std::string usage_chunk() const;
  Usage usage() const;
  nlohmann::json completion_logprobs(size_t i, const CompletionOutput& c, bool with_prompt) const;
  bool stream_events(httplib::DataSink& sink);
  bool stream_json(httplib::DataSink& sink);

  AsyncEngine& engine_;
  ServerMetrics& metrics_;
  bool stream_;
  bool chat_ = false;
  CompletionFormat completion_;
  ChatFormat chat_format_;
  std::vector<PromptInfo> prompts_;
  std::vector<Part> parts_;
  std::chrono::steady_clock::time_point start_;
  bool first_token_seen_ = false;
  bool finished_ = false;
};

}  // namespace pagoda::server
