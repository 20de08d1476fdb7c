// The incremental detokenizer of vLLM (prefix_offset / read_offset over a short window of ids):
// the text of the window is decoded twice, without and with the new tokens, and the difference is
// emitted once it no longer ends in U+FFFD (an incomplete UTF-8 character).
#include <algorithm>

#include "pagoda/error.h"
#include "pagoda/tokenizer.h"

namespace pagoda {
namespace {

// vLLM starts the window this many tokens before the end of the prompt, enough context for
// SentencePiece spaces and multi-token characters.
constexpr size_t kPromptContext = 5;

bool ends_with_replacement(const std::string& s) {
  return s.size() >= 3 && s.compare(s.size() - 3, 3, "\xEF\xBF\xBD") == 0;
}

}  // namespace

IncrementalDetokenizer::IncrementalDetokenizer(std::shared_ptr<const Tokenizer> tokenizer,
                                               std::span<const int32_t> prompt_ids,
                                               bool skip_special_tokens)
    : tokenizer_(std::move(tokenizer)), skip_special_(skip_special_tokens) {
  PAGODA_CHECK(tokenizer_ != nullptr, InvalidArgument,
               "IncrementalDetokenizer was given no tokenizer", "pass the model's tokenizer");
  // Skipped special tokens decode to nothing; keeping them out of the window keeps its first
  // token a real one, so SentencePiece's "first token loses its space" rule applies only where a
  // full decode applies it.
  for (size_t i = prompt_ids.size() > 4 * kPromptContext ? prompt_ids.size() - 4 * kPromptContext
                                                         : 0;
       i < prompt_ids.size(); ++i)
    if (!(skip_special_ && tokenizer_->is_special(prompt_ids[i]))) ids_.push_back(prompt_ids[i]);
  if (ids_.size() > kPromptContext)
    ids_.erase(ids_.begin(), ids_.end() - static_cast<ptrdiff_t>(kPromptContext));
  prefix_offset_ = 0;
  read_offset_ = ids_.size();
}

std::string IncrementalDetokenizer::push(int32_t id) {
  if (skip_special_ && tokenizer_->is_special(id)) return {};
  ids_.push_back(id);
  const std::span<const int32_t> all(ids_);
  const std::string prefix =
      tokenizer_->decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_);
  const std::string text = tokenizer_->decode(all.subspan(prefix_offset_), skip_special_);
  if (text.size() <= prefix.size() || ends_with_replacement(text)) return {};
  std::string out;
  if (text.compare(0, prefix.size(), prefix) == 0) {
    out = text.substr(prefix.size());
  } else {
    // The decoder rewrote earlier text (rare: cleanup rules); emit what differs after the common
    // part.
    const auto mismatch = std::mismatch(prefix.begin(), prefix.end(), text.begin());
    out = text.substr(static_cast<size_t>(mismatch.second - text.begin()));
  }
  // Drop ids that are no longer needed as context.
  const size_t new_prefix = read_offset_;
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<ptrdiff_t>(new_prefix));
  prefix_offset_ = 0;
  read_offset_ = ids_.size();
  (void)new_prefix;
  return out;
}

std::string IncrementalDetokenizer::flush() {
  const std::span<const int32_t> all(ids_);
  const std::string prefix =
      tokenizer_->decode(all.subspan(prefix_offset_, read_offset_ - prefix_offset_), skip_special_);
  const std::string text = tokenizer_->decode(all.subspan(prefix_offset_), skip_special_);
  std::string out;
  if (text.size() > prefix.size() && text.compare(0, prefix.size(), prefix) == 0)
    out = text.substr(prefix.size());
  ids_.erase(ids_.begin(), ids_.begin() + static_cast<ptrdiff_t>(read_offset_));
  prefix_offset_ = 0;
  read_offset_ = ids_.size();
  return out;
}

}  // namespace pagoda
