// The GPU sampler (ops::sample_tokens, and Sampler::sample on device logits) against the CPU
// sampler on the same logits and the same seeds (every parameter: temperature, top-k, top-p,
// min-p, penalties, logit bias, min_tokens, ties), and against a float64 reference distribution:
// with stratified uniforms (i + 0.5) / N, each token must be chosen N * p times, give or take one.
// Degenerate rows (NaN, +inf, everything masked) take the argmax as on the CPU; bad records throw.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <random>
#include <string>
#include <vector>

#include "../common/expect_error.h"
#include "engine/sampler.h"
#include "gpu_test_util.h"
#include "ops/sample_tokens.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

Tensor random_logits(int64_t rows, int64_t vocab, float scale, float quantum, std::mt19937& rng) {
  Tensor t = Tensor::empty({rows, vocab}, DType::F32);
  std::normal_distribution<float> dist(0.0f, scale);
  float* x = t.mutable_data_as<float>();
  for (int64_t i = 0; i < t.numel(); ++i) {
    const float v = dist(rng);
    x[i] = quantum > 0.0f ? std::round(v / quantum) * quantum : v;  // quantum: many ties
  }
  return t;
}

// A request's parameters and the token history its penalties read.
struct Case {
  SamplingParams params;
  std::vector<int32_t> prompt, output, blocked;
  bool own_generator = false;
};

std::vector<Case> cases(int64_t vocab, std::mt19937& rng) {
  std::uniform_int_distribution<int32_t> token(0, static_cast<int32_t>(vocab) - 1);
  std::vector<Case> out;
  auto add = [&](auto configure) {
    Case c;
    configure(c.params);
    for (int i = 0; i < 40; ++i) c.prompt.push_back(token(rng));
    for (int i = 0; i < 25; ++i) c.output.push_back(i % 3 == 0 ? c.prompt[i] : token(rng));
    c.blocked = {token(rng), token(rng)};
    c.own_generator = out.size() % 2 == 1;
    out.push_back(c);
  };
  add([](SamplingParams& p) { p.temperature = 0.0; });
  add([](SamplingParams& p) { p.temperature = 1.0; });
  add([](SamplingParams& p) { p.temperature = 0.7; });
  add([](SamplingParams& p) { p.temperature = 1.3, p.top_k = 1; });
  add([](SamplingParams& p) { p.temperature = 0.9, p.top_k = 7; });
  add([](SamplingParams& p) { p.top_k = 300; });
  add([](SamplingParams& p) { p.top_p = 0.9; });
  add([](SamplingParams& p) { p.temperature = 0.6, p.top_p = 0.5; });
  add([](SamplingParams& p) { p.top_p = 0.999; });
  add([](SamplingParams& p) { p.min_p = 0.05; });
  add([](SamplingParams& p) { p.temperature = 0.8, p.top_k = 40, p.top_p = 0.8, p.min_p = 0.01; });
  add([](SamplingParams& p) { p.repetition_penalty = 1.3, p.top_p = 0.95; });
  add([](SamplingParams& p) { p.frequency_penalty = 0.5, p.presence_penalty = 0.4; });
  add([](SamplingParams& p) {
    p.temperature = 0.0, p.repetition_penalty = 0.8, p.frequency_penalty = -0.3;
  });
  add([&](SamplingParams& p) {
    p.logit_bias = {{3, 5.0}, {static_cast<int64_t>(vocab) - 1, -100.0}, {11, 2.5}};
    p.top_k = 20;
  });
  add([](SamplingParams& p) { p.min_tokens = 30, p.top_p = 0.7; });  // output is shorter: blocked
  add([](SamplingParams& p) { p.temperature = 0.0, p.min_tokens = 30; });
  return out;
}

