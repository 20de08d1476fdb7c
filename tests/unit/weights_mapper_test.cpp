#include <gtest/gtest.h>

#include "pagoda/error.h"
#include "pagoda/weights_mapper.h"

using namespace pagoda;

TEST(WeightsMapper, AppliesKindsInVllmOrder) {
  WeightsMapper m;
  m.prefix("model.language_model.", "model.")
      .suffix(".gamma", ".weight")
      .substring(".attention.", ".self_attn.")
      .regex(R"(^transformer\.h\.(\d+)\.)", "model.layers.$1.");
  EXPECT_EQ(m.apply("model.language_model.norm.gamma"), "model.norm.weight");
  EXPECT_EQ(m.apply("model.layers.0.attention.q_proj.weight"), "model.layers.0.self_attn.q_proj.weight");
  EXPECT_EQ(m.apply("transformer.h.12.mlp.c_fc.weight"), "model.layers.12.mlp.c_fc.weight");
  EXPECT_EQ(m.apply("lm_head.weight"), "lm_head.weight");  // untouched
  // Regex runs before prefix: the prefix rule sees the regex's output.
  WeightsMapper chained;
  chained.prefix("model.", "language_model.model.").regex(R"(^transformer\.)", "model.");
  EXPECT_EQ(chained.apply("transformer.wte.weight"), "language_model.model.wte.weight");
}

TEST(WeightsMapper, NulloptDrops) {
  WeightsMapper m;
  m.suffix(".rotary_emb.inv_freq", std::nullopt).prefix("vision_tower.", std::nullopt);
  EXPECT_EQ(m.apply("model.layers.0.self_attn.rotary_emb.inv_freq"), std::nullopt);
  EXPECT_EQ(m.apply("vision_tower.blocks.0.weight"), std::nullopt);
  EXPECT_EQ(m.apply("model.embed_tokens.weight"), "model.embed_tokens.weight");
}

TEST(WeightsMapper, RegexGroupsAndLookahead) {
  WeightsMapper m;
  m.regex(R"(\.(\d+)\.(?=mlp))", ".block$1.");
  EXPECT_EQ(m.apply("layers.7.mlp.w"), "layers.block7.mlp.w");
  EXPECT_EQ(m.apply("layers.7.attn.w"), "layers.7.attn.w");  // lookahead fails: untouched
}

TEST(WeightsMapper, BadRegexIsAClearError) {
  WeightsMapper m;
  try {
    m.regex("(unclosed", "x");
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("'(unclosed' is not valid: missing closing parenthesis"),
              std::string::npos)
        << e.what();
  }
}
