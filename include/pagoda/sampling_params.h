// How one request is sampled and when it stops: vLLM's SamplingParams, field for field where
// vLLM has the field, with vLLM's defaults and meanings.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace pagoda {

struct SamplingParams {
  // Independent completions generated for the prompt (each its own sequence).
  int64_t n = 1;

  // Logits are divided by the temperature; below 1e-5 sampling is greedy (argmax).
  double temperature = 1.0;
  // Nucleus sampling: the smallest set of most likely tokens whose probability reaches top_p
  // (1 disables).
  double top_p = 1.0;
  // The top_k most likely tokens only (0 or -1 disable).
  int64_t top_k = 0;
  // Tokens with probability below min_p times the most likely token's are dropped (0 disables).
  double min_p = 0.0;

  // Penalties as vLLM defines them: presence subtracts presence_penalty from the logit of every
  // token already generated; frequency subtracts frequency_penalty times its count in the output;
  // repetition divides positive logits (multiplies negative ones) by repetition_penalty for every
  // token in the prompt or the output. 0, 0 and 1 disable them.
  double presence_penalty = 0.0;
  double frequency_penalty = 0.0;
  double repetition_penalty = 1.0;
  // Added to the logit of the token id before any other processing (OpenAI logit_bias).
  std::map<int64_t, double> logit_bias;

  // Seeds this request's random generator: the same seed, prompt and model give the same
  // tokens. Without it the engine's generator is used.
  std::optional<uint64_t> seed;

  // Also return, for every generated token, the logprobs of the `logprobs` most likely tokens
  // (plus the sampled one); for the prompt, `prompt_logprobs` likewise. Computed from the raw
  // logits (before penalties and temperature), as vLLM's default logprobs mode.
  std::optional<int64_t> logprobs;
  std::optional<int64_t> prompt_logprobs;

  // Generation stops at any of these tokens (kept in the output, unlike EOS) ...
  std::vector<int64_t> stop_token_ids;
  // ... or when the text ends in one of these strings (removed from the output unless
  // include_stop_str_in_output).
  std::vector<std::string> stop;
  bool include_stop_str_in_output = false;
  // Most tokens to generate (nullopt: until the context is full); no EOS or stop token before
  // min_tokens have been generated.
  std::optional<int64_t> max_tokens = 16;
  int64_t min_tokens = 0;
  // Keep generating past the model's EOS tokens.
  bool ignore_eos = false;

  // Detokenization of the output.
  bool skip_special_tokens = true;
  bool spaces_between_special_tokens = true;

  // True when sampling is greedy (temperature below vLLM's 1e-5 threshold).
  bool greedy() const { return temperature < 1e-5; }

  // Throws pagoda::Error(InvalidArgument) naming the first field out of range (n < 1,
  // temperature < 0, top_p outside (0, 1], top_k < -1, min_p outside [0, 1], penalties outside
  // vLLM's ranges, a logit_bias or stop token id outside [0, vocab_size), logprobs < 0, max_tokens
  // < 1, min_tokens > max_tokens, an empty stop string). vocab_size 0 skips the id checks.
  void validate(int64_t vocab_size = 0) const;
};

}  // namespace pagoda
