#include <gtest/gtest.h>

#include "pagoda/tokenizer.h"

TEST(Tokenizer, Placeholder) { EXPECT_TRUE(true); }
