#include "server/responses.h"

#include <fmt/format.h>

#include <chrono>
#include <random>

namespace pagoda::server {

using nlohmann::json;

json Usage::to_json() const {
  return {{"prompt_tokens", prompt_tokens},
          {"completion_tokens", completion_tokens},
          {"total_tokens", prompt_tokens + completion_tokens}};
}

std::string dump_json(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

json stop_reason(const CompletionOutput& c) {
  if (c.stop_string) return *c.stop_string;
  if (c.stop_token) return *c.stop_token;
  return nullptr;
}

json finish_reason(const CompletionOutput& c) {
  if (c.finish_reason.empty()) return nullptr;
  return c.finish_reason;
}

void CompletionLogprobs::append(const PositionLogprobs& position, const std::string& token_text) {
  tokens.push_back(token_text);
  text_offset.push_back(next_offset);
  next_offset += static_cast<int64_t>(token_text.size());
  if (position.empty()) {  // the first prompt token: nothing predicts it
    token_logprobs.push_back(nullptr);
    top_logprobs.push_back(nullptr);
    return;
  }
  token_logprobs.push_back(position[0].logprob);
  json top = json::object();
  for (const Logprob& lp : position) top[lp.text] = lp.logprob;
  top_logprobs.push_back(std::move(top));
}

json CompletionLogprobs::to_json() const {
  return {{"tokens", tokens},
          {"token_logprobs", token_logprobs},
          {"top_logprobs", top_logprobs},
          {"text_offset", text_offset}};
}

namespace {
json bytes_of(const std::string& text) {
  json bytes = json::array();
  for (unsigned char c : text) bytes.push_back(static_cast<int>(c));
  return bytes;
}
}  // namespace

json chat_logprobs(const std::vector<PositionLogprobs>& positions, int64_t top_n) {
  json content = json::array();
  for (const PositionLogprobs& p : positions) {
    if (p.empty()) continue;
    json top = json::array();
    // p[0] is the chosen token; p[1..] the top-N in rank order.
    for (size_t i = 1; i < p.size() && static_cast<int64_t>(top.size()) < top_n; ++i)
      top.push_back({{"token", p[i].text}, {"logprob", p[i].logprob}, {"bytes", bytes_of(p[i].text)}});
    content.push_back({{"token", p[0].text},
                       {"logprob", p[0].logprob},
                       {"bytes", bytes_of(p[0].text)},
                       {"top_logprobs", std::move(top)}});
  }
  return {{"content", std::move(content)}};
}

std::string random_id(const std::string& prefix) {
  thread_local std::mt19937_64 rng(std::random_device{}());
  const uint64_t a = rng(), b = rng();
  return prefix + fmt::format("{:016x}{:016x}", a, b);
}

int64_t unix_time() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace pagoda::server
