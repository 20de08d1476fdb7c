// When a sequence stops, as vLLM v1 decides it (vllm/v1/core/sched/utils.py check_stop and the
// detokenizer's stop-string search): EOS and stop token ids once min_tokens are out, then
// max_tokens and the context length; stop strings on the detokenized text, which is held back
// while its end could still become a stop string.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "pagoda/sampling_params.h"

namespace pagoda::engine {

struct StopDecision {
  std::string finish_reason;  // "stop" or "length"
  std::optional<int64_t> stop_token;
  std::optional<std::string> stop_string;
};

class StopChecker {
 public:
  // eos_token_ids: the model's EOS ids (config.json + generation_config.json); ignored with
  // params.ignore_eos. max_model_len: the sequence stops when it reaches it.
  void configure(const SamplingParams& params, std::span<const int64_t> eos_token_ids,
                 int64_t max_model_len);

  // After `token` was appended: num_output_tokens includes it, num_tokens is prompt + output.
  std::optional<StopDecision> check_token(int32_t token, int64_t num_output_tokens,
                                          int64_t num_tokens) const;

  // After `new_bytes` bytes of text were appended to `text` (the whole output text): looks for a
  // stop string that ends in the new text; on a hit truncates `text` (after the stop string with
  // include_stop_str_in_output, else before it) and returns it.
  std::optional<std::string> check_text(std::string& text, size_t new_bytes,
                                        int64_t num_output_tokens) const;

  // Bytes of `text` that may be shown now: all of it once finished, else all but the longest tail
  // that could still turn out to start a stop string (never splitting a UTF-8 character).
  size_t releasable_bytes(const std::string& text, bool finished) const;

  // True when a stop token (EOS or stop_token_ids) ends the sequence and its text is left out.
  bool hides_stop_token_text() const { return !include_stop_str_in_output_; }
  bool has_stop_strings() const { return !stop_strings_.empty(); }

 private:
  std::vector<int64_t> eos_token_ids_;
  std::vector<int64_t> stop_token_ids_;
  std::vector<std::string> stop_strings_;
  bool include_stop_str_in_output_ = false;
  int64_t min_tokens_ = 0;
  std::optional<int64_t> max_tokens_;
  int64_t max_model_len_ = 0;
  size_t hold_back_bytes_ = 0;
};

}  // namespace pagoda::engine
