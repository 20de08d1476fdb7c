// One sequence the engine generates: a request with n = 1, or one of the n samples of a request
// (each its own sequence sharing the prompt, so the prefix cache shares its blocks). Internal to
// the engine; the scheduler, the model runner and the output processing all work on it.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <random>
#include <span>
#include <string>
#include <vector>

#include "engine/stop_checker.h"
#include "pagoda/request_output.h"
#include "pagoda/sampling_params.h"

namespace pagoda {
class IncrementalDetokenizer;
}

namespace pagoda::engine {

enum class SequenceStatus { kWaiting, kRunning, kFinished };

// What the sequences of one request share.
struct RequestState {
  std::string request_id;
  std::vector<int32_t> prompt_token_ids;
  std::string prompt_text;
  SamplingParams params;
  std::string cache_salt;
  RequestMetrics metrics;
  // Prompt logprobs gathered so far (positions 1 .. computed); reported once, when complete.
  std::vector<PositionLogprobs> prompt_logprobs;
  bool prompt_logprobs_reported = false;
  bool prompt_reported = false;  // prompt ids and text went out with the first output
  int64_t num_unfinished = 0;  // sequences still running
};

class Sequence {
 public:
  Sequence(std::shared_ptr<RequestState> request, int64_t index, std::string id);
  ~Sequence();

  const std::string& id() const { return id_; }  // unique among live sequences
  RequestState& request() const { return *request_; }
  const std::shared_ptr<RequestState>& request_ptr() const { return request_; }
  const SamplingParams& params() const { return request_->params; }
  int64_t index() const { return index_; }

  // Prompt followed by the generated tokens.
  std::span<const int32_t> token_ids() const { return token_ids_; }
  int64_t num_tokens() const { return static_cast<int64_t>(token_ids_.size()); }
  int64_t num_prompt_tokens() const { return num_prompt_tokens_; }
  int64_t num_output_tokens() const { return num_tokens() - num_prompt_tokens_; }
  std::span<const int32_t> prompt_token_ids() const {
    return std::span<const int32_t>(token_ids_).first(static_cast<size_t>(num_prompt_tokens_));
  }
  std::span<const int32_t> output_token_ids() const {
    return std::span<const int32_t>(token_ids_).subspan(static_cast<size_t>(num_prompt_tokens_));
  }
  void append_token(int32_t token) { token_ids_.push_back(token); }

  // Tokens whose keys and values are in the KV cache.
  int64_t num_computed_tokens = 0;
  SequenceStatus status = SequenceStatus::kWaiting;
  int64_t num_preemptions = 0;

  // The request's own generator when it has a seed (seed + index for the index-th sample).
  std::mt19937_64* generator() { return generator_ ? &*generator_ : nullptr; }

  // EOS and stop token ids, which the sampler masks while fewer than min_tokens were generated.
  std::vector<int32_t> min_tokens_blocked;

  // Output processing state.
  CompletionOutput output;     // cumulative: everything generated so far
  size_t reported_tokens = 0;  // output.token_ids already reported
  size_t reported_text = 0;    // bytes of output.text already reported
  size_t reported_logprobs = 0;
  bool final_reported = false;  // the output carrying finish_reason was sent
  std::unique_ptr<IncrementalDetokenizer> detokenizer;
  StopChecker stop_checker;

 private:
  std::shared_ptr<RequestState> request_;
  int64_t index_;
  std::string id_;
  std::vector<int32_t> token_ids_;
  int64_t num_prompt_tokens_;
  std::optional<std::mt19937_64> generator_;
};

}  // namespace pagoda::engine
