#include "cli/bench_command.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>

#include "pagoda/engine.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

namespace pagoda::cli {
namespace {

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

std::vector<Prompt> random_prompts(int64_t count, int64_t length, int64_t vocab,
                                   std::mt19937_64& rng) {
  std::vector<Prompt> prompts;
  for (int64_t i = 0; i < count; ++i) {
    std::vector<int32_t> ids(static_cast<size_t>(length));
    for (auto& id : ids) id = static_cast<int32_t>(rng() % static_cast<uint64_t>(vocab));
    prompts.push_back(Prompt::from_tokens(std::move(ids)));
  }
  return prompts;
}

double percentile(std::vector<double> values, double p) {
  std::sort(values.begin(), values.end());
  const double rank = p / 100.0 * static_cast<double>(values.size() - 1);
  const auto lo = static_cast<size_t>(rank);
  const size_t hi = std::min(lo + 1, values.size() - 1);
  return values[lo] + (values[hi] - values[lo]) * (rank - static_cast<double>(lo));
}

}  // namespace

CLI::App* BenchOptions::add_to(CLI::App& app) {
  CLI::App* cmd =
      app.add_subcommand("bench",
                         "benchmarks on synthetic prompts: offline (latency, throughput) "
                         "or against a server (serve)");
  cmd->add_option("MODE", mode, "latency, throughput or serve")
      ->required()
      ->check(CLI::IsMember({"latency", "throughput", "serve"}));
  engine.add_to(*cmd);
  cmd->add_option("--input-len", input_len, "prompt tokens")->capture_default_str();
  cmd->add_option("--output-len", output_len, "generated tokens per request")
      ->capture_default_str();
  cmd->add_option("--batch-size", batch_size, "latency: prompts per iteration")
      ->capture_default_str();
  cmd->add_option("--num-prompts", num_prompts, "throughput: prompts in total")
      ->capture_default_str();
  cmd->add_option("--num-iters-warmup", num_iters_warmup, "latency: untimed iterations")
      ->capture_default_str();
  cmd->add_option("--num-iters", num_iters, "latency: timed iterations")->capture_default_str();
  cmd->add_option("--seed", seed, "seed of the synthetic prompts")->capture_default_str();
  cmd->add_option("--temperature", temperature,
                  "latency, throughput: sampling temperature (0: greedy)")
      ->capture_default_str();
  cmd->add_option("--top-p", top_p, "latency, throughput: nucleus sampling")->capture_default_str();
  cmd->add_option("--top-k", top_k, "latency, throughput: top-k sampling (0: off)")
      ->capture_default_str();
  cmd->add_option("--output-json", output_json, "also write the results to this JSON file");
  cmd->add_option("--base-url", serve.base_url, "serve: the server's URL")->capture_default_str();
  cmd->add_option("--request-rate", serve.request_rate,
                  "serve: requests per second, Poisson arrivals (default inf: all at once)");
  cmd->add_option("--max-concurrency", serve.max_concurrency,
                  "serve: most requests in flight (0: no limit)")
      ->capture_default_str();
  cmd->add_option("--model-name", serve.model, "serve: the model name sent in requests");
  cmd->add_option("--api-key", serve.api_key, "serve: sent as Authorization: Bearer KEY");
  cmd->add_option("--vocab-size", serve.vocab_size, "serve: prompt token ids are drawn below this")
      ->capture_default_str();
  return cmd;
}

int run_bench_command(BenchOptions& o) {
  if (o.mode == "serve") {
    BenchServeOptions s = o.serve;
    s.num_prompts = o.num_prompts;
    s.input_len = o.input_len;
    s.output_len = o.output_len;
    s.seed = o.seed;
    s.output_json = o.output_json;
    return run_bench_serve(s);
  }
  PAGODA_CHECK(o.input_len > 0 && o.output_len > 0 && o.batch_size > 0 && o.num_prompts > 0 &&
                   o.num_iters > 0 && o.num_iters_warmup >= 0,
               InvalidArgument,
               fmt::format("bench: input_len {}, output_len {}, batch_size {}, num_prompts {}, "
                           "num_iters {}, num_iters_warmup {}; expected positive values "
                           "(warm-up may be 0)",
                           o.input_len, o.output_len, o.batch_size, o.num_prompts, o.num_iters,
                           o.num_iters_warmup),
               "pass positive lengths and counts");
  EngineArgs args = o.engine.resolve();
  if (serve_as_worker(args)) return 0;  // ranks > 0 under mpirun
  args.skip_tokenizer_init = true;      // synthetic token ids; no text is produced
  LLM llm(args);
  const int64_t vocab = llm.engine().model_config().vocab_size;
  std::mt19937_64 rng(static_cast<uint64_t>(o.seed));
  SamplingParams params;
  params.temperature = o.temperature;
  params.top_p = o.top_p;
  params.top_k = o.top_k;
  params.ignore_eos = true;
  params.max_tokens = o.output_len;
  params.validate(vocab);
  nlohmann::json report = {{"mode", o.mode},
                           {"temperature", o.temperature},
                           {"top_p", o.top_p},
                           {"top_k", o.top_k},
                           {"model", args.model},
                           {"input_len", o.input_len},
                           {"output_len", o.output_len}};

  if (o.mode == "latency") {
    fmt::print(
        "latency: batch {} x ({} prompt + {} output tokens), {} warm-up + {} timed iterations\n",
        o.batch_size, o.input_len, o.output_len, o.num_iters_warmup, o.num_iters);
    std::vector<double> latencies;
    for (int64_t it = 0; it < o.num_iters_warmup + o.num_iters; ++it) {
      const auto prompts = random_prompts(o.batch_size, o.input_len, vocab, rng);
      const auto start = std::chrono::steady_clock::now();
      llm.generate(prompts, {params});
      const double s = seconds_since(start);
      if (it >= o.num_iters_warmup) latencies.push_back(s);
    }
    double sum = 0;
    for (double l : latencies) sum += l;
    const double avg = sum / static_cast<double>(latencies.size());
    fmt::print("{:<28} {:>10}\n", "metric", "seconds");
    fmt::print("{:<28} {:>10.4f}\n", "avg latency", avg);
    for (int p : {10, 25, 50, 75, 90, 99})
      fmt::print("{:<28} {:>10.4f}\n", fmt::format("p{} latency", p), percentile(latencies, p));
    fmt::print("{:<28} {:>10.1f}\n", "output tokens/s",
               static_cast<double>(o.batch_size * o.output_len) / avg);
    report["batch_size"] = o.batch_size;
    report["avg_latency"] = avg;
    report["latencies"] = latencies;
  } else {
    const auto prompts = random_prompts(o.num_prompts, o.input_len, vocab, rng);
    const auto start = std::chrono::steady_clock::now();
    const auto results = llm.generate(prompts, {params});
    const double s = seconds_since(start);
    int64_t out_tokens = 0;
    for (const auto& r : results)
      for (const auto& c : r.outputs) out_tokens += static_cast<int64_t>(c.token_ids.size());
    const int64_t total = out_tokens + o.num_prompts * o.input_len;
    const EngineStats stats = llm.engine().stats();
    fmt::print(
        "throughput: {} prompts x ({} prompt + {} output tokens), max_num_seqs {}, "
        "max_num_batched_tokens {}\n",
        o.num_prompts, o.input_len, o.output_len, args.max_num_seqs, args.max_num_batched_tokens);
    fmt::print("{:<28} {:>12}\n", "metric", "value");
    fmt::print("{:<28} {:>12.2f}\n", "elapsed (s)", s);
    fmt::print("{:<28} {:>12.2f}\n", "requests/s", static_cast<double>(o.num_prompts) / s);
    fmt::print("{:<28} {:>12.1f}\n", "total tokens/s", static_cast<double>(total) / s);
    fmt::print("{:<28} {:>12.1f}\n", "output tokens/s", static_cast<double>(out_tokens) / s);
    fmt::print("{:<28} {:>12}\n", "engine steps", stats.num_steps);
    fmt::print("{:<28} {:>12}\n", "preemptions", stats.num_preemptions);
    report["num_prompts"] = o.num_prompts;
    report["elapsed"] = s;
    report["requests_per_s"] = static_cast<double>(o.num_prompts) / s;
    report["total_tokens_per_s"] = static_cast<double>(total) / s;
    report["output_tokens_per_s"] = static_cast<double>(out_tokens) / s;
  }
  if (!o.output_json.empty()) {
    std::ofstream f(o.output_json);
    PAGODA_CHECK(f.good(), Io, fmt::format("cannot write {}", o.output_json),
                 "check the directory exists and is writable");
    f << report.dump(2) << "\n";
  }
  return 0;
}

}  // namespace pagoda::cli
