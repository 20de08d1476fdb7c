// Stop conditions: EOS/stop tokens after min_tokens, max_tokens and the context length, stop
// strings found across token boundaries (removed or kept), and held-back text.
#include "engine/stop_checker.h"

#include <gtest/gtest.h>

using namespace pagoda;
using pagoda::engine::StopChecker;

namespace {

StopChecker make(const SamplingParams& p, std::vector<int64_t> eos = {2}, int64_t max_len = 100) {
  StopChecker c;
  c.configure(p, eos, max_len);
  return c;
}

TEST(StopChecker, EosAndStopTokensAfterMinTokens) {
  SamplingParams p;
  p.max_tokens = 10;
  p.min_tokens = 3;
  p.stop_token_ids = {7};
  const StopChecker c = make(p);
  EXPECT_FALSE(c.check_token(2, 2, 12).has_value()) << "EOS before min_tokens is ignored";
  auto eos = c.check_token(2, 3, 13);
  ASSERT_TRUE(eos);
  EXPECT_EQ(eos->finish_reason, "stop");
  EXPECT_FALSE(eos->stop_token);
  auto stop = c.check_token(7, 4, 14);
  ASSERT_TRUE(stop);
  EXPECT_EQ(stop->stop_token, 7);
  EXPECT_FALSE(c.check_token(5, 9, 19));
  auto length = c.check_token(5, 10, 20);
  ASSERT_TRUE(length);
  EXPECT_EQ(length->finish_reason, "length");
}

TEST(StopChecker, IgnoreEosAndContextLength) {
  SamplingParams p;
  p.max_tokens = std::nullopt;
  p.ignore_eos = true;
  const StopChecker c = make(p, {2}, 50);
  EXPECT_FALSE(c.check_token(2, 1, 11));
  auto full = c.check_token(2, 40, 50);
  ASSERT_TRUE(full);
  EXPECT_EQ(full->finish_reason, "length");
}

TEST(StopChecker, StopStringAcrossTokensIsRemoved) {
  SamplingParams p;
  p.stop = {"END"};
  const StopChecker c = make(p);
  std::string text = "abc E";
  EXPECT_FALSE(c.check_text(text, 2, 2));
  EXPECT_EQ(c.releasable_bytes(text, false), 3u) << "'E' and the byte before may start 'END'";
  text += "NDxyz";
  auto hit = c.check_text(text, 5, 3);
  ASSERT_TRUE(hit);
  EXPECT_EQ(*hit, "END");
  EXPECT_EQ(text, "abc ");
}

TEST(StopChecker, StopStringKeptWhenAsked) {
  SamplingParams p;
  p.stop = {"\n\n"};
  p.include_stop_str_in_output = true;
  const StopChecker c = make(p);
  std::string text = "line\n";
  EXPECT_FALSE(c.check_text(text, 5, 1));
  EXPECT_EQ(c.releasable_bytes(text, false), text.size()) << "nothing is held back";
  text += "\nmore";
  ASSERT_TRUE(c.check_text(text, 5, 2));
  EXPECT_EQ(text, "line\n\n");
}

TEST(StopChecker, HoldBackNeverSplitsAUtf8Character) {
  SamplingParams p;
  p.stop = {"xy"};
  const StopChecker c = make(p);
  const std::string text = "a\xC3\xA9";  // "aé": holding back 1 byte would split é
  EXPECT_EQ(c.releasable_bytes(text, false), 1u);
  EXPECT_EQ(c.releasable_bytes(text, true), text.size());
}

TEST(StopChecker, StopStringsWaitForMinTokens) {
  SamplingParams p;
  p.stop = {"a"};
  p.min_tokens = 2;
  const StopChecker c = make(p);
  std::string text = "a";
  EXPECT_FALSE(c.check_text(text, 1, 2)) << "only after more than min_tokens tokens";
  text += "a";
  EXPECT_TRUE(c.check_text(text, 1, 3));
}

}  // namespace
