// OpenAI response bodies and stream chunks from engine outputs (vLLM's serving_completion.py and
// serving_chat.py shapes): choices, finish and stop reasons, logprobs in each endpoint's format,
// usage. Pure functions of their inputs.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "pagoda/request_output.h"

namespace pagoda::server {

struct Usage {
  int64_t prompt_tokens = 0, completion_tokens = 0;
  nlohmann::json to_json() const;
};

// JSON text that never throws on invalid UTF-8 (a lone byte-level token's text): such bytes
// become U+FFFD.
std::string dump_json(const nlohmann::json& j);

// "stop_reason": the stop string, the stop token id, or null (EOS, length).
nlohmann::json stop_reason(const CompletionOutput& c);
// "finish_reason": null while running.
nlohmann::json finish_reason(const CompletionOutput& c);

// Completions "logprobs": {"tokens", "token_logprobs", "top_logprobs", "text_offset"} for the
// given positions; text offsets start at `text_offset` (echo: the prompt's come first; its first
// position has no logprob and is passed as an empty PositionLogprobs).
struct CompletionLogprobs {
  nlohmann::json tokens = nlohmann::json::array(), token_logprobs = nlohmann::json::array(),
                 top_logprobs = nlohmann::json::array(), text_offset = nlohmann::json::array();
  int64_t next_offset = 0;
  void append(const PositionLogprobs& position, const std::string& token_text);
  nlohmann::json to_json() const;
};

// Chat "logprobs": {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.
nlohmann::json chat_logprobs(const std::vector<PositionLogprobs>& positions, int64_t top_n);

std::string random_id(const std::string& prefix);
int64_t unix_time();

}  // namespace pagoda::server
