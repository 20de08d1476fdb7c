// SamplingParams::validate: every range vLLM enforces, and that each message names the field, the
// value and the valid range.
#include "pagoda/sampling_params.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <limits>
#include <string>

#include "pagoda/error.h"

namespace pagoda {
namespace {

// Expects validate(vocab) to throw InvalidArgument with every one of `parts` in the message.
void expect_invalid(const std::function<void(SamplingParams&)>& edit,
                    std::initializer_list<std::string> parts, int64_t vocab = 0) {
  SamplingParams p;
  edit(p);
  try {
    p.validate(vocab);
    ADD_FAILURE() << "validate() accepted params that should fail with: " << *parts.begin();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
    for (const std::string& part : parts)
      EXPECT_NE(e.problem().find(part), std::string::npos)
          << "message: " << e.what() << "\nmissing: " << part;
    EXPECT_FALSE(e.fix().empty());
  }
}

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

TEST(SamplingParamsTest, DefaultsAndBoundariesAreValid) {
  SamplingParams p;
  EXPECT_NO_THROW(p.validate());
  EXPECT_NO_THROW(p.validate(32000));
  p.top_k = -1;
  p.top_p = 1.0;
  p.min_p = 1.0;
  p.presence_penalty = -2.0;
  p.frequency_penalty = 2.0;
  p.repetition_penalty = 0.01;
  p.temperature = 0.0;  // greedy with n = 1
  p.logprobs = -1;
  p.prompt_logprobs = 0;
  p.max_tokens = std::nullopt;
  p.min_tokens = 1000;  // no max_tokens: no upper bound
  p.stop_token_ids = {0, 31999};
  p.logit_bias = {{0, -100.0}, {31999, 100.0}};
  EXPECT_NO_THROW(p.validate(32000));
  // vocab_size 0 skips the token-id checks.
  p.stop_token_ids = {1 << 30};
  EXPECT_NO_THROW(p.validate(0));
}

TEST(SamplingParamsTest, N) {
  expect_invalid([](auto& p) { p.n = 0; }, {"n is 0", "at least 1"});
  expect_invalid([](auto& p) { p.n = 2, p.temperature = 0.0; }, {"n is 2", "greedy"});
}

TEST(SamplingParamsTest, Penalties) {
  expect_invalid([](auto& p) { p.presence_penalty = 2.5; }, {"presence_penalty is 2.5", "[-2, 2]"});
  expect_invalid([](auto& p) { p.presence_penalty = kNaN; }, {"presence_penalty is nan"});
  expect_invalid([](auto& p) { p.frequency_penalty = -3; }, {"frequency_penalty is -3", "[-2, 2]"});
  expect_invalid([](auto& p) { p.repetition_penalty = 0; },
                 {"repetition_penalty is 0", "greater than 0"});
  expect_invalid([](auto& p) { p.repetition_penalty = -1.5; }, {"repetition_penalty is -1.5"});
  expect_invalid([](auto& p) { p.repetition_penalty = kInf; }, {"repetition_penalty is inf"});
}

TEST(SamplingParamsTest, TemperatureTopPTopKMinP) {
  expect_invalid([](auto& p) { p.temperature = -0.5; }, {"temperature is -0.5", ">= 0"});
  expect_invalid([](auto& p) { p.temperature = kNaN; }, {"temperature is nan", "finite"});
  expect_invalid([](auto& p) { p.top_p = 0.0; }, {"top_p is 0", "(0, 1]"});
  expect_invalid([](auto& p) { p.top_p = 1.5; }, {"top_p is 1.5", "(0, 1]"});
  expect_invalid([](auto& p) { p.top_p = kNaN; }, {"top_p is nan"});
  expect_invalid([](auto& p) { p.top_k = -2; }, {"top_k is -2", "-1, 0"});
  expect_invalid([](auto& p) { p.min_p = 1.25; }, {"min_p is 1.25", "[0, 1]"});
  expect_invalid([](auto& p) { p.min_p = -0.1; }, {"min_p is -0.1"});
}

TEST(SamplingParamsTest, Lengths) {
  expect_invalid([](auto& p) { p.max_tokens = 0; }, {"max_tokens is 0", "at least 1"});
  expect_invalid([](auto& p) { p.min_tokens = -1; }, {"min_tokens is -1", ">= 0"});
  expect_invalid([](auto& p) { p.max_tokens = 8, p.min_tokens = 9; },
                 {"min_tokens is 9", "max_tokens is 8"});
}

TEST(SamplingParamsTest, Logprobs) {
  expect_invalid([](auto& p) { p.logprobs = -2; }, {"logprobs is -2", "-1"});
  expect_invalid([](auto& p) { p.prompt_logprobs = -5; }, {"prompt_logprobs is -5"});
}

TEST(SamplingParamsTest, StopsAndTokenIds) {
  expect_invalid([](auto& p) { p.stop = {"ok", ""}; }, {"stop[1]", "empty"});
  expect_invalid(
      [](auto& p) {
        p.stop_token_ids = {5, 100};
      },
      {"stop_token_ids", "token id 100", "[0, 100)"}, 100);
  expect_invalid([](auto& p) { p.stop_token_ids = {-1}; }, {"stop_token_ids", "token id -1"}, 100);
  expect_invalid(
      [](auto& p) {
        p.logit_bias = {{150, 1.0}};
      },
      {"logit_bias", "token id 150", "[0, 100)"}, 100);
  expect_invalid([](auto& p) { p.logit_bias = {{3, kNaN}}; }, {"logit_bias[3] is nan", "finite"});
}

}  // namespace
}  // namespace pagoda
