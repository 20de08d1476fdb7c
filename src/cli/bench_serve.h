// `pagoda bench serve`: drives a running OpenAI-compatible server (Pagoda's, or any other) with
// synthetic streaming completion requests arriving as a Poisson process at --request-rate, and
// reports time to first token, time per output token, inter-token latency and end-to-end latency
// percentiles and throughput, as `vllm bench serve` does with its random dataset.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

namespace pagoda::cli {

struct BenchServeOptions {
  std::string base_url = "http://127.0.0.1:8000";
  std::string model;  // the "model" field of each request (empty: none)
  std::string api_key;
  int64_t num_prompts = 200;
  int64_t input_len = 32;   // random token ids per prompt
  int64_t output_len = 64;  // tokens per request (EOS ignored)
  int64_t vocab_size = 1000;  // prompt ids are drawn below this
  double request_rate = std::numeric_limits<double>::infinity();  // requests/s; inf: all at once
  int64_t max_concurrency = 0;  // 0: no limit
  int64_t seed = 0;
  std::string output_json;
};

int run_bench_serve(const BenchServeOptions& options);

}  // namespace pagoda::cli
