// Engine arguments as command-line options, shared by `generate`, `bench` and `serve` (vLLM's
// spelling: --max-model-len, --max-num-seqs, ...).
#pragma once

#include <CLI/CLI.hpp>
#include <cstdint>
#include <string>

#include "pagoda/engine_args.h"
#include "pagoda/sampling_params.h"

namespace pagoda::cli {

struct EngineOptions {
  EngineArgs args;
  std::string kv_cache_memory;  // "4GiB", "512MiB", bytes
  bool no_prefix_caching = false;
  int64_t threads = 0;

  // Adds the options to `app`, with MODEL as the positional argument (optional: the default
  // model runs when it is left out).
  void add_to(CLI::App& app);
  // Resolves the parsed strings into args (throws pagoda::Error for bad values) and applies
  // --threads (before the thread pool starts).
  EngineArgs resolve();
};

// Ranks > 0 of a multi-process engine (mpirun): serves rank 0's engine with run_engine_worker and
// returns true; the command then exits. False on rank 0 and in single-process runs. Throws
// pagoda::Error when mpirun started more processes than the engine has ranks.
bool serve_as_worker(const EngineArgs& args);

// Sampling options (--max-tokens, --temperature, ...): those given override `defaults`.
struct SamplingOptions {
  std::optional<int64_t> max_tokens, top_k, n, seed, min_tokens, logprobs, prompt_logprobs;
  std::optional<double> temperature, top_p, min_p, presence_penalty, frequency_penalty,
      repetition_penalty;
  std::vector<std::string> stop;
  std::vector<int64_t> stop_token_ids;
  bool ignore_eos = false;

  void add_to(CLI::App& app);
  SamplingParams resolve(SamplingParams defaults) const;
};

// "4GiB", "1.5G", "512MiB", "100000" (bytes) -> bytes; pagoda::Error naming the option otherwise.
int64_t parse_memory_size(const std::string& text, const std::string& option);

}  // namespace pagoda::cli
