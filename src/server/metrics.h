// The server's Prometheus metrics (GET /metrics, text exposition format 0.0.4), named after
// vLLM's with the "pagoda:" prefix: request counts by HTTP status and by finish reason, prompt and
// generation tokens, time-to-first-token / inter-token / end-to-end latency histograms, and the
// engine's gauges (running and waiting requests, KV-cache usage and blocks, prefix-cache queries
// and hits). Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "pagoda/engine.h"

namespace pagoda::server {

class Histogram {
 public:
  explicit Histogram(std::vector<double> upper_bounds);
  void observe(double value);
  // "name_bucket{le=...} n" lines, then _sum and _count (`labels` without braces, may be "").
  void render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // per bucket, not cumulative
  double sum_ = 0;
  uint64_t count_ = 0;
};

class ServerMetrics {
 public:
  ServerMetrics();
  void count_http_response(int status);
  void count_finished_request(const std::string& finish_reason);
  void add_prompt_tokens(int64_t n);
  void add_generation_tokens(int64_t n);
  void observe_time_to_first_token(double seconds);
  void observe_inter_token_latency(double seconds);
  void observe_e2e_latency(double seconds);

  std::string render(const EngineStats& engine, const std::string& model_name) const;

 private:
  mutable std::mutex mutex_;
  std::map<int, uint64_t> http_by_status_;
  std::map<std::string, uint64_t> finished_by_reason_;
  uint64_t prompt_tokens_ = 0, generation_tokens_ = 0;
  Histogram ttft_, itl_, e2e_;
};

}  // namespace pagoda::server
