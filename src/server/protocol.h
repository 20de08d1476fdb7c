// OpenAI request bodies -> what the engine needs, with every field checked (vLLM's
// protocol.py: CompletionRequest, ChatCompletionRequest, the tokenize requests). Unknown fields
// are ignored, as vLLM does; a known field of the wrong type is a 422, a value out of range a 400
// (api_error.h), each naming the field.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "pagoda/chat.h"
#include "pagoda/sampling_params.h"

namespace pagoda::server {

// One prompt as the client wrote it: text, or token ids.
struct PromptInput {
  std::optional<std::string> text;
  std::vector<int32_t> token_ids;
};

// What both endpoints share.
struct GenerationRequest {
  std::string model;  // empty when the client named none
  SamplingParams params;
  // max_tokens as given (nullopt: the endpoint's default, resolved against the prompt length).
  std::optional<int64_t> max_tokens;
  bool stream = false;
  bool include_usage = false;          // stream_options.include_usage
  bool continuous_usage = false;       // stream_options.continuous_usage_stats
  std::string cache_salt;  // vLLM's: requests with different salts share no cached prefix
};

struct CompletionRequest : GenerationRequest {
  std::vector<PromptInput> prompts;
  bool echo = false;
  std::optional<int64_t> logprobs;  // top-N per position (0..max_logprobs)
};

struct ChatRequest : GenerationRequest {
  nlohmann::ordered_json messages;  // validated: roles and text content
  ChatOptions chat;
  bool logprobs = false;
  int64_t top_logprobs = 0;
};

// Limits the server enforces on top of the engine's.
struct RequestLimits {
  int64_t max_n = 64;
  int64_t max_logprobs = 20;
  int64_t max_stop_strings = 16;
  int64_t vocab_size = 0;  // for logit_bias and stop_token_ids
};

// `defaults` are the model's generation-config defaults; the request's fields override them.
CompletionRequest parse_completion_request(const nlohmann::json& body,
                                           const SamplingParams& defaults,
                                           const RequestLimits& limits);
ChatRequest parse_chat_request(const nlohmann::json& body, const SamplingParams& defaults,
                               const RequestLimits& limits);

// Parses a request body; not JSON, or not a JSON object, is an ApiError.
nlohmann::json parse_body(const std::string& body);

}  // namespace pagoda::server
