// What the engine reports about a request: vLLM's RequestOutput / CompletionOutput.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace pagoda {

// One candidate token at one position, from the raw logits (log_softmax before any processing).
struct Logprob {
  int32_t token = 0;
  float logprob = 0;
  int64_t rank = 0;  // 1 = the most likely token
  std::string text;  // the token decoded alone ("" without a tokenizer)
};

// The candidates at one position: the chosen token first, then the top-N most likely (the chosen
// token appears twice when it is among them, as in vLLM's output).
using PositionLogprobs = std::vector<Logprob>;

// One generated sequence of a request (n > 1 gives several, index 0 .. n-1).
struct CompletionOutput {
  int64_t index = 0;
  std::string text;                        // detokenized output (empty without a tokenizer)
  std::vector<int32_t> token_ids;          // generated tokens
  std::vector<PositionLogprobs> logprobs;  // one per generated token, when requested
  // Sum of the chosen tokens' logprobs, when logprobs were requested.
  std::optional<double> cumulative_logprob;
  // "stop" (EOS, stop token or stop string), "length" (max_tokens or the context is full),
  // "abort"; empty while the sequence runs.
  std::string finish_reason;
  // The stop token id or stop string that ended it, when one did.
  std::optional<int64_t> stop_token;
  std::optional<std::string> stop_string;
  bool finished() const { return !finish_reason.empty(); }
};

struct RequestMetrics {
  double arrival_time = 0;      // seconds, steady clock
  double first_token_time = 0;  // 0 until the first token
  double finished_time = 0;
  int64_t num_cached_tokens = 0;  // prompt tokens served by the prefix cache
  int64_t num_preemptions = 0;
};

// A request's progress. From EngineCore::step() it is a delta (the tokens, text and logprobs new
// since the previous output of that sequence; prompt_token_ids and prompt only in the request's
// first output); LLM::generate returns it complete.
struct RequestOutput {
  std::string request_id;
  std::vector<int32_t> prompt_token_ids;
  std::string prompt;  // the text prompt, when one was given
  // For every prompt position after the first: the logprobs of the prompt token (and the top-N),
  // when prompt_logprobs was requested; empty otherwise.
  std::vector<PositionLogprobs> prompt_logprobs;
  std::vector<CompletionOutput> outputs;
  bool finished = false;
  RequestMetrics metrics;
};

}  // namespace pagoda
