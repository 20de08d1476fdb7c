#include "cli/bench_serve.h"

#include <fmt/format.h>
#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <thread>
#include <vector>

#include "pagoda/error.h"

namespace pagoda::cli {
namespace {

using Clock = std::chrono::steady_clock;
using nlohmann::json;

struct RequestResult {
  bool ok = false;
  std::string error;
  double ttft = 0, e2e = 0;        // seconds
  std::vector<double> itls;        // seconds between successive text chunks
  int64_t output_tokens = 0, prompt_tokens = 0;
};

double seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const double rank = p / 100.0 * static_cast<double>(v.size() - 1);
  const auto lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, v.size() - 1);
  return v[lo] + (v[hi] - v[lo]) * (rank - static_cast<double>(lo));
}

double mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

// One streaming completion; the SSE body is parsed as it arrives.
RequestResult run_request(const BenchServeOptions& o, const std::string& host, int port,
                          const std::string& path_prefix, const std::vector<int32_t>& prompt) {
  RequestResult r;
  json body = {{"prompt", prompt},
               {"max_tokens", o.output_len},
               {"ignore_eos", true},
               {"temperature", 0},
               {"stream", true},
               {"stream_options", {{"include_usage", true}}}};
  if (!o.model.empty()) body["model"] = o.model;
  httplib::Client client(host, port);
  client.set_read_timeout(3600, 0);
  httplib::Request req;
  req.method = "POST";
  req.path = path_prefix + "/v1/completions";
  req.headers = {{"Content-Type", "application/json"}};
  if (!o.api_key.empty()) req.headers.emplace("Authorization", "Bearer " + o.api_key);
  req.body = body.dump();
  const Clock::time_point start = Clock::now();
  Clock::time_point last = start;
  bool first = true;
  std::string buffer;
  req.content_receiver = [&](const char* data, size_t n, uint64_t, uint64_t) {
    buffer.append(data, n);
    size_t end;
    while ((end = buffer.find("\n\n")) != std::string::npos) {
      const std::string event = buffer.substr(0, end);
      buffer.erase(0, end + 2);
      if (event.rfind("data: ", 0) != 0) continue;
      const std::string payload = event.substr(6);
      if (payload == "[DONE]") continue;
      const json chunk = json::parse(payload, nullptr, false);
      if (chunk.is_discarded()) continue;
      if (chunk.contains("error")) {
        r.error = chunk["error"].value("message", "error");
        continue;
      }
      if (chunk.contains("usage") && chunk["usage"].is_object()) {
        r.output_tokens = chunk["usage"].value("completion_tokens", int64_t{0});
        r.prompt_tokens = chunk["usage"].value("prompt_tokens", int64_t{0});
      }
      if (!chunk.contains("choices") || chunk["choices"].empty()) continue;
      const Clock::time_point now = Clock::now();
      if (first) {
        r.ttft = seconds(now - start);
        first = false;
      } else {
        r.itls.push_back(seconds(now - last));
      }
      last = now;
    }
    return true;
  };
  httplib::Response res;
  httplib::Error error = httplib::Error::Success;
  const bool sent = client.send(req, res, error);
  r.e2e = seconds(Clock::now() - start);
  if (!sent) {
    r.error = "no response (" + httplib::to_string(error) + ")";
  } else if (res.status != 200) {
    r.error = fmt::format("HTTP {}: {}", res.status, res.body.substr(0, 200));
  } else if (r.error.empty()) {
    r.ok = !first;
    if (!r.ok) r.error = "no tokens";
  }
  return r;
}

}  // namespace

