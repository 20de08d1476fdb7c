// Times Sampler::sample on Qwen-sized vocabularies (151936): microseconds per row for batches of
// 1, 32 and 256 rows, for greedy, plain sampling, top-k + top-p, top-p alone, min-p, and
// greedy with logprobs = 5. Every call gets a fresh copy of the logits (the sampler works in
// place); only the sample() call is timed. Every row has a 512-token prompt and 64 output tokens
// (penalties are off by default, so they only matter where a variant sets them).
//
// The logits are synthetic: N(0, sd) with a handful of boosted tokens, roughly the shape of an
// LLM's next-token distribution (a few likely tokens over a long flat tail).
//
// Usage: sampler_bench [--rows 1,32,256] [--vocab 151936] [--min-seconds 0.5]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "engine/sampler.h"
#include "pagoda/thread_pool.h"

namespace {

using Clock = std::chrono::steady_clock;

std::vector<int64_t> parse_list(const char* text) {
  std::vector<int64_t> out;
  std::stringstream ss(text);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(std::stoll(item));
  return out;
}

struct Variant {
  const char* name;
  pagoda::SamplingParams params;
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<int64_t> row_counts = {1, 32, 256};
  int64_t vocab = 151936;
  double min_seconds = 0.5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--rows")
      row_counts = parse_list(argv[i + 1]);
    else if (flag == "--vocab")
      vocab = std::stoll(argv[i + 1]);
    else if (flag == "--min-seconds")
      min_seconds = std::stod(argv[i + 1]);
    else {
      std::fprintf(stderr, "unknown flag %s\n", argv[i]);
      return 2;
    }
  }

  std::vector<Variant> variants(6);
  variants[0].name = "greedy";
  variants[0].params.temperature = 0.0;
  variants[1].name = "sample (t=0.8)";
  variants[1].params.temperature = 0.8;
  variants[2].name = "top-k 50 + top-p 0.9";
  variants[2].params.top_k = 50;
  variants[2].params.top_p = 0.9;
  variants[3].name = "top-p 0.9";
  variants[3].params.top_p = 0.9;
  variants[4].name = "min-p 0.05";
  variants[4].params.min_p = 0.05;
  variants[5].name = "greedy + logprobs 5";
  variants[5].params.temperature = 0.0;
  variants[5].params.logprobs = 5;

  std::printf(
      "vocab %lld, %d threads; microseconds per row (fastest call: the machine is shared)\n",
      static_cast<long long>(vocab), pagoda::ThreadPool::global().num_threads());
  std::printf("%-24s", "variant");
  for (int64_t rows : row_counts) std::printf(" %10lld rows", static_cast<long long>(rows));
  std::printf("\n");

  const int64_t max_rows = *std::max_element(row_counts.begin(), row_counts.end());
  std::mt19937_64 gen(1);
  std::normal_distribution<float> normal(0.0f, 2.0f);
  std::vector<float> source(static_cast<size_t>(max_rows * vocab));
  for (auto& v : source) v = normal(gen);
  for (int64_t r = 0; r < max_rows; ++r)
    for (int j = 0; j < 8; ++j)
      source[static_cast<size_t>(r * vocab + (gen() % vocab))] += 12.0f - j;
  const std::vector<int32_t> prompt(512, 7), output(64, 9);

  pagoda::Sampler sampler(7);
  for (const Variant& v : variants) {
    std::printf("%-24s", v.name);
    for (int64_t rows : row_counts) {
      pagoda::Tensor logits = pagoda::Tensor::empty({rows, vocab}, pagoda::DType::F32);
      float* data = logits.mutable_data_as<float>();
      const size_t bytes = static_cast<size_t>(rows * vocab) * sizeof(float);
      std::vector<pagoda::SamplerRow> srows(
          static_cast<size_t>(rows), pagoda::SamplerRow{&v.params, prompt, output, nullptr, {}});
      std::vector<pagoda::SampledToken> out(static_cast<size_t>(rows));
      std::vector<double> times;
      const auto start = Clock::now();
      while (times.size() < 3 ||
             std::chrono::duration<double>(Clock::now() - start).count() < min_seconds) {
        std::memcpy(data, source.data(), bytes);
        const auto t1 = Clock::now();
        sampler.sample(logits, srows, out);
        const auto t2 = Clock::now();
        times.push_back(std::chrono::duration<double>(t2 - t1).count());
      }
      std::sort(times.begin(), times.end());
      std::printf(" %15.1f", times.front() * 1e6 / static_cast<double>(rows));
    }
    std::printf("\n");
  }
  return 0;
}
