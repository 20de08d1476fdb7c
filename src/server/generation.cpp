#include "server/generation.h"

#include <algorithm>

#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "server/api_error.h"

namespace pagoda::server {

using nlohmann::json;
using Clock = std::chrono::steady_clock;

namespace {

double seconds_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

// How long a non-streaming request is waited for inside its handler, so that it can still be
// answered with a proper status if the engine fails.
constexpr double kInlineWaitSeconds = 2.0;
// Silence after which a long request writes a keep-alive (a space, or an SSE comment) to learn
// whether the client is still there.
constexpr double kHeartbeatSeconds = 1.0;

}  // namespace

Generation::Generation(AsyncEngine& engine, ServerMetrics& metrics, bool stream)
    : engine_(engine), metrics_(metrics), stream_(stream), start_(Clock::now()) {}

Generation::~Generation() {
  // A response that was never written (the handler threw, the client vanished before the
  // provider ran) must not leave its requests running.
  abort();
  finish();
}

void Generation::add(std::shared_ptr<RequestStream> stream) {
  Part part;
  part.stream = std::move(stream);
  part.last_token = start_;
  parts_.push_back(std::move(part));
}

void Generation::set_completion_format(CompletionFormat format, std::vector<PromptInfo> prompts) {
  chat_ = false;
  completion_ = std::move(format);
  prompts_ = std::move(prompts);
  int64_t prompt_tokens = 0;
  for (auto& part : parts_) part.echo_sent.assign(static_cast<size_t>(completion_.n), false);
  for (const auto& p : prompts_) prompt_tokens += static_cast<int64_t>(p.token_ids.size());
  metrics_.add_prompt_tokens(prompt_tokens);
}

void Generation::set_chat_format(ChatFormat format, PromptInfo prompt) {
  chat_ = true;
  chat_format_ = std::move(format);
  metrics_.add_prompt_tokens(static_cast<int64_t>(prompt.token_ids.size()));
  prompts_ = {std::move(prompt)};
  for (auto& part : parts_) part.role_sent.assign(static_cast<size_t>(chat_format_.n), false);
}

void Generation::abort() {
  for (auto& part : parts_) {
    if (part.ended) continue;
    engine_.abort(part.stream->request_id());
    part.ended = true;  // its final "abort" output is not read: nobody is listening
    for (int64_t k = 0; k < format().n; ++k) metrics_.count_finished_request("abort");
  }
}

void Generation::finish() {
  if (finished_) return;
  finished_ = true;
  if (on_end) {
    std::vector<std::string> ids;
    for (const auto& part : parts_) ids.push_back(part.stream->request_id());
    on_end(ids);
  }
}

void Generation::record(Part& part, const RequestOutput& delta) {
  const Clock::time_point now = Clock::now();
  int64_t tokens = 0;
  for (const auto& c : delta.outputs) tokens += static_cast<int64_t>(c.token_ids.size());
  if (tokens > 0) {
    metrics_.add_generation_tokens(tokens);
    if (!first_token_seen_) {
      first_token_seen_ = true;
      metrics_.observe_time_to_first_token(seconds_between(start_, now));
    } else {
      metrics_.observe_inter_token_latency(seconds_between(part.last_token, now));
    }
    part.last_token = now;
  }
  if (delta.finished) {
    metrics_.observe_e2e_latency(seconds_between(start_, now));
    for (const auto& c : part.total.outputs) metrics_.count_finished_request(c.finish_reason);
  }
}

bool Generation::pump(Part& part, double seconds, std::vector<RequestOutput>* deltas) {
  if (part.ended) return true;
  if (!part.stream->wait_for(seconds)) return false;
  while (true) {
    std::optional<RequestOutput> delta = part.stream->next();  // rethrows an engine failure
    if (!delta) {
      part.ended = true;
      return true;
    }
    if (part.first_output) {
      part.total = *delta;
      part.first_output = false;
    } else {
      accumulate_output(part.total, *delta);
    }
    record(part, *delta);
    const bool ended = delta->finished;
    if (deltas) deltas->push_back(std::move(*delta));
    if (ended) {
      part.ended = true;
      return true;
    }
    if (!part.stream->wait_for(0)) return false;
  }
}

bool Generation::collect(double seconds) {
  const Clock::time_point deadline =
      Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  for (auto& part : parts_) {
    while (!part.ended) {
      const double left = std::max(0.0, seconds_between(Clock::now(), deadline));
      if (!pump(part, left, nullptr) && Clock::now() >= deadline) return false;
    }
  }
  return true;
}

void Generation::respond(httplib::Response& res) {
  if (stream_) {
    auto self = shared_from_this();
    res.set_header("Cache-Control", "no-cache");
    res.set_chunked_content_provider(
        "text/event-stream",
        [self](size_t, httplib::DataSink& sink) { return self->stream_events(sink); },
        [self](bool success) {
          if (!success) self->abort();
          self->finish();
        });
    return;
  }
  bool done = false;
  try {
    done = collect(kInlineWaitSeconds);
  } catch (const Error& e) {
    throw ApiError(503, std::string("the engine failed while running this request: ") + e.what(),
                   "engine_error");
  }
  if (done) {
    res.set_content(json_body(), "application/json");
    finish();
    return;
  }
  auto self = shared_from_this();
  res.set_chunked_content_provider(
      "application/json",
      [self](size_t, httplib::DataSink& sink) { return self->stream_json(sink); },
      [self](bool success) {
        if (!success) self->abort();
        self->finish();
      });
}

// A long non-streaming request: spaces until the JSON is ready (leading whitespace is valid JSON).
bool Generation::stream_json(httplib::DataSink& sink) {
  std::string body;
  try {
    while (!collect(kHeartbeatSeconds))
      if (!sink.write(" ", 1)) {
        abort();
        return false;
      }
    body = json_body();
  } catch (const std::exception& e) {
    // The status line is gone; the body says what happened.
    body = dump_json(ApiError(503, std::string("the engine failed: ") + e.what(), "engine_error")
                         .to_json());
  }
  if (!sink.write(body.data(), body.size())) return false;
  sink.done();
  return true;
}

bool Generation::stream_events(httplib::DataSink& sink) {
  const auto send = [&](const std::string& data) {
    const std::string event = "data: " + data + "\n\n";
    return sink.write(event.data(), event.size());
  };
  try {
    if (chat_) {
      // The role goes first, in a chunk of its own per choice (as vLLM and OpenAI send it).
      for (int64_t k = 0; k < chat_format_.n; ++k) {
        json chunk = envelope(true);
        chunk["choices"] = json::array({{{"index", k},
                                         {"delta", {{"role", "assistant"}, {"content", ""}}},
                                         {"logprobs", nullptr},
                                         {"finish_reason", nullptr}}});
        if (!send(dump_json(chunk))) {
          abort();
          return false;
        }
      }
    }
    for (size_t i = 0; i < parts_.size(); ++i) {
      Part& part = parts_[i];
      while (!part.ended) {
        std::vector<RequestOutput> deltas;
        if (!pump(part, kHeartbeatSeconds, &deltas) && deltas.empty()) {
          static const char kComment[] = ": keep-alive\n\n";  // SSE comment: clients skip it
          if (!sink.write(kComment, sizeof(kComment) - 1)) {
            abort();
            return false;
          }
          continue;
        }
        for (const RequestOutput& d : deltas)
          for (const std::string& chunk : stream_chunks(i, d))
            if (!send(chunk)) {
              abort();
              return false;
            }
      }
    }
    if (format().include_usage && !send(usage_chunk()))
      return false;
  } catch (const std::exception& e) {
    send(dump_json(ApiError(503, std::string("the engine failed: ") + e.what(), "engine_error")
                       .to_json()));
  }
  static const char kDone[] = "data: [DONE]\n\n";
  if (!sink.write(kDone, sizeof(kDone) - 1)) return false;
  sink.done();
  return true;
}

nlohmann::json Generation::envelope(bool chunk) const {
  const ResponseFormat& f = format();
  const char* object = chat_ ? (chunk ? "chat.completion.chunk" : "chat.completion")
                             : "text_completion";
  return {{"id", f.id}, {"object", object}, {"created", f.created}, {"model", f.model}};
}

Usage Generation::usage() const {
  Usage u;
  for (const auto& p : prompts_) u.prompt_tokens += static_cast<int64_t>(p.token_ids.size());
  if (!chat_ && completion_.drop_generated) return u;
  for (const auto& part : parts_)
    for (const auto& c : part.total.outputs)
      u.completion_tokens += static_cast<int64_t>(c.token_ids.size());
  return u;
}

std::string Generation::usage_chunk() const {
  json chunk = envelope(true);
  chunk["choices"] = json::array();
  chunk["usage"] = usage().to_json();
  return dump_json(chunk);
}

json Generation::completion_logprobs(size_t i, const CompletionOutput& c, bool with_prompt) const {
  CompletionLogprobs lp;
  if (with_prompt) {
    const PromptInfo& prompt = prompts_[i];
    const RequestOutput& total = parts_[i].total;
    for (size_t k = 0; k < prompt.token_ids.size(); ++k) {
      const int32_t id = prompt.token_ids[k];
      const std::string text = completion_.tokenizer
                                   ? completion_.tokenizer->decode(std::span(&id, 1), false)
                                   : std::to_string(id);
      if (k == 0 || k - 1 >= total.prompt_logprobs.size())
        lp.append({}, text);
      else
        lp.append(total.prompt_logprobs[k - 1], text);
    }
  }
  if (!completion_.drop_generated)
    for (const PositionLogprobs& p : c.logprobs) lp.append(p, p.empty() ? "" : p[0].text);
  return lp.to_json();
}

json Generation::completion_body() const {
  json choices = json::array();
  for (size_t i = 0; i < parts_.size(); ++i) {
    std::vector<CompletionOutput> outputs = parts_[i].total.outputs;
    std::sort(outputs.begin(), outputs.end(),
              [](const auto& a, const auto& b) { return a.index < b.index; });
    for (const CompletionOutput& c : outputs) {
      std::string text = completion_.echo ? prompts_[i].text : "";
      if (!completion_.drop_generated) text += c.text;
      choices.push_back(
          {{"index", static_cast<int64_t>(i) * completion_.n + c.index},
           {"text", text},
           {"logprobs",
            completion_.logprobs ? completion_logprobs(i, c, completion_.echo) : json(nullptr)},
           {"finish_reason", completion_.drop_generated ? json("length") : finish_reason(c)},
           {"stop_reason", completion_.drop_generated ? json(nullptr) : stop_reason(c)}});
    }
  }
  json body = envelope(false);
  body["choices"] = std::move(choices);
  body["usage"] = usage().to_json();
  return body;
}

json Generation::chat_body() const {
  json choices = json::array();
  std::vector<CompletionOutput> outputs = parts_.at(0).total.outputs;
  std::sort(outputs.begin(), outputs.end(),
            [](const auto& a, const auto& b) { return a.index < b.index; });
  for (const CompletionOutput& c : outputs)
    choices.push_back(
        {{"index", c.index},
         {"message", {{"role", "assistant"}, {"content", c.text}}},
         {"logprobs", chat_format_.logprobs ? chat_logprobs(c.logprobs, chat_format_.top_logprobs)
                                            : json(nullptr)},
         {"finish_reason", finish_reason(c)},
         {"stop_reason", stop_reason(c)}});
  json body = envelope(false);
  body["choices"] = std::move(choices);
  body["usage"] = usage().to_json();
  return body;
}

std::string Generation::json_body() const {
  return dump_json(chat_ ? chat_body() : completion_body());
}

std::vector<std::string> Generation::stream_chunks(size_t i, const RequestOutput& delta) {
  std::vector<std::string> chunks;
  Part& part = parts_[i];
  for (const CompletionOutput& c : delta.outputs) {
    const bool has_logprobs = !c.logprobs.empty();
    json choice;
    if (chat_) {
      if (c.text.empty() && !c.finished() && !has_logprobs) continue;
      json d = json::object();
      if (!c.text.empty() || !c.finished()) d["content"] = c.text;
      choice = {{"index", c.index},
                {"delta", d},
                {"logprobs", chat_format_.logprobs && has_logprobs
                                 ? chat_logprobs(c.logprobs, chat_format_.top_logprobs)
                                 : json(nullptr)},
                {"finish_reason", finish_reason(c)}};
      if (c.finished()) choice["stop_reason"] = stop_reason(c);
    } else {
      const size_t k = static_cast<size_t>(c.index);
      const bool echo_now = completion_.echo && k < part.echo_sent.size() && !part.echo_sent[k];
      std::string text = echo_now ? prompts_[i].text : "";
      if (echo_now) part.echo_sent[k] = true;
      if (!completion_.drop_generated) text += c.text;
      if (text.empty() && !c.finished() && !has_logprobs) continue;
      json logprobs = nullptr;
      if (completion_.logprobs) logprobs = completion_logprobs(i, c, echo_now);
      choice = {{"index", static_cast<int64_t>(i) * completion_.n + c.index},
                {"text", text},
                {"logprobs", logprobs},
                {"finish_reason", completion_.drop_generated && c.finished() ? json("length")
                                                                             : finish_reason(c)},
                {"stop_reason", completion_.drop_generated ? json(nullptr) : stop_reason(c)}};
    }
    json chunk = envelope(true);
    chunk["choices"] = json::array({choice});
    if (format().continuous_usage) chunk["usage"] = usage().to_json();
    chunks.push_back(dump_json(chunk));
  }
  return chunks;
}

}  // namespace pagoda::server
