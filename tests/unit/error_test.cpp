#include <gtest/gtest.h>

#include "pagoda/error.h"
#include "pagoda/logging.h"

using namespace pagoda;

TEST(Error, MessageNamesProblemAndFix) {
  try {
    PAGODA_CHECK(1 + 1 == 3, InvalidConfig, "hidden_size is 0", "set hidden_size in config.json");
    FAIL() << "no throw";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::InvalidConfig);
    EXPECT_EQ(e.problem(), "hidden_size is 0");
    EXPECT_EQ(e.fix(), "set hidden_size in config.json");
    EXPECT_STREQ(e.what(), "hidden_size is 0. Fix: set hidden_size in config.json");
  }
}

TEST(Error, CheckEvaluatesMessagesOnlyOnFailure) {
  int evaluated = 0;
  auto msg = [&] {
    ++evaluated;
    return std::string("x");
  };
  PAGODA_CHECK(true, InvalidArgument, msg(), msg());
  EXPECT_EQ(evaluated, 0);
}

TEST(Error, AssertReportsLocation) {
  try {
    PAGODA_ASSERT(2 < 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Internal);
    EXPECT_NE(e.problem().find("error_test.cpp"), std::string::npos);
    EXPECT_NE(e.problem().find("2 < 1"), std::string::npos);
  }
}

TEST(Logging, ParsesLevelsAndRejectsUnknown) {
  EXPECT_EQ(parse_log_level("debug"), LogLevel::Debug);
  EXPECT_EQ(parse_log_level("warning"), LogLevel::Warn);
  EXPECT_THROW(parse_log_level("loud"), Error);
  const LogLevel before = log_level();
  set_log_level(LogLevel::Error);
  EXPECT_EQ(log_level(), LogLevel::Error);
  log::info("not shown {}", 1);  // must not crash below the level
  set_log_level(before);
}
