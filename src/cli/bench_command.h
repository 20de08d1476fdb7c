// `pagoda bench latency|throughput MODEL`: vLLM's offline benchmarks on synthetic prompts (random
// token ids, EOS ignored, so every request generates exactly --output-len tokens).
// `pagoda bench serve --base-url URL`: the same prompts against a running server (bench_serve.h).
#pragma once

#include <CLI/CLI.hpp>

#include "cli/bench_serve.h"
#include "cli/engine_options.h"

namespace pagoda::cli {

struct BenchOptions {
  EngineOptions engine;
  std::string mode;  // latency or throughput
  int64_t input_len = 32;
  int64_t output_len = 128;
  int64_t batch_size = 8;    // latency: prompts per iteration
  int64_t num_prompts = 64;  // throughput: prompts in total
  int64_t num_iters_warmup = 1;
  int64_t num_iters = 5;
  int64_t seed = 0;
  // Sampling of the offline modes: greedy by default (comparable across engines); vLLM's bench
  // samples at temperature 1, which --temperature 1 reproduces.
  double temperature = 0.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  std::string output_json;
  BenchServeOptions serve;  // serve mode's client options

  CLI::App* add_to(CLI::App& app);
};

int run_bench_command(BenchOptions& options);

}  // namespace pagoda::cli
