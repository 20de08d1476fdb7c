// The reader on files written by the reference implementation (Python safetensors, through
// transformers' save_pretrained): the tiny checkpoints under tests/fixtures/hf.
#include <gtest/gtest.h>

#include <filesystem>

#include "pagoda/safetensors.h"

using namespace pagoda;

TEST(SafetensorsHfFiles, ReadsTransformersCheckpoints) {
  const std::filesystem::path root = std::filesystem::path(PAGODA_FIXTURES_DIR) / "hf";
  struct Expect {
    const char* dir;
    int64_t vocab, hidden;
    bool has_lm_head;
    const char* bias_name;  // a tensor that must exist, or null
  };
  for (const Expect& e : {Expect{"llama", 300, 64, true, nullptr},
                          Expect{"qwen2", 256, 128, false, "model.layers.0.self_attn.q_proj.bias"},
                          Expect{"qwen3", 333, 64, true, "model.layers.2.self_attn.q_norm.weight"}}) {
    SCOPED_TRACE(e.dir);
    SafetensorsCheckpoint ckpt(root / e.dir);
    Tensor embed = ckpt.get("model.embed_tokens.weight");
    EXPECT_EQ(embed.shape(), (Shape{e.vocab, e.hidden}));
    EXPECT_EQ(embed.dtype(), DType::F32);
    EXPECT_EQ(ckpt.contains("lm_head.weight"), e.has_lm_head);  // tied embeddings are not saved
    if (e.bias_name) {
      EXPECT_TRUE(ckpt.contains(e.bias_name));
    }
    size_t seen = 0;
    for (auto [name, tensor] : ckpt) {
      EXPECT_TRUE(tensor.is_read_only());
      ++seen;
    }
    EXPECT_EQ(seen, ckpt.size());

    SafetensorsFile expected(root / e.dir / "expected.safetensors");
    Tensor ids = expected.get("prompt.2.input_ids");
    EXPECT_EQ(ids.dtype(), DType::I64);
    EXPECT_EQ(ids.shape(), (Shape{17}));
    EXPECT_EQ(expected.get("prompt.2.logits").shape(), (Shape{17, e.vocab}));
    EXPECT_EQ(expected.get("prompt.3.greedy").shape(), (Shape{16}));
  }
}