int run_bench_serve(const BenchServeOptions& o) {
  PAGODA_CHECK(o.num_prompts > 0 && o.input_len > 0 && o.output_len > 0 && o.vocab_size > 1 &&
                   o.request_rate > 0 && o.max_concurrency >= 0,
               InvalidArgument,
               fmt::format("bench serve: num_prompts {}, input_len {}, output_len {}, vocab_size "
                           "{}, request_rate {}, max_concurrency {}",
                           o.num_prompts, o.input_len, o.output_len, o.vocab_size, o.request_rate,
                           o.max_concurrency),
               "pass positive counts, lengths and rate (inf for all at once)");
  // http://host:port[/prefix]
  const std::string url = o.base_url;
  const size_t scheme = url.find("://");
  PAGODA_CHECK(url.rfind("http://", 0) == 0, InvalidArgument,
               fmt::format("--base-url '{}' is not an http:// URL", url),
               "write e.g. --base-url http://127.0.0.1:8000");
  const std::string rest = url.substr(scheme + 3);
  const size_t slash = rest.find('/');
  const std::string authority = rest.substr(0, slash);
  const std::string prefix = slash == std::string::npos ? "" : rest.substr(slash);
  const size_t colon = authority.rfind(':');
  const std::string host = authority.substr(0, colon);
  const int port = colon == std::string::npos ? 80 : std::stoi(authority.substr(colon + 1));

  std::mt19937_64 rng(static_cast<uint64_t>(o.seed));
  std::vector<std::vector<int32_t>> prompts(static_cast<size_t>(o.num_prompts));
  for (auto& p : prompts) {
    p.resize(static_cast<size_t>(o.input_len));
    for (auto& id : p) id = static_cast<int32_t>(1 + rng() % static_cast<uint64_t>(o.vocab_size - 1));
  }
  // Poisson arrivals: exponential gaps with mean 1 / rate.
  std::vector<double> arrival(prompts.size(), 0.0);
  if (std::isfinite(o.request_rate)) {
    std::exponential_distribution<double> gap(o.request_rate);
    double t = 0;
    for (auto& a : arrival) {
      a = t;
      t += gap(rng);
    }
  }

  std::vector<RequestResult> results(prompts.size());
  std::mutex mutex;
  std::condition_variable slot_free;
  int64_t in_flight = 0;
  std::vector<std::thread> threads;
  const Clock::time_point start = Clock::now();
  for (size_t i = 0; i < prompts.size(); ++i) {
    std::this_thread::sleep_until(start + std::chrono::duration_cast<Clock::duration>(
                                              std::chrono::duration<double>(arrival[i])));
    if (o.max_concurrency > 0) {
      std::unique_lock lock(mutex);
      slot_free.wait(lock, [&] { return in_flight < o.max_concurrency; });
      ++in_flight;
    }
    threads.emplace_back([&, i] {
      results[i] = run_request(o, host, port, prefix, prompts[i]);
      if (o.max_concurrency > 0) {
        std::lock_guard lock(mutex);
        --in_flight;
        slot_free.notify_one();
      }
    });
  }
  for (auto& t : threads) t.join();
  const double duration = seconds(Clock::now() - start);

  std::vector<double> ttft, tpot, itl, e2e;
  int64_t ok = 0, input_tokens = 0, output_tokens = 0;
  std::string first_error;
  for (const auto& r : results) {
    if (!r.ok) {
      if (first_error.empty()) first_error = r.error;
      continue;
    }
    ++ok;
    input_tokens += r.prompt_tokens;
    output_tokens += r.output_tokens;
    ttft.push_back(r.ttft * 1e3);
    e2e.push_back(r.e2e * 1e3);
    if (r.output_tokens > 1)
      tpot.push_back((r.e2e - r.ttft) * 1e3 / static_cast<double>(r.output_tokens - 1));
    for (double x : r.itls) itl.push_back(x * 1e3);
  }
  const auto line = [](const std::string& name, double value, const char* fmtspec = "{:.2f}") {
    fmt::print("{:<40}{:>12}\n", name, fmt::format(fmt::runtime(fmtspec), value));
  };
  fmt::print("{:=^52}\n", " Serving Benchmark Result ");
  line("Successful requests:", static_cast<double>(ok), "{:.0f}");
  line("Failed requests:", static_cast<double>(o.num_prompts - ok), "{:.0f}");
  line("Request rate (req/s):", o.request_rate);
  line("Max concurrency:", static_cast<double>(o.max_concurrency), "{:.0f}");
  line("Benchmark duration (s):", duration);
  line("Total input tokens:", static_cast<double>(input_tokens), "{:.0f}");
  line("Total generated tokens:", static_cast<double>(output_tokens), "{:.0f}");
  line("Request throughput (req/s):", static_cast<double>(ok) / duration);
  line("Output token throughput (tok/s):", static_cast<double>(output_tokens) / duration);
  line("Total token throughput (tok/s):",
       static_cast<double>(input_tokens + output_tokens) / duration);
  json out = {{"num_prompts", o.num_prompts}, {"completed", ok}, {"duration_s", duration},
              {"request_rate", std::isfinite(o.request_rate) ? json(o.request_rate) : json("inf")},
              {"max_concurrency", o.max_concurrency}, {"input_len", o.input_len},
              {"output_len", o.output_len}, {"total_input_tokens", input_tokens},
              {"total_output_tokens", output_tokens},
              {"request_throughput", static_cast<double>(ok) / duration},
              {"output_throughput", static_cast<double>(output_tokens) / duration}};
  const auto section = [&](const char* title, const char* key, const std::vector<double>& v) {
    fmt::print("{:-^52}\n", std::string(" ") + title + " ");
    line(fmt::format("Mean {} (ms):", key), mean(v));
    line(fmt::format("Median {} (ms):", key), percentile(v, 50));
    line(fmt::format("P90 {} (ms):", key), percentile(v, 90));
    line(fmt::format("P99 {} (ms):", key), percentile(v, 99));
    std::string lower = key;
    std::transform(lower.begin(), lower.end(), lower.begin(), ::tolower);
    out["mean_" + lower + "_ms"] = mean(v);
    out["median_" + lower + "_ms"] = percentile(v, 50);
    out["p90_" + lower + "_ms"] = percentile(v, 90);
    out["p99_" + lower + "_ms"] = percentile(v, 99);
  };
  section("Time to First Token", "TTFT", ttft);
  section("Time per Output Token (excl. 1st token)", "TPOT", tpot);
  section("Inter-token Latency", "ITL", itl);
  section("End-to-end Latency", "E2EL", e2e);
  fmt::print("{:=^52}\n", "");
  if (!first_error.empty()) fmt::print(stderr, "first failure: {}\n", first_error);
  if (!o.output_json.empty()) {
    std::ofstream f(o.output_json);
    PAGODA_CHECK(f.good(), Io, fmt::format("cannot write {}", o.output_json),
                 "pass a writable path to --output-json");
    f << out.dump(2) << "\n";
  }
  return ok == o.num_prompts ? 0 : 1;
}

}  // namespace pagoda::cli