// Samples every case on the CPU and on the GPU (the same logits, seeds and generators).
void expect_same_tokens(int64_t vocab, float quantum, uint64_t seed) {
  SCOPED_TRACE("vocab " + std::to_string(vocab) + " quantum " + std::to_string(quantum));
  std::mt19937 rng(static_cast<uint32_t>(seed));
  std::vector<Case> all = cases(vocab, rng);
  const int64_t rows = static_cast<int64_t>(all.size());
  const Tensor logits = random_logits(rows, vocab, 3.0f, quantum, rng);
  std::vector<std::mt19937_64> cpu_gens, gpu_gens;
  for (int64_t r = 0; r < rows; ++r) {
    cpu_gens.emplace_back(seed * 100 + static_cast<uint64_t>(r));
    gpu_gens.emplace_back(seed * 100 + static_cast<uint64_t>(r));
  }
  auto rows_for = [&](std::vector<std::mt19937_64>& gens) {
    std::vector<SamplerRow> out;
    for (int64_t r = 0; r < rows; ++r) {
      const Case& c = all[static_cast<size_t>(r)];
      SamplerRow row;
      row.params = &c.params;
      row.prompt_token_ids = c.prompt;
      row.output_token_ids = c.output;
      row.min_tokens_blocked = c.blocked;
      row.generator = c.own_generator ? &gens[static_cast<size_t>(r)] : nullptr;
      out.push_back(row);
    }
    return out;
  };
  const std::vector<SamplerRow> cpu_rows = rows_for(cpu_gens), gpu_rows = rows_for(gpu_gens);
  Sampler cpu(seed), gpu(seed);
  // Three steps: the generators advance the same way on both sides.
  for (int step = 0; step < 3; ++step) {
    Tensor host = logits.clone();
    Tensor device = logits.to(Device::cuda(0));
    std::vector<SampledToken> cpu_out(static_cast<size_t>(rows)),
        gpu_out(static_cast<size_t>(rows));
    cpu.sample(host, cpu_rows, cpu_out);
    gpu.sample(device, gpu_rows, gpu_out);
    for (int64_t r = 0; r < rows; ++r)
      EXPECT_EQ(gpu_out[static_cast<size_t>(r)].token, cpu_out[static_cast<size_t>(r)].token)
          << "row " << r << " step " << step;
  }
}

// float64 probabilities of every token under the CPU sampler's rules (no penalties).
std::vector<double> reference_probabilities(const float* x, int64_t vocab, double temperature,
                                            int64_t top_k, double top_p, double min_p) {
  std::vector<double> v(static_cast<size_t>(vocab));
  for (int64_t i = 0; i < vocab; ++i) v[static_cast<size_t>(i)] = x[i] / temperature;
  const double m = *std::max_element(v.begin(), v.end());
  std::vector<int64_t> order(static_cast<size_t>(vocab));
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) {
    return v[static_cast<size_t>(a)] > v[static_cast<size_t>(b)];
  });
  std::vector<bool> in(static_cast<size_t>(vocab), false);
  int64_t n = 0;
  for (const int64_t t : order)
    if (v[static_cast<size_t>(t)] - m >= std::log(std::max(min_p, 1e-300))) ++n;
  if (top_k > 0 && top_k < n) {
    const double kth = v[static_cast<size_t>(order[static_cast<size_t>(top_k - 1)])];
    n = top_k;
    while (n < vocab && v[static_cast<size_t>(order[static_cast<size_t>(n)])] == kth) ++n;
  }
  double total = 0.0;
  for (int64_t j = 0; j < n; ++j)
    total += std::exp(v[static_cast<size_t>(order[static_cast<size_t>(j)])] - m);
  double mass = 0.0;
  for (int64_t j = 0; j < n; ++j) {
    const int64_t t = order[static_cast<size_t>(j)];
    in[static_cast<size_t>(t)] = true;
    mass += std::exp(v[static_cast<size_t>(t)] - m);
    if (top_p < 1.0 && mass >= top_p * total) break;
  }
  std::vector<double> p(static_cast<size_t>(vocab), 0.0);
  double sum = 0.0;
  for (int64_t i = 0; i < vocab; ++i)
    if (in[static_cast<size_t>(i)])
      sum += p[static_cast<size_t>(i)] = std::exp(v[static_cast<size_t>(i)] - m);
  for (double& q : p) q /= sum;
  return p;
}

}  // namespace

