// The device sampler's records (engine/device_sampling.h) against the CPU sampler: applying the
// edits with the device's formula, on the host, must give the logits apply_logits_processing
// gives, bit for bit, for every mix of bias, min_tokens and penalties; the row parameters carry
// the request's values; bad token ids throw as on the CPU.
#include "engine/device_sampling.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>
#include <vector>

#include "pagoda/error.h"

namespace pagoda {
namespace {

// ops/sample_tokens.h's edit, applied on the host.
void apply(const ops::LogitEdit& e, float rep, float* x) {
  float v = x[e.token] + e.bias;
  if (e.blocked) v = -std::numeric_limits<float>::infinity();
  if (e.repeat) v = v > 0.0f ? v / rep : v * rep;
  v -= e.frequency;
  v -= e.presence;
  x[e.token] = v;
}

struct Request {
  SamplingParams params;
  std::vector<int32_t> prompt, output, blocked;
};

TEST(DeviceSamplingRecords, EditsReproduceTheCpuProcessing) {
  const int64_t vocab = 97;
  std::mt19937 rng(3);
  std::uniform_int_distribution<int32_t> token(0, vocab - 1);
  std::normal_distribution<float> logit(0.0f, 2.0f);
  std::vector<Request> requests;
  for (int i = 0; i < 64; ++i) {
    Request q;
    SamplingParams& p = q.params;
    p.temperature = i % 4 == 0 ? 0.0 : 0.8;
    if (i % 2 == 0) p.repetition_penalty = i % 3 == 0 ? 1.4 : 0.7;
    if (i % 3 == 1) p.frequency_penalty = 0.6;
    if (i % 5 < 2) p.presence_penalty = -0.5;
    if (i % 7 < 3) p.logit_bias = {{token(rng), 3.0}, {token(rng), -1.5}};
    if (i % 6 == 0) p.min_tokens = 10;
    const int prompt_len = i % 9, output_len = i % 13;
    for (int j = 0; j < prompt_len; ++j) q.prompt.push_back(token(rng));
    for (int j = 0; j < output_len; ++j)
      q.output.push_back(j % 2 == 0 && prompt_len > 0 ? q.prompt[0] : token(rng));
    q.blocked = {token(rng), token(rng)};
    requests.push_back(q);
  }
  std::vector<SamplerRow> rows;
  std::vector<double> uniforms;
  for (const Request& q : requests) {
    SamplerRow row;
    row.params = &q.params;
    row.prompt_token_ids = q.prompt;
    row.output_token_ids = q.output;
    row.min_tokens_blocked = q.blocked;
    rows.push_back(row);
    uniforms.push_back(0.25);
  }
  DeviceSamplingRecords records;
  records.build(rows, uniforms, vocab);
  ASSERT_EQ(records.rows.size(), rows.size());
  std::vector<std::vector<float>> device(rows.size()), cpu(rows.size());
  for (size_t r = 0; r < rows.size(); ++r) {
    device[r].resize(vocab);
    for (float& v : device[r]) v = logit(rng);
    cpu[r] = device[r];
    apply_logits_processing(rows[r], cpu[r]);
  }
  for (const ops::LogitEdit& e : records.edits) {
    ASSERT_GE(e.row, 0);
    ASSERT_LT(e.row, static_cast<int32_t>(rows.size()));
    apply(e, records.rows[static_cast<size_t>(e.row)].repetition,
          device[static_cast<size_t>(e.row)].data());
  }
  for (size_t r = 0; r < rows.size(); ++r)
    for (int64_t t = 0; t < vocab; ++t) {
      const float a = device[r][static_cast<size_t>(t)], b = cpu[r][static_cast<size_t>(t)];
      EXPECT_EQ(std::memcmp(&a, &b, sizeof a), 0)
          << "row " << r << " token " << t << ": " << a << " vs " << b;
    }
  // At most one edit per (row, token).
  std::vector<std::vector<int>> seen(rows.size(), std::vector<int>(vocab, 0));
  for (const ops::LogitEdit& e : records.edits)
    EXPECT_EQ(++seen[static_cast<size_t>(e.row)][static_cast<size_t>(e.token)], 1);
}

TEST(DeviceSamplingRecords, RowParametersFollowTheRequest) {
  SamplingParams greedy, sampled;
  greedy.temperature = 0.0;
  sampled.temperature = 0.5;
  sampled.top_p = 0.9;
  sampled.top_k = 1000;  // not below the vocabulary: off
  sampled.min_p = 0.1;
  SamplingParams top_k = sampled;
  top_k.top_k = 5;
  std::vector<SamplerRow> rows(3);
  rows[0].params = &greedy;
  rows[1].params = &sampled;
  rows[2].params = &top_k;
  const std::vector<double> uniforms = {0.9, 0.125, 0.5};
  DeviceSamplingRecords records;
  records.build(rows, uniforms, 100);
  ASSERT_EQ(records.rows.size(), 3u);
  EXPECT_EQ(records.rows[0].greedy, 1);
  EXPECT_EQ(records.rows[1].greedy, 0);
  EXPECT_EQ(records.rows[1].uniform, 0.125);
  EXPECT_FLOAT_EQ(records.rows[1].temperature, 0.5f);
  EXPECT_EQ(records.rows[1].top_p, 0.9);
  EXPECT_EQ(records.rows[1].top_k, 0);
  EXPECT_FLOAT_EQ(records.rows[1].min_p_log, std::log(0.1f));
  EXPECT_EQ(records.rows[2].top_k, 5);
  EXPECT_TRUE(records.edits.empty());
}

TEST(DeviceSamplingRecords, TokenIdsOutsideTheVocabularyThrow) {
  SamplingParams p;
  p.repetition_penalty = 1.2;
  const std::vector<int32_t> prompt = {1, 200};
  SamplerRow row;
  row.params = &p;
  row.prompt_token_ids = prompt;
  DeviceSamplingRecords records;
  const std::vector<double> uniforms = {0.5};
  try {
    records.build(std::span(&row, 1), uniforms, 100);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("prompt_token_ids"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace pagoda
