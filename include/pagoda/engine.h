// The serving engine: EngineCore (add, abort, step: continuous batching over a paged KV cache) and
// LLM (generate for a batch of prompts). See docs/architecture.md, "The engine".
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "pagoda/chat.h"
#include "pagoda/engine_args.h"
#include "pagoda/request_output.h"
#include "pagoda/sampling_params.h"

namespace pagoda {

class Tokenizer;
struct ModelConfig;

// A prompt: token ids, or text that the engine's tokenizer encodes (with the tokenizer's special
// tokens, e.g. BOS).
struct Prompt {
  std::vector<int32_t> token_ids;
  std::optional<std::string> text;
  // Whether encoding the text adds the tokenizer's special tokens (BOS...). A chat-template
  // rendering already holds them, so chat prompts pass false (as vLLM does).
  bool add_special_tokens = true;

  static Prompt from_tokens(std::vector<int32_t> ids) {
    return {std::move(ids), std::nullopt, true};
  }
  static Prompt from_text(std::string t, bool add_special_tokens = true) {
    return {{}, std::move(t), add_special_tokens};
  }
};

struct EngineRequest {
  std::string request_id;  // unique among live requests
  Prompt prompt;
  SamplingParams params;
  // Separates prefix-cache entries (requests with different salts never share cached blocks).
  std::string cache_salt;
};

// Engine-wide numbers, for logs, benchmarks and /metrics.
struct EngineStats {
  int64_t num_running = 0, num_waiting = 0;
  int64_t num_kv_blocks = 0, num_free_kv_blocks = 0, block_size = 0;
  double kv_cache_usage = 0;
  int64_t prefix_cache_queries = 0, prefix_cache_hits = 0;  // tokens
  int64_t num_preemptions = 0;
  int64_t num_steps = 0;
};

// The engine loop's core. add_request and abort_request may be called from any thread; step()
// from one thread at a time (the engine loop): it admits what was added, schedules one step,
// runs the model and returns the outputs that step produced, as deltas.
class EngineCore {
 public:
  // Loads config.json, the weights, the tokenizer and generation_config.json; sizes the KV cache.
  explicit EngineCore(const EngineArgs& args);
  ~EngineCore();
  EngineCore(const EngineCore&) = delete;
  EngineCore& operator=(const EngineCore&) = delete;

  // Validates the request (pagoda::Error naming the problem: an empty or too-long prompt, token
  // ids outside the vocabulary, bad sampling parameters, a duplicate id) and queues it; it joins
  // the batch at the next step.
  void add_request(EngineRequest request);
  // Ends the request wherever it is (queued, waiting, running) and frees everything it holds;
  // its final output (finish_reason "abort") comes from the next step. Unknown ids are ignored.
  void abort_request(const std::string& request_id);
  // One engine step. Returns an output for every request that produced tokens or finished.
  std::vector<RequestOutput> step();
  // True while any request is queued, waiting or running.
  bool has_unfinished_requests() const;

  EngineStats stats() const;
  const ModelConfig& model_config() const;
  // The tokenizer, or nullptr with skip_tokenizer_init.
  std::shared_ptr<const Tokenizer> tokenizer() const;
  // Request defaults from generation_config.json (temperature, top_p, ...), applied by callers
  // that build SamplingParams from user input (LLM, the CLI, the server) when the user left a
  // field unset.
  const SamplingParams& default_sampling_params() const;
  const EngineArgs& args() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Offline generation (vLLM's LLM class): runs the engine until every prompt is done.
class LLM {
 public:
  explicit LLM(const EngineArgs& args);
  ~LLM();

  // One output per prompt, in prompt order. `params` holds one SamplingParams for all prompts or
  // one per prompt. on_output, when given, sees every step's delta outputs (for streaming).
  std::vector<RequestOutput> generate(
      const std::vector<Prompt>& prompts, const std::vector<SamplingParams>& params,
      const std::function<void(const RequestOutput& delta)>& on_output = {});

  // Chat: each conversation rendered with the model's chat template, then generated.
  std::vector<RequestOutput> chat(
      const std::vector<nlohmann::ordered_json>& conversations,
      const std::vector<SamplingParams>& params, const ChatOptions& options = {},
      const std::function<void(const RequestOutput& delta)>& on_output = {});

  EngineCore& engine() { return *engine_; }

 private:
  std::unique_ptr<EngineCore> engine_;
  std::unique_ptr<ChatFormatter> chat_formatter_;
  int64_t next_id_ = 0;
};

// Folds a delta output into the accumulated one (same request): appends tokens, text and
// logprobs per sequence and takes the latest finish state.
void accumulate_output(RequestOutput& total, const RequestOutput& delta);

}  // namespace pagoda
