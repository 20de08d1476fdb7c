#include "server/metrics.h"

#include <fmt/format.h>

#include <algorithm>

namespace pagoda::server {
namespace {

// Label values escape backslash, double quote and newline (exposition format).
std::string escape_label(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  return out;
}

void header(std::string& out, const std::string& name, const char* type, const char* help) {
  out += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

std::string format_le(double bound) { return fmt::format("{}", bound); }

}  // namespace

Histogram::Histogram(std::vector<double> upper_bounds)
    : bounds_(std::move(upper_bounds)), counts_(bounds_.size() + 1, 0) {}

void Histogram::observe(double value) {
  const size_t i = std::lower_bound(bounds_.begin(), bounds_.end(), value) - bounds_.begin();
  ++counts_[i];
  sum_ += value;
  ++count_;
}

void Histogram::render(std::string& out, const std::string& name,
                       const std::string& labels) const {
  const std::string sep = labels.empty() ? "" : ",";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < bounds_.size(); ++i) {
    cumulative += counts_[i];
    out += fmt::format("{}_bucket{{{}{}le=\"{}\"}} {}\n", name, labels, sep,
                       format_le(bounds_[i]), cumulative);
  }
  out += fmt::format("{}_bucket{{{}{}le=\"+Inf\"}} {}\n", name, labels, sep, count_);
  const std::string braces = labels.empty() ? "" : "{" + labels + "}";
  out += fmt::format("{}_sum{} {}\n{}_count{} {}\n", name, braces, sum_, name, braces, count_);
}

// vLLM's buckets for these histograms.
ServerMetrics::ServerMetrics()
    : ttft_({0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0,
             7.5, 10.0, 20.0, 40.0, 80.0, 160.0, 640.0, 2560.0}),
      itl_({0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5,
            10.0, 20.0, 40.0, 80.0}),
      e2e_({0.3, 0.5, 0.8, 1.0, 1.5, 2.0, 2.5, 5.0, 10.0, 15.0, 20.0, 30.0, 40.0, 50.0, 60.0,
            120.0, 240.0, 480.0, 960.0, 1920.0, 7680.0}) {}

void ServerMetrics::count_http_response(int status) {
  std::lock_guard lock(mutex_);
  ++http_by_status_[status];
}
void ServerMetrics::count_finished_request(const std::string& finish_reason) {
  std::lock_guard lock(mutex_);
  ++finished_by_reason_[finish_reason];
}
void ServerMetrics::add_prompt_tokens(int64_t n) {
  std::lock_guard lock(mutex_);
  prompt_tokens_ += static_cast<uint64_t>(n);
}
void ServerMetrics::add_generation_tokens(int64_t n) {
  std::lock_guard lock(mutex_);
  generation_tokens_ += static_cast<uint64_t>(n);
}
void ServerMetrics::observe_time_to_first_token(double s) {
  std::lock_guard lock(mutex_);
  ttft_.observe(s);
}
void ServerMetrics::observe_inter_token_latency(double s) {
  std::lock_guard lock(mutex_);
  itl_.observe(s);
}
void ServerMetrics::observe_e2e_latency(double s) {
  std::lock_guard lock(mutex_);
  e2e_.observe(s);
}

std::string ServerMetrics::render(const EngineStats& engine, const std::string& model_name) const {
  std::lock_guard lock(mutex_);
  const std::string model = "model_name=\"" + escape_label(model_name) + "\"";
  std::string out;
  const auto gauge = [&](const char* name, const char* help, double value) {
    header(out, name, "gauge", help);
    out += fmt::format("{}{{{}}} {}\n", name, model, value);
  };
  const auto counter = [&](const char* name, const char* help, double value) {
    header(out, name, "counter", help);
    out += fmt::format("{}{{{}}} {}\n", name, model, value);
  };
  gauge("pagoda:num_requests_running", "Requests in the running batch.",
        static_cast<double>(engine.num_running));
  gauge("pagoda:num_requests_waiting", "Requests waiting to be scheduled.",
        static_cast<double>(engine.num_waiting));
  gauge("pagoda:kv_cache_usage_perc", "Fraction of KV-cache blocks in use (1 = full).",
        engine.kv_cache_usage);
  gauge("pagoda:kv_cache_blocks_total", "KV-cache blocks in the pool.",
        static_cast<double>(engine.num_kv_blocks));
  gauge("pagoda:kv_cache_blocks_free", "KV-cache blocks free (cached-but-unused included).",
        static_cast<double>(engine.num_free_kv_blocks));
  counter("pagoda:prefix_cache_queries_total", "Prompt tokens looked up in the prefix cache.",
          static_cast<double>(engine.prefix_cache_queries));
  counter("pagoda:prefix_cache_hits_total", "Prompt tokens served by the prefix cache.",
          static_cast<double>(engine.prefix_cache_hits));
  gauge("pagoda:prefix_cache_hit_rate", "Prefix-cache hits over queries, in tokens, so far.",
        engine.prefix_cache_queries > 0 ? static_cast<double>(engine.prefix_cache_hits) /
                                              static_cast<double>(engine.prefix_cache_queries)
                                        : 0.0);
  counter("pagoda:num_preemptions_total", "Sequences preempted (recomputed later).",
          static_cast<double>(engine.num_preemptions));
  counter("pagoda:prompt_tokens_total", "Prompt tokens of finished and running requests.",
          static_cast<double>(prompt_tokens_));
  counter("pagoda:generation_tokens_total", "Generated tokens.",
          static_cast<double>(generation_tokens_));

  header(out, "pagoda:request_success_total", "counter", "Finished requests by finish reason.");
  for (const char* reason : {"stop", "length", "abort"}) {
    auto it = finished_by_reason_.find(reason);
    out += fmt::format("pagoda:request_success_total{{{},finished_reason=\"{}\"}} {}\n", model,
                       reason, it == finished_by_reason_.end() ? 0 : it->second);
  }
  header(out, "pagoda:http_requests_total", "counter", "HTTP responses by status code.");
  for (const auto& [status, n] : http_by_status_)
    out += fmt::format("pagoda:http_requests_total{{status=\"{}\"}} {}\n", status, n);

  header(out, "pagoda:time_to_first_token_seconds", "histogram",
         "Time from request arrival to its first generated token.");
  ttft_.render(out, "pagoda:time_to_first_token_seconds", model);
  header(out, "pagoda:inter_token_latency_seconds", "histogram",
         "Time between successive outputs of a request.");
  itl_.render(out, "pagoda:inter_token_latency_seconds", model);
  header(out, "pagoda:e2e_request_latency_seconds", "histogram",
         "Time from request arrival to its last token.");
  e2e_.render(out, "pagoda:e2e_request_latency_seconds", model);
  return out;
}

}  // namespace pagoda::server
