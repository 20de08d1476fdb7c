#include "engine/stop_checker.h"

#include <algorithm>

namespace pagoda::engine {
namespace {

bool contains(std::span<const int64_t> ids, int64_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

bool is_utf8_continuation(char c) {
  return (static_cast<unsigned char>(c) & 0xC0) == 0x80;
}

}  // namespace

void StopChecker::configure(const SamplingParams& params, std::span<const int64_t> eos_token_ids,
                            int64_t max_model_len) {
  eos_token_ids_.clear();
  if (!params.ignore_eos) eos_token_ids_.assign(eos_token_ids.begin(), eos_token_ids.end());
  stop_token_ids_ = params.stop_token_ids;
  stop_strings_ = params.stop;
  include_stop_str_in_output_ = params.include_stop_str_in_output;
  min_tokens_ = params.min_tokens;
  max_tokens_ = params.max_tokens;
  max_model_len_ = max_model_len;
  hold_back_bytes_ = 0;
  // vLLM holds back len(longest stop string) - 1 characters; bytes here, then widened to a
  // character boundary in releasable_bytes.
  if (!include_stop_str_in_output_)
    for (const auto& s : stop_strings_)
      hold_back_bytes_ = std::max(hold_back_bytes_, s.size() > 0 ? s.size() - 1 : 0);
}

std::optional<StopDecision> StopChecker::check_token(int32_t token, int64_t num_output_tokens,
                                                     int64_t num_tokens) const {
  if (num_output_tokens >= min_tokens_) {
    if (contains(eos_token_ids_, token)) return StopDecision{"stop", std::nullopt, std::nullopt};
    if (contains(stop_token_ids_, token)) return StopDecision{"stop", token, std::nullopt};
  }
  if (num_tokens >= max_model_len_ || (max_tokens_ && num_output_tokens >= *max_tokens_))
    return StopDecision{"length", std::nullopt, std::nullopt};
  return std::nullopt;
}

std::optional<std::string> StopChecker::check_text(std::string& text, size_t new_bytes,
                                                   int64_t num_output_tokens) const {
  if (stop_strings_.empty() || new_bytes == 0 || num_output_tokens <= min_tokens_)
    return std::nullopt;
  for (const auto& stop : stop_strings_) {
    // A stop string that ends inside the new text starts at most stop.size() - 1 bytes before it.
    const size_t from = text.size() - std::min(text.size(), new_bytes + stop.size() - 1);
    const size_t at = text.find(stop, from);
    if (at == std::string::npos) continue;
    text.resize(include_stop_str_in_output_ ? at + stop.size() : at);
    return stop;
  }
  return std::nullopt;
}

size_t StopChecker::releasable_bytes(const std::string& text, bool finished) const {
  if (finished || hold_back_bytes_ == 0) return text.size();
  if (text.size() <= hold_back_bytes_) return 0;
  size_t end = text.size() - hold_back_bytes_;
  while (end > 0 && is_utf8_continuation(text[end])) --end;
  return end;
}

}  // namespace pagoda::engine