TEST(SampleTokensCuda, SameTokensAsTheCpuSampler) {
  REQUIRE_GPU();
  expect_same_tokens(1000, 0.0f, 1);
  expect_same_tokens(50021, 0.0f, 2);   // a vocabulary not a multiple of anything
  expect_same_tokens(128256, 0.0f, 3);  // Llama 3's
  expect_same_tokens(5000, 0.5f, 4);    // heavy ties: the lower id first among equals
}

TEST(SampleTokensCuda, ManyRowsSortedInSeveralPasses) {
  REQUIRE_GPU();
  // More top-p rows than one radix-sort pass takes, and rows of every kind interleaved.
  std::mt19937 rng(7);
  const int64_t rows = 37, vocab = 32000;
  const Tensor logits = random_logits(rows, vocab, 2.0f, 0.0f, rng);
  std::vector<SamplingParams> params(static_cast<size_t>(rows));
  std::vector<SamplerRow> sampler_rows;
  for (int64_t r = 0; r < rows; ++r) {
    SamplingParams& p = params[static_cast<size_t>(r)];
    p.temperature = r % 5 == 0 ? 0.0 : 0.9;
    p.top_p = r % 3 == 0 ? 1.0 : 0.85;
    p.top_k = r % 4 == 1 ? 50 : 0;
    SamplerRow row;
    row.params = &p;
    sampler_rows.push_back(row);
  }
  Sampler cpu(11), gpu(11);
  Tensor host = logits.clone(), device = logits.to(Device::cuda(0));
  std::vector<SampledToken> a(static_cast<size_t>(rows)), b(static_cast<size_t>(rows));
  cpu.sample(host, sampler_rows, a);
  gpu.sample(device, sampler_rows, b);
  for (int64_t r = 0; r < rows; ++r)
    EXPECT_EQ(b[static_cast<size_t>(r)].token, a[static_cast<size_t>(r)].token) << "row " << r;
}

TEST(SampleTokensCuda, StratifiedDrawsFollowTheFloat64Distribution) {
  REQUIRE_GPU();
  struct Setting {
    double temperature;
    int32_t top_k;
    double top_p, min_p;
  };
  const Setting settings[] = {{1.0, 0, 1.0, 0.0},  {0.7, 0, 1.0, 0.0},  {1.0, 10, 1.0, 0.0},
                              {0.8, 0, 0.8, 0.0},  {1.2, 12, 0.7, 0.0}, {1.0, 0, 1.0, 0.1},
                              {0.9, 20, 0.9, 0.02}};
  std::mt19937 rng(5);
  const int64_t vocab = 64, n = 8192;
  for (const Setting& s : settings) {
    SCOPED_TRACE("T " + std::to_string(s.temperature) + " k " + std::to_string(s.top_k) + " p " +
                 std::to_string(s.top_p) + " min_p " + std::to_string(s.min_p));
    const Tensor row = random_logits(1, vocab, 1.5f, 0.0f, rng);
    Tensor logits = Tensor::empty({n, vocab}, DType::F32);
    for (int64_t i = 0; i < n; ++i)
      std::copy(row.data_as<float>(), row.data_as<float>() + vocab,
                logits.mutable_data_as<float>() + i * vocab);
    std::vector<ops::SampleRowParams> params(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) {
      ops::SampleRowParams& p = params[static_cast<size_t>(i)];
      p.uniform = (static_cast<double>(i) + 0.5) / static_cast<double>(n);
      p.temperature = static_cast<float>(s.temperature);
      p.top_k = s.top_k;
      p.top_p = s.top_p;
      p.min_p_log = s.min_p > 0 ? static_cast<float>(std::log(s.min_p)) : -INFINITY;
    }
    Tensor device = logits.to(Device::cuda(0));
    Tensor ids = Tensor::empty({n}, DType::I64, Device::cuda(0));
    Tensor poison = Tensor::empty({n}, DType::I64);
    std::fill(poison.mutable_data_as<int64_t>(), poison.mutable_data_as<int64_t>() + n, -1);
    ids.copy_from(poison);
    ops::sample_tokens(device, params, {}, ids);
    const Tensor host_ids = ids.to(Device::cpu());
    std::vector<int64_t> count(static_cast<size_t>(vocab), 0);
    for (int64_t i = 0; i < n; ++i) {
      const int64_t t = host_ids.data_as<int64_t>()[i];
      ASSERT_TRUE(t >= 0 && t < vocab) << "row " << i << " got " << t;
      ++count[static_cast<size_t>(t)];
    }
    const std::vector<double> p = reference_probabilities(row.data_as<float>(), vocab,
                                                          s.temperature, s.top_k, s.top_p, s.min_p);
    for (int64_t t = 0; t < vocab; ++t)
      EXPECT_NEAR(static_cast<double>(count[static_cast<size_t>(t)]), p[static_cast<size_t>(t)] * n,
                  1.01)
          << "token " << t;
  }
}

