// vLLM's check_logprobs_close for greedy continuations: up to the first divergence the tokens are
// equal, and there the reference's token is among the tested side's top-N logprobs.
#pragma once

#include <gtest/gtest.h>

#include <cstdint>
#include <string>
#include <vector>

#include "pagoda/request_output.h"

namespace pagoda::testing {

// Checks one continuation (generated with logprobs) against the reference tokens; returns true
// when the two are identical throughout. `what` names the case in failure messages.
inline bool expect_logprobs_close(const CompletionOutput& out,
                                  const std::vector<int32_t>& expected, const std::string& what) {
  EXPECT_EQ(out.token_ids.size(), expected.size()) << what;
  EXPECT_EQ(out.logprobs.size(), out.token_ids.size()) << what;
  size_t k = 0;
  while (k < expected.size() && k < out.token_ids.size() && out.token_ids[k] == expected[k]) ++k;
  if (k == expected.size()) return true;
  bool in_top = false;
  if (k < out.logprobs.size())
    for (const auto& lp : out.logprobs[k]) in_top |= lp.token == expected[k];
  EXPECT_TRUE(in_top) << what << ": at token " << k << " the reference chose " << expected[k]
                      << ", not in the top logprobs";
  return false;
}

}  // namespace pagoda::testing
