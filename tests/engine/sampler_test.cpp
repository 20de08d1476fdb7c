// The sampler against independently computed expectations: token sets of top-k / top-p / min-p,
// seeded reproducibility, the greedy limit, sampled frequencies against the softmax, penalties and
// bias against hand-computed logits, min_tokens, and raw logprobs against a float64 log_softmax.
#include "engine/sampler.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <random>
#include <set>
#include <vector>

#include "pagoda/error.h"

namespace pagoda {
namespace {

constexpr float kNegInf = -std::numeric_limits<float>::infinity();

Tensor make_logits(const std::vector<std::vector<float>>& rows) {
  const int64_t vocab = static_cast<int64_t>(rows.at(0).size());
  Tensor t = Tensor::empty({static_cast<int64_t>(rows.size()), vocab}, DType::F32);
  float* d = t.mutable_data_as<float>();
  for (size_t r = 0; r < rows.size(); ++r) std::copy(rows[r].begin(), rows[r].end(), d + r * vocab);
  return t;
}

std::vector<float> random_logits(int64_t vocab, uint64_t seed, float scale = 3.0f) {
  std::mt19937_64 gen(seed);
  std::vector<float> x(static_cast<size_t>(vocab));
  // Distinct values (no ties) from the generator's raw bits: deterministic on any library.
  for (auto& v : x)
    v = scale * static_cast<float>(static_cast<double>(gen() >> 11) * 0x1.0p-53 * 4.0 - 2.0);
  return x;
}

// Samples one row `draws` times (a fresh copy of the logits each time) with one Sampler.
std::vector<int32_t> sample_many(const std::vector<float>& logits, const SamplingParams& params,
                                 int draws, uint64_t seed) {
  Sampler sampler(seed);
  std::vector<int32_t> tokens;
  SamplerRow row{&params, {}, {}, nullptr, {}};
  for (int i = 0; i < draws; ++i) {
    Tensor t = make_logits({logits});
    SampledToken out;
    sampler.sample(t, std::span(&row, 1), std::span(&out, 1));
    tokens.push_back(out.token);
  }
  return tokens;
}

// float64 softmax of logits / temperature.
std::vector<double> softmax64(const std::vector<float>& x, double temperature = 1.0) {
  double m = -INFINITY;
  for (float v : x) m = std::max(m, v / temperature);
  std::vector<double> p(x.size());
  double sum = 0;
  for (size_t i = 0; i < x.size(); ++i) sum += p[i] = std::exp(x[i] / temperature - m);
  for (auto& v : p) v /= sum;
  return p;
}

// Token ids ordered most likely first (ties: lower id).
std::vector<int32_t> by_probability(const std::vector<double>& p) {
  std::vector<int32_t> order(p.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) { return p[a] > p[b]; });
  return order;
}

// The smallest set of most likely tokens whose probability reaches top_p; asserts the boundary is
// not so close that f32 rounding could move it (unless check_margin is false).
std::set<int32_t> nucleus(const std::vector<double>& p, double top_p, bool check_margin = true) {
  std::set<int32_t> kept;
  double mass = 0;
  for (int32_t t : by_probability(p)) {
    kept.insert(t);
    mass += p[t];
    if (mass >= top_p) {
      if (!check_margin) break;
      EXPECT_GT(mass - top_p, 1e-4) << "test logits put the nucleus boundary too close to top_p";
      EXPECT_GT(top_p - (mass - p[t]), 1e-4);
      break;
    }
  }
  return kept;
}

void expect_all_in(const std::vector<int32_t>& tokens, const std::set<int32_t>& allowed) {
  std::set<int32_t> seen;
  for (int32_t t : tokens) {
    ASSERT_TRUE(allowed.count(t)) << "sampled token " << t << " outside the allowed set";
    seen.insert(t);
  }
  // Many draws from a small set reach every member (guards against an always-argmax sampler).
  if (allowed.size() <= 8 && tokens.size() >= 2000) {
    EXPECT_EQ(seen, allowed);
  }
}

TEST(SamplerTest, GreedyTakesArgmaxWithTiesToLowestId) {
  SamplingParams greedy;
  greedy.temperature = 0.0;
  const std::vector<float> x = {0.5f, 3.0f, -1.0f, 3.0f, 2.9f};
  for (int32_t t : sample_many(x, greedy, 5, 1)) EXPECT_EQ(t, 1);
  const std::vector<float> all_equal(7, 0.25f);
  for (int32_t t : sample_many(all_equal, greedy, 3, 1)) EXPECT_EQ(t, 0);
}

TEST(SamplerTest, TemperatureTowardZeroIsGreedy) {
  const std::vector<float> x = random_logits(2000, 7);
  const int32_t argmax = static_cast<int32_t>(std::max_element(x.begin(), x.end()) - x.begin());
  SamplingParams cold;
  cold.temperature = 1e-4;  // above vLLM's greedy threshold: this still takes the random path
  ASSERT_FALSE(cold.greedy());
  for (int32_t t : sample_many(x, cold, 200, 3)) EXPECT_EQ(t, argmax);
  cold.temperature = 9e-6;  // below it: greedy
  ASSERT_TRUE(cold.greedy());
  for (int32_t t : sample_many(x, cold, 5, 3)) EXPECT_EQ(t, argmax);
}

TEST(SamplerTest, TopKNeverLeavesTheKMostLikely) {
  const std::vector<float> x = random_logits(500, 11, 1.0f);
  SamplingParams params;
  params.top_k = 6;
  const std::vector<int32_t> order = by_probability(softmax64(x));
  const std::set<int32_t> top6(order.begin(), order.begin() + 6);
  expect_all_in(sample_many(x, params, 3000, 5), top6);
  // top_k at or above the vocabulary disables it (vLLM clamps); -1 too.
  params.top_k = 500;
  std::set<int32_t> seen;
  for (int32_t t : sample_many(x, params, 500, 5)) seen.insert(t);
  EXPECT_GT(seen.size(), 100u);
}

TEST(SamplerTest, TopKKeepsTiesAtTheKthValue) {
  // vLLM masks values below the k-th largest: tokens tied with it stay.
  const std::vector<float> x = {1.0f, 2.0f, 1.5f, 1.5f, 0.0f, 1.5f, -1.0f};
  SamplingParams params;
  params.top_k = 2;
  expect_all_in(sample_many(x, params, 3000, 9), {1, 2, 3, 5});
}

TEST(SamplerTest, TopPNeverLeavesTheNucleus) {
  const std::vector<float> x = random_logits(300, 13, 2.0f);
  for (double top_p : {0.1, 0.5, 0.8}) {
    for (double temperature : {1.0, 0.7}) {
      SamplingParams params;
      params.top_p = top_p;
      params.temperature = temperature;
      const std::set<int32_t> kept = nucleus(softmax64(x, temperature), top_p);
      expect_all_in(sample_many(x, params, 1500, 17), kept);
    }
  }
}

TEST(SamplerTest, TopPAlwaysKeepsTheMostLikelyToken) {
  const std::vector<float> x = {0.0f, 5.0f, 1.0f, 0.5f};
  SamplingParams params;
  params.top_p = 1e-6;
  for (int32_t t : sample_many(x, params, 200, 2)) EXPECT_EQ(t, 1);
}

TEST(SamplerTest, TopKThenTopPOnTheRenormalisedTopK) {
  const std::vector<float> x = random_logits(400, 19, 1.5f);
  SamplingParams params;
  params.top_k = 20;
  params.top_p = 0.6;
  std::vector<double> p = softmax64(x);
  const std::vector<int32_t> order = by_probability(p);
  std::vector<double> renorm(p.size(), 0.0);
  double mass = 0;
  for (int i = 0; i < 20; ++i) mass += p[order[i]];
  for (int i = 0; i < 20; ++i) renorm[order[i]] = p[order[i]] / mass;
  const std::set<int32_t> kept = nucleus(renorm, 0.6);
  ASSERT_LT(kept.size(), 20u);
  expect_all_in(sample_many(x, params, 2000, 23), kept);
}

TEST(SamplerTest, MinPDropsTokensBelowTheScaledMaximum) {
  const std::vector<float> x = {2.0f, 1.0f, 0.2f, 1.9f, -3.0f, 0.6f, 1.4f};
  for (double temperature : {1.0, 0.5}) {
    SamplingParams params;
    params.min_p = 0.3;
    params.temperature = temperature;
    const std::vector<double> p = softmax64(x, temperature);
    const double pmax = *std::max_element(p.begin(), p.end());
    std::set<int32_t> kept;
    for (size_t i = 0; i < p.size(); ++i) {
      ASSERT_GT(std::abs(p[i] - 0.3 * pmax), 1e-4) << "boundary too close for token " << i;
      if (p[i] >= 0.3 * pmax) kept.insert(static_cast<int32_t>(i));
    }
    ASSERT_LT(kept.size(), x.size());
    expect_all_in(sample_many(x, params, 3000, 29), kept);
  }
}

TEST(SamplerTest, MinPWithTopKAndTopP) {
  const std::vector<float> x = random_logits(1000, 31, 2.0f);
  SamplingParams params;
  params.min_p = 0.2;
  params.top_k = 50;
  params.top_p = 0.95;
  const std::vector<double> p = softmax64(x);
  const double pmax = *std::max_element(p.begin(), p.end());
  std::set<int32_t> min_p_set;
  for (size_t i = 0; i < p.size(); ++i)
    if (p[i] >= 0.2 * pmax) min_p_set.insert(static_cast<int32_t>(i));
  expect_all_in(sample_many(x, params, 1000, 37), min_p_set);
}

TEST(SamplerTest, FrequenciesMatchTheSoftmax) {
  // Chi-square goodness of fit: 8 tokens (df = 7), 40000 draws with a fixed seed. The 0.1%
  // critical value of chi2(7) is 24.32: a correct sampler fails this with probability 0.001 for a
  // random seed, and the fixed seed makes the outcome deterministic.
  const std::vector<float> x = {1.0f, 0.2f, -0.5f, 2.0f, 0.0f, 1.5f, -1.0f, 0.7f};
  for (double temperature : {1.0, 0.6, 1.8}) {
    SamplingParams params;
    params.temperature = temperature;
    const int draws = 40000;
    std::vector<int> counts(x.size(), 0);
    for (int32_t t : sample_many(x, params, draws, 2024)) ++counts.at(t);
    const std::vector<double> p = softmax64(x, temperature);
    double chi2 = 0;
    for (size_t i = 0; i < x.size(); ++i) {
      const double expected = draws * p[i];
      chi2 += (counts[i] - expected) * (counts[i] - expected) / expected;
    }
    EXPECT_LT(chi2, 24.32) << "temperature " << temperature;
  }
}

TEST(SamplerTest, FrequenciesWithinTopKMatchTheRenormalisedSoftmax) {
  // Top-k 4 of 10 tokens: df = 3, 0.1% critical value 16.27.
  const std::vector<float> x = {0.3f, 1.1f, -0.4f, 0.9f, 2.0f, 0.0f, 1.6f, -2.0f, 0.5f, 0.1f};
  SamplingParams params;
  params.top_k = 4;
  const int draws = 30000;
  std::vector<int> counts(x.size(), 0);
  for (int32_t t : sample_many(x, params, draws, 77)) ++counts.at(t);
  const std::vector<int32_t> top = {4, 6, 1, 3};
  double mass = 0;
  const std::vector<double> p = softmax64(x);
  for (int32_t t : top) mass += p[t];
  double chi2 = 0;
  int inside = 0;
  for (int32_t t : top) {
    const double expected = draws * p[t] / mass;
    chi2 += (counts[t] - expected) * (counts[t] - expected) / expected;
    inside += counts[t];
  }
  EXPECT_EQ(inside, draws);
  EXPECT_LT(chi2, 16.27);
}

TEST(SamplerTest, FixedSeedReproducesAndSeedsDiffer) {
  const std::vector<float> x = random_logits(5000, 41, 0.5f);
  SamplingParams params;
  params.top_p = 0.9;
  const auto a = sample_many(x, params, 50, 123);
  EXPECT_EQ(a, sample_many(x, params, 50, 123));
  EXPECT_NE(a, sample_many(x, params, 50, 124));

  // A request's own generator: the same seed gives the same tokens wherever the row sits in the
  // batch and whatever the other rows do.
  SamplingParams seeded;
  seeded.top_k = 100;
  SamplingParams other;
  other.temperature = 0.8;
  auto run = [&](int position, int batch) {
    std::mt19937_64 gen(99);
    Sampler sampler(position * 1000 + batch);
    std::vector<int32_t> tokens;
    for (int step = 0; step < 20; ++step) {
      std::vector<SamplerRow> rows(static_cast<size_t>(batch),
                                   SamplerRow{&other, {}, {}, nullptr, {}});
      rows[static_cast<size_t>(position)] = SamplerRow{&seeded, {}, {}, &gen, {}};
      Tensor t = make_logits(std::vector<std::vector<float>>(static_cast<size_t>(batch), x));
      std::vector<SampledToken> out(static_cast<size_t>(batch));
      sampler.sample(t, rows, out);
      tokens.push_back(out[static_cast<size_t>(position)].token);
    }
    return tokens;
  };
  const auto alone = run(0, 1);
  EXPECT_EQ(alone, run(2, 5));
  EXPECT_EQ(alone, run(6, 7));
}

TEST(SamplerTest, PenaltiesAndBiasMatchVllmsFormulas) {
  SamplingParams params;
  params.repetition_penalty = 2.0;
  params.frequency_penalty = 0.5;
  params.presence_penalty = 0.25;
  params.logit_bias = {{2, 1.5}, {5, -0.75}};
  params.min_tokens = 4;
  const std::vector<int32_t> prompt = {0, 4, 3, 0};
  const std::vector<int32_t> output = {1, 3, 3};
  const std::vector<int32_t> blocked = {6};
  std::vector<float> x = {2.0f, -1.0f, 0.5f, 3.0f, -2.0f, 0.0f, 1.0f, 4.0f};
  SamplerRow row{&params, prompt, output, nullptr, blocked};
  apply_logits_processing(row, x);
  // Repetition once per distinct prompt/output token (x > 0: x / 2, else x * 2), then
  // frequency 0.5 * count and presence 0.25 for output tokens; bias before all of them.
  EXPECT_FLOAT_EQ(x[0], 1.0f);                          // prompt: 2 / 2
  EXPECT_FLOAT_EQ(x[1], -1.0f * 2 - 0.5f * 1 - 0.25f);  // output once
  EXPECT_FLOAT_EQ(x[2], 2.0f);                          // bias only: 0.5 + 1.5
  EXPECT_FLOAT_EQ(x[3], 3.0f / 2 - 0.5f * 2 - 0.25f);   // prompt and output twice: one repetition
  EXPECT_FLOAT_EQ(x[4], -4.0f);                         // prompt: -2 * 2
  EXPECT_FLOAT_EQ(x[5], -0.75f);                        // bias only: 0 * anything stays 0 + bias
  EXPECT_EQ(x[6], kNegInf);                             // blocked: 3 outputs < min_tokens 4
  EXPECT_FLOAT_EQ(x[7], 4.0f);                          // untouched

  // A biased token that is also repeated: bias first, then the penalty sees the biased logit.
  SamplingParams both;
  both.repetition_penalty = 1.5;
  both.logit_bias = {{0, -3.0}};
  std::vector<float> y = {1.0f, 1.0f};
  const std::vector<int32_t> repeated = {0};
  apply_logits_processing(SamplerRow{&both, repeated, {}, nullptr, {}}, y);
  EXPECT_FLOAT_EQ(y[0], -2.0f * 1.5f);
  EXPECT_FLOAT_EQ(y[1], 1.0f);
}

TEST(SamplerTest, ScratchCountsAreLeftZero) {
  SamplingParams params;
  params.frequency_penalty = 1.0;
  params.repetition_penalty = 1.2;
  std::vector<int32_t> counts(16, 0);
  std::vector<float> x(16, 1.0f);
  const std::vector<int32_t> prompt = {1, 2, 2, 15};
  const std::vector<int32_t> output = {2, 9, 9, 9};
  apply_logits_processing(SamplerRow{&params, prompt, output, nullptr, {}}, x, counts);
  EXPECT_EQ(counts, std::vector<int32_t>(16, 0));
  EXPECT_FLOAT_EQ(x[9], 1.0f / 1.2f - 3.0f);
  // A bad id is reported before anything changes.
  const std::vector<int32_t> bad = {3, 16};
  EXPECT_THROW(apply_logits_processing(SamplerRow{&params, prompt, bad, nullptr, {}}, x, counts),
               Error);
  EXPECT_EQ(counts, std::vector<int32_t>(16, 0));
}

TEST(SamplerTest, MinTokensBlocksEosUntilReached) {
  SamplingParams params;
  params.temperature = 0.0;
  params.min_tokens = 3;
  std::vector<float> x(10, 0.0f);
  x[2] = 10.0f;  // EOS, by far the most likely
  x[7] = 9.0f;   // a stop token id
  x[4] = 1.0f;
  const std::vector<int32_t> blocked = {2, 7};
  Sampler sampler(1);
  for (int generated = 0; generated <= 4; ++generated) {
    const std::vector<int32_t> output(static_cast<size_t>(generated), 4);
    SamplerRow row{&params, {}, output, nullptr, blocked};
    Tensor t = make_logits({x});
    SampledToken out;
    sampler.sample(t, std::span(&row, 1), std::span(&out, 1));
    EXPECT_EQ(out.token, generated < 3 ? 4 : 2) << generated << " tokens generated";
  }
  // Random sampling too: never EOS or stop while blocked.
  params.temperature = 1.0;
  const std::vector<int32_t> one = {4};
  SamplerRow row{&params, {}, one, nullptr, blocked};
  for (int i = 0; i < 300; ++i) {
    Tensor t = make_logits({x});
    SampledToken out;
    sampler.sample(t, std::span(&row, 1), std::span(&out, 1));
    EXPECT_NE(out.token, 2);
    EXPECT_NE(out.token, 7);
  }
}

// float64 log_softmax.
std::vector<double> log_softmax64(const std::vector<float>& x) {
  double m = -INFINITY;
  for (float v : x) m = std::max<double>(m, v);
  double sum = 0;
  for (float v : x) sum += std::exp(v - m);
  std::vector<double> lp(x.size());
  for (size_t i = 0; i < x.size(); ++i) lp[i] = x[i] - m - std::log(sum);
  return lp;
}

void expect_logprobs(const std::vector<float>& raw, const SampledToken& out, int64_t top_n) {
  const std::vector<double> lp = log_softmax64(raw);
  EXPECT_NEAR(out.logprob, lp[out.token], 2e-5);
  int64_t rank = 0;
  for (double v : lp) rank += v >= lp[out.token];
  EXPECT_EQ(out.rank, rank);
  const std::vector<int32_t> order = by_probability(lp);
  ASSERT_EQ(static_cast<int64_t>(out.top.size()), std::min<int64_t>(top_n, raw.size()));
  for (size_t j = 0; j < out.top.size(); ++j) {
    EXPECT_EQ(out.top[j].token, order[j]) << "position " << j;
    EXPECT_NEAR(out.top[j].logprob, lp[order[j]], 2e-5);
    EXPECT_EQ(out.top[j].rank, static_cast<int64_t>(j) + 1);
  }
}

TEST(SamplerTest, LogprobsComeFromTheRawLogits) {
  const std::vector<float> raw = random_logits(3000, 43, 4.0f);
  SamplingParams params;
  params.logprobs = 5;
  params.temperature = 0.5;
  params.repetition_penalty = 1.7;
  params.logit_bias = {{17, 50.0}};  // processed logits would make 17 the certain choice
  const std::vector<int32_t> prompt = {1, 2, 3};
  Sampler sampler(5);
  for (int i = 0; i < 5; ++i) {
    SamplerRow row{&params, prompt, {}, nullptr, {}};
    Tensor t = make_logits({raw});
    SampledToken out;
    sampler.sample(t, std::span(&row, 1), std::span(&out, 1));
    EXPECT_EQ(out.token, 17);
    expect_logprobs(raw, out, 5);
    EXPECT_GT(out.rank, 5);  // 17 is not likely under the raw logits
  }
}

TEST(SamplerTest, LogprobsTiesZeroAllAndUnset) {
  const std::vector<float> raw = {1.0f, 3.0f, 3.0f, -2.0f, 3.0f, 0.5f};
  SamplingParams params;
  params.temperature = 0.0;
  params.logprobs = 3;
  Sampler sampler(1);
  auto run = [&](const SamplingParams& p) {
    SamplerRow row{&p, {}, {}, nullptr, {}};
    Tensor t = make_logits({raw});
    SampledToken out;
    out.top = {{9, 9.0f, 9}};  // stale content must be replaced
    sampler.sample(t, std::span(&row, 1), std::span(&out, 1));
    return out;
  };
  SampledToken out = run(params);
  EXPECT_EQ(out.token, 1);
  EXPECT_EQ(out.rank, 3);  // three tokens share the top logprob: vLLM counts >=
  expect_logprobs(raw, out, 3);
  ASSERT_EQ(out.top.size(), 3u);
  EXPECT_EQ(out.top[0].token, 1);
  EXPECT_EQ(out.top[1].token, 2);
  EXPECT_EQ(out.top[2].token, 4);

  params.logprobs = 0;  // only the sampled token
  out = run(params);
  EXPECT_TRUE(out.top.empty());
  expect_logprobs(raw, out, 0);

  params.logprobs = -1;  // the whole vocabulary, sorted
  out = run(params);
  expect_logprobs(raw, out, 6);

  params.logprobs = std::nullopt;
  out = run(params);
  EXPECT_TRUE(out.top.empty());
  EXPECT_TRUE(std::isnan(out.logprob));
  EXPECT_EQ(out.rank, 0);
}

TEST(SamplerTest, PromptLogprobs) {
  std::vector<std::vector<float>> rows;
  for (uint64_t s = 0; s < 6; ++s) rows.push_back(random_logits(777, 100 + s, 5.0f));
  const std::vector<int32_t> next = {0, 5, 776, 300, 12, 12};
  const Tensor logits = make_logits(rows);
  std::vector<SampledToken> out(next.size());
  compute_token_logprobs(logits, next, 4, out);
  for (size_t i = 0; i < next.size(); ++i) {
    EXPECT_EQ(out[i].token, next[i]);
    expect_logprobs(rows[i], out[i], 4);
  }
  // The logits are not modified.
  EXPECT_EQ(logits.data_as<float>()[0], rows[0][0]);
  const std::vector<int32_t> bad = {0, 1, 2, 3, 4, 777};
  EXPECT_THROW(compute_token_logprobs(logits, bad, 4, out), Error);
}

TEST(SamplerTest, MixedBatchEqualsRowsAlone) {
  // Rows with different params in one batch give what each gives alone (seeded rows use their
  // own generators; greedy rows use none).
  const int64_t vocab = 4096;
  std::vector<SamplingParams> params(6);
  params[0].temperature = 0.0;
  params[1].top_k = 40;
  params[2].top_p = 0.7;
  params[2].temperature = 0.8;
  params[3].min_p = 0.05;
  params[3].logprobs = 2;
  params[4].temperature = 0.0;
  params[4].presence_penalty = 1.5;
  params[5].top_k = 10;
  params[5].top_p = 0.5;
  params[5].frequency_penalty = 0.3;
  const std::vector<int32_t> output = {5, 6, 7, 5};
  const int batch = 40;
  std::vector<std::vector<float>> logits;
  for (int r = 0; r < batch; ++r) logits.push_back(random_logits(vocab, 500 + r, 3.0f));
  auto make_rows = [&](std::vector<std::mt19937_64>& gens) {
    std::vector<SamplerRow> rows;
    for (int r = 0; r < batch; ++r)
      rows.push_back(SamplerRow{&params[static_cast<size_t>(r) % params.size()],
                                {},
                                output,
                                &gens[static_cast<size_t>(r)],
                                {}});
    return rows;
  };
  std::vector<std::mt19937_64> gens;
  for (int r = 0; r < batch; ++r) gens.emplace_back(1000 + r);
  const std::vector<SamplerRow> rows = make_rows(gens);
  Tensor t = make_logits(logits);
  std::vector<SampledToken> out(static_cast<size_t>(batch));
  Sampler sampler(1);
  sampler.sample(t, rows, out);

  std::vector<std::mt19937_64> gens2;
  for (int r = 0; r < batch; ++r) gens2.emplace_back(1000 + r);
  const std::vector<SamplerRow> rows2 = make_rows(gens2);
  for (int r = 0; r < batch; ++r) {
    Tensor one = make_logits({logits[static_cast<size_t>(r)]});
    SampledToken alone;
    Sampler(2).sample(one, std::span(&rows2[static_cast<size_t>(r)], 1), std::span(&alone, 1));
    EXPECT_EQ(out[static_cast<size_t>(r)].token, alone.token) << "row " << r;
    EXPECT_EQ(out[static_cast<size_t>(r)].top.size(), alone.top.size());
  }
  // Greedy rows took the argmax of the processed row.
  const auto& x0 = logits[0];
  EXPECT_EQ(out[0].token, std::max_element(x0.begin(), x0.end()) - x0.begin());
}

TEST(SamplerTest, LargeVocabularyTopPAndTopK) {
  // Qwen-sized rows exercise the threshold search of top-p alone and the heap of top-k.
  const int64_t vocab = 151936;
  const std::vector<float> x = random_logits(vocab, 4242, 6.0f);
  const std::vector<double> p = softmax64(x);
  SamplingParams top_p;
  top_p.top_p = 0.5;
  // Tokens this small sit within f32 rounding of any boundary: allow the nucleus of 0.5 + 1e-4.
  const std::set<int32_t> kept = nucleus(p, 0.5 + 1e-4, false);
  for (int32_t t : sample_many(x, top_p, 20, 8)) EXPECT_TRUE(kept.count(t)) << t;
  SamplingParams top_k;
  top_k.top_k = 64;
  const std::vector<int32_t> order = by_probability(p);
  const std::set<int32_t> top64(order.begin(), order.begin() + 64);
  for (int32_t t : sample_many(x, top_k, 20, 8)) EXPECT_TRUE(top64.count(t)) << t;
}

TEST(SamplerTest, DegenerateRowsDoNotCrash) {
  SamplingParams params;
  params.logprobs = 2;
  std::vector<float> masked(5, kNegInf);
  EXPECT_EQ(sample_many(masked, params, 1, 1)[0], 0);
  std::vector<float> with_nan = {0.0f, 1.0f, std::numeric_limits<float>::quiet_NaN(), 2.0f};
  EXPECT_EQ(sample_many(with_nan, params, 1, 1)[0], 2);
  params.top_p = 0.5;
  params.top_k = 2;
  EXPECT_EQ(sample_many(masked, params, 1, 1)[0], 0);
}

TEST(SamplerTest, RejectsBadArguments) {
  SamplingParams params;
  Sampler sampler(1);
  SampledToken out;
  const std::vector<int32_t> bad_output = {3, 8};
  SamplerRow bad{&params, {}, bad_output, nullptr, {}};
  params.presence_penalty = 1.0;
  Tensor t = make_logits({std::vector<float>(8, 0.0f)});
  EXPECT_THROW(sampler.sample(t, std::span(&bad, 1), std::span(&out, 1)), Error);

  SamplerRow no_params{nullptr, {}, {}, nullptr, {}};
  EXPECT_THROW(sampler.sample(t, std::span(&no_params, 1), std::span(&out, 1)), Error);

  SamplerRow ok{&params, {}, {}, nullptr, {}};
  Tensor wrong_dtype = Tensor::zeros({1, 8}, DType::BF16);
  EXPECT_THROW(sampler.sample(wrong_dtype, std::span(&ok, 1), std::span(&out, 1)), Error);
  Tensor two_rows = make_logits({std::vector<float>(8, 0.0f), std::vector<float>(8, 0.0f)});
  EXPECT_THROW(sampler.sample(two_rows, std::span(&ok, 1), std::span(&out, 1)), Error);
  Tensor one_dim = Tensor::zeros({8}, DType::F32);
  EXPECT_THROW(sampler.sample(one_dim, std::span(&ok, 1), std::span(&out, 1)), Error);
  Tensor strided = make_logits({std::vector<float>(8, 0.0f)}).slice(1, 0, 8, 2);
  EXPECT_THROW(sampler.sample(strided, std::span(&ok, 1), std::span(&out, 1)), Error);
}

}  // namespace
}  // namespace pagoda