TEST(SampleTokensCuda, DegenerateRowsTakeTheArgmax) {
  REQUIRE_GPU();
  const int64_t vocab = 300;
  Tensor logits = Tensor::empty({4, vocab}, DType::F32);
  float* x = logits.mutable_data_as<float>();
  for (int64_t i = 0; i < logits.numel(); ++i) x[i] = static_cast<float>(i % 17) * 0.1f;
  x[0 * vocab + 123] = NAN;  // the first NaN
  x[0 * vocab + 200] = NAN;
  x[1 * vocab + 77] = INFINITY;
  for (int64_t i = 0; i < vocab; ++i) x[2 * vocab + i] = -INFINITY;
  std::vector<ops::SampleRowParams> params(4);
  for (auto& p : params) p.uniform = 0.5, p.top_p = 0.9;
  std::vector<ops::LogitEdit> edits;
  for (int32_t t = 0; t < vocab; ++t)
    edits.push_back({3, t, 0.0f, 0.0f, 0.0f, 1, 0});  // all blocked
  Tensor device = logits.to(Device::cuda(0));
  Tensor ids = Tensor::empty({4}, DType::I64, Device::cuda(0));
  ops::sample_tokens(device, params, edits, ids);
  const Tensor h = ids.to(Device::cpu());
  EXPECT_EQ(h.data_as<int64_t>()[0], 123);
  EXPECT_EQ(h.data_as<int64_t>()[1], 77);
  EXPECT_EQ(h.data_as<int64_t>()[2], 0);
  EXPECT_EQ(h.data_as<int64_t>()[3], 0);
}

TEST(SampleTokensCuda, BadRecordsAreRejected) {
  REQUIRE_GPU();
  Tensor device = Tensor::zeros({2, 50}, DType::F32, Device::cuda(0));
  Tensor ids = Tensor::empty({2}, DType::I64, Device::cuda(0));
  std::vector<ops::SampleRowParams> params(2);
  std::vector<ops::LogitEdit> edits = {{1, 50, 1.0f, 0.0f, 0.0f, 0, 0}};
  expect_error([&] { ops::sample_tokens(device, params, edits, ids); }, ErrorCode::InvalidArgument,
               {"edit"});
  params[1].top_k = 50;  // not below the vocabulary
  expect_error([&] { ops::sample_tokens(device, params, {}, ids); }, ErrorCode::InvalidArgument,
               {"top_k"});
  params[1].top_k = 0;
  params.pop_back();
  expect_error([&] { ops::sample_tokens(device, params, {}, ids); }, ErrorCode::InvalidArgument,
               {"parameter rows"});
  Tensor host = Tensor::zeros({1, 50}, DType::F32), host_ids = Tensor::empty({1}, DType::I64);
  expect_error([&] { ops::sample_tokens(host, params, {}, host_ids); }, ErrorCode::Unsupported,
               {"CUDA"});
}
