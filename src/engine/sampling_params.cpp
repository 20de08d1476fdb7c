// SamplingParams::validate: vLLM's ranges (vllm/sampling_params.py _verify_args, plus the token-id
// checks vLLM runs against the model's vocabulary), with messages that name the field, the value,
// the valid range and what to pass instead.
#include "pagoda/sampling_params.h"

#include <fmt/format.h>

#include <cmath>
#include <string>

#include "pagoda/error.h"

namespace pagoda {
namespace {

// Shortest text that reads back as the same double (1.5, not 1.500000).
std::string show(double value) {
  return fmt::format("{}", value);
}

[[noreturn]] void invalid(const std::string& problem, const std::string& fix) {
  throw_error(ErrorCode::InvalidArgument, "SamplingParams." + problem, fix);
}

// vLLM bounds both penalties to [-2, 2], as the OpenAI API does. NaN fails the comparison too.
void check_additive_penalty(const char* name, double value) {
  if (!(value >= -2.0 && value <= 2.0))
    invalid(fmt::format("{} is {}; it must be in [-2, 2]", name, show(value)),
            fmt::format("pass a {} between -2 and 2 (0 disables it; positive values discourage "
                        "repeating tokens)",
                        name));
}

void check_token_id(const char* field, int64_t token, int64_t vocab_size) {
  if (vocab_size > 0 && (token < 0 || token >= vocab_size))
    invalid(fmt::format("{} holds token id {}, outside the vocabulary [0, {})", field, token,
                        vocab_size),
            fmt::format("use token ids from this model's tokenizer (0 to {})", vocab_size - 1));
}

}  // namespace

void SamplingParams::validate(int64_t vocab_size) const {
  if (n < 1)
    invalid(fmt::format("n is {}; it must be at least 1", n),
            "pass n >= 1 (the number of completions to generate for the prompt)");
  check_additive_penalty("presence_penalty", presence_penalty);
  check_additive_penalty("frequency_penalty", frequency_penalty);
  if (!std::isfinite(repetition_penalty) || repetition_penalty <= 0.0)
    invalid(fmt::format("repetition_penalty is {}; it must be a finite number greater than 0",
                        show(repetition_penalty)),
            "pass a repetition_penalty > 0 (1 disables it; values above 1 discourage repetition)");
  if (!std::isfinite(temperature) || temperature < 0.0)
    invalid(fmt::format("temperature is {}; it must be a finite number >= 0", show(temperature)),
            "pass a temperature >= 0 (0 samples greedily; 1 leaves the logits unchanged)");
  if (!(top_p > 0.0 && top_p <= 1.0))
    invalid(fmt::format("top_p is {}; it must be in (0, 1]", show(top_p)),
            "pass a top_p greater than 0 and at most 1 (1 disables nucleus sampling)");
  if (top_k < -1)
    invalid(fmt::format("top_k is {}; it must be -1, 0 (both disable it) or at least 1", top_k),
            "pass top_k = 0 to consider every token, or a positive count of most likely tokens");
  if (!(min_p >= 0.0 && min_p <= 1.0))
    invalid(fmt::format("min_p is {}; it must be in [0, 1]", show(min_p)),
            "pass a min_p between 0 (disabled) and 1");
  if (max_tokens && *max_tokens < 1)
    invalid(fmt::format("max_tokens is {}; it must be at least 1", *max_tokens),
            "pass max_tokens >= 1, or leave it unset to generate until the context is full");
  if (min_tokens < 0)
    invalid(fmt::format("min_tokens is {}; it must be >= 0", min_tokens),
            "pass min_tokens >= 0 (0 lets the sequence stop at any step)");
  if (max_tokens && min_tokens > *max_tokens)
    invalid(fmt::format("min_tokens is {} but max_tokens is {}; min_tokens must be <= max_tokens",
                        min_tokens, *max_tokens),
            "lower min_tokens or raise max_tokens");
  if (logprobs && *logprobs < -1)
    invalid(
        fmt::format("logprobs is {}; it must be >= 0, or -1 for the whole vocabulary", *logprobs),
        "pass the number of most likely tokens to report per generated token (0 reports only "
        "the sampled token), or leave it unset");
  if (prompt_logprobs && *prompt_logprobs < -1)
    invalid(fmt::format("prompt_logprobs is {}; it must be >= 0, or -1 for the whole vocabulary",
                        *prompt_logprobs),
            "pass the number of most likely tokens to report per prompt token, or leave it unset");
  for (size_t i = 0; i < stop.size(); ++i)
    if (stop[i].empty())
      invalid(fmt::format("stop[{}] is an empty string; stop strings must not be empty", i),
              "remove the empty string from stop");
  for (const int64_t token : stop_token_ids) check_token_id("stop_token_ids", token, vocab_size);
  for (const auto& [token, bias] : logit_bias) {
    check_token_id("logit_bias", token, vocab_size);
    if (!std::isfinite(bias))
      invalid(fmt::format("logit_bias[{}] is {}; biases must be finite", token, show(bias)),
              "pass a finite bias (the OpenAI API allows -100 to 100)");
  }
  // vLLM: several greedy completions of one prompt would all be identical.
  if (greedy() && n > 1)
    invalid(fmt::format("n is {} with greedy sampling (temperature {} < 1e-5); greedy sampling "
                        "gives one completion",
                        n, show(temperature)),
            "pass n = 1, or a temperature above 0 for several different completions");
}

}  // namespace pagoda
