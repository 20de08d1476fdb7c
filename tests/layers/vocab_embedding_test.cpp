// VocabParallelEmbedding, ParallelLMHead and LogitsProcessor at tp = 1, 2, 4, 8 with a vocabulary
// (300) that is not a multiple of the padding (64): rows, padding, masking and the gather.
#include "pagoda/layers/vocab_embedding.h"

#include <gtest/gtest.h>

#include <cmath>

#include "common/expect_error.h"
#include "layers/tp_test_util.h"
#include "pagoda/layers/logits_processor.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

constexpr int kTpSizes[] = {1, 2, 4, 8};
constexpr int64_t kVocab = 300, kPadded = 320, kDim = 16;

Tensor ids_tensor(const std::vector<int64_t>& ids, DType dtype) {
  Tensor t = Tensor::empty({static_cast<int64_t>(ids.size())}, dtype);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (dtype == DType::I32)
      t.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(ids[i]);
    else
      t.mutable_data_as<int64_t>()[i] = ids[i];
  }
  return t;
}

void fill(Tensor t, float value) {
  Tensor src = Tensor::empty(t.shape(), DType::F32);
  for (int64_t i = 0; i < src.numel(); ++i) src.mutable_data_as<float>()[i] = value;
  t.copy_from(src);
}

}  // namespace

TEST(VocabParallelEmbedding, LoaderTakesThisRanksRowsAndZeroesThePadding) {
  const Mat e = indexed_mat(kVocab, kDim, 0.5);
  for (int tp : kTpSizes) {
    auto group = make_in_process_group(tp);
    for (int rank = 0; rank < tp; ++rank) {
      ParameterSet params;
      VocabParallelEmbedding emb(make_ctx(params, *group[rank], "model.embed_tokens"), kVocab,
                                 kDim);
      const int64_t per_rank = kPadded / tp, start = rank * per_rank;
      EXPECT_EQ(emb.num_embeddings_padded(), kPadded);
      EXPECT_EQ(emb.vocab_start(), start);
      EXPECT_EQ(emb.vocab_end(), std::max(start, std::min(start + per_rank, kVocab)));
      ASSERT_EQ(emb.weight().shape(), Shape({per_rank, kDim}));
      fill(params.find("model.embed_tokens.weight")->data, 7.0f);  // padding must be overwritten
      load(params, "model.embed_tokens.weight", to_tensor(e));
      for (int64_t i = 0; i < per_rank; ++i)
        for (int64_t j = 0; j < kDim; ++j)
          ASSERT_EQ(at(emb.weight(), i, j), start + i < kVocab ? e(start + i, j) : 0.0)
              << "tp " << tp << " rank " << rank << " row " << i;
    }
  }
}

TEST(VocabParallelEmbedding, ForwardGivesEveryRowOnEveryRank) {
  const Mat e = random_mat(kVocab, kDim, 21);
  const std::vector<int64_t> ids = {0, 299, 150, 63, 64, 79, 80, 240, 1, 299, 159, 160};
  for (int tp : kTpSizes) {
    for (DType id_dtype : {DType::I32, DType::I64}) {
      run_ranks(tp, [&](int, Communicator& comm) {
        ParameterSet params;
        VocabParallelEmbedding emb(make_ctx(params, comm, "embed"), kVocab, kDim);
        load(params, "embed.weight", to_tensor(e));
        const Tensor out = emb.forward(ids_tensor(ids, id_dtype));
        ASSERT_EQ(out.shape(), Shape({static_cast<int64_t>(ids.size()), kDim}));
        for (size_t t = 0; t < ids.size(); ++t)
          for (int64_t j = 0; j < kDim; ++j)
            ASSERT_EQ(at(out, static_cast<int64_t>(t), j), e(ids[t], j))
                << "tp " << tp << " id " << ids[t];
      });
    }
  }
}

TEST(VocabParallelEmbedding, RanksHoldingOnlyPaddingAndAHalfCheckpoint) {
  // Vocabulary 10 padded to 64 over 8 ranks of 8 rows: ranks 2..7 hold only padding.
  const Mat e = random_mat(10, kDim, 41);
  Tensor half = Tensor::empty({10, kDim}, DType::F16);
  copy_with_cast(half, to_tensor(e));
  const std::vector<int64_t> ids = {9, 0, 8, 7, 3};
  run_ranks(8, [&](int rank, Communicator& comm) {
    ParameterSet params;
    VocabParallelEmbedding emb(make_ctx(params, comm, "embed"), 10, kDim);
    EXPECT_EQ(emb.vocab_end() - emb.vocab_start(), rank == 0 ? 8 : rank == 1 ? 2 : 0);
    fill(params.find("embed.weight")->data, 7.0f);
    load(params, "embed.weight", half);
    for (int64_t i = 0; i < 8; ++i)
      for (int64_t j = 0; j < kDim; ++j) {
        const int64_t row = rank * 8 + i;
        const double expected =
            row < 10 ? static_cast<float>(f16(static_cast<float>(e(row, j)))) : 0.0;
        ASSERT_EQ(at(emb.weight(), i, j), expected) << "rank " << rank << " row " << i;
      }
    const Tensor out = emb.forward(ids_tensor(ids, DType::I32));
    for (size_t t = 0; t < ids.size(); ++t)
      for (int64_t j = 0; j < kDim; ++j)
        ASSERT_NEAR(at(out, static_cast<int64_t>(t), j), e(ids[t], j), 1e-3);
  });
}

TEST(VocabParallelEmbedding, IdOutsideTheVocabularyIsAnErrorNamingIt) {
  for (int64_t bad : {kVocab, int64_t{-1}, int64_t{310}}) {
    run_ranks(2, [&](int, Communicator& comm) {
      ParameterSet params;
      VocabParallelEmbedding emb(make_ctx(params, comm, "embed"), kVocab, kDim);
      load(params, "embed.weight", to_tensor(random_mat(kVocab, kDim, 1)));
      expect_error(
          [&] {
            emb.forward(ids_tensor({5, bad, 7}, DType::I64));
          },
          ErrorCode::InvalidArgument, {"embed", std::to_string(bad), "position 1", "300"});
    });
  }
}

TEST(VocabParallelEmbedding, ShapeMismatchValidateOnlyAndDivisibility) {
  auto group = make_in_process_group(2);
  ParameterSet params;
  VocabParallelEmbedding emb(make_ctx(params, *group[1], "model.embed_tokens"), kVocab, kDim);
  expect_error(
      [&] {
        load(params, "model.embed_tokens.weight", Tensor::zeros({299, kDim}, DType::F32));
      },
      ErrorCode::InvalidArgument, {"model.embed_tokens.weight", "[299, 16]", "[300, 16]"});
  fill(params.find("model.embed_tokens.weight")->data, 7.0f);
  load(params, "model.embed_tokens.weight", to_tensor(indexed_mat(kVocab, kDim)), "",
       /*validate_only=*/true);
  for (int64_t i = 0; i < emb.weight().size(0); ++i)
    for (int64_t j = 0; j < kDim; ++j) ASSERT_EQ(at(emb.weight(), i, j), 7.0);

  auto group3 = make_in_process_group(3);
  ParameterSet other;
  expect_error([&] { VocabParallelEmbedding(make_ctx(other, *group3[0], "embed"), kVocab, kDim); },
               ErrorCode::InvalidArgument, {"embed", "320", "3"});
}

TEST(ParallelLMHead, TiedSharesTheEmbeddingWeightAndRegistersNothing) {
  auto group = make_in_process_group(4);
  ParameterSet params;
  VocabParallelEmbedding emb(make_ctx(params, *group[2], "model.embed_tokens"), kVocab, kDim);
  ASSERT_EQ(params.size(), 1u);
  ParallelLMHead head(make_ctx(params, *group[2], "lm_head"), emb);
  EXPECT_TRUE(head.tied());
  EXPECT_EQ(params.size(), 1u);
  EXPECT_EQ(params.find("lm_head.weight"), nullptr);
  EXPECT_EQ(head.weight().data(), emb.weight().data());
  EXPECT_EQ(head.vocab_start(), emb.vocab_start());
  EXPECT_EQ(head.num_embeddings_padded(), kPadded);

  ParallelLMHead untied(make_ctx(params, *group[2], "lm_head"), kVocab, kDim);
  EXPECT_FALSE(untied.tied());
  EXPECT_NE(params.find("lm_head.weight"), nullptr);
}

struct LogitsCase {
  std::optional<double> soft_cap;
  double scale;
  bool tied;
};

TEST(LogitsProcessor, GathersStripsPaddingSoftCapsAndScales) {
  const Mat e = random_mat(kVocab, kDim, 31), h = random_mat(5, kDim, 32);
  const Mat raw = ref_linear(h, e);
  for (LogitsCase lc : {LogitsCase{std::nullopt, 1.0, false}, LogitsCase{0.75, 0.5, false},
                        LogitsCase{std::nullopt, 2.0, true}}) {
    Mat ref = raw;
    for (double& x : ref.v) {
      if (lc.soft_cap) x = std::tanh(x / *lc.soft_cap) * *lc.soft_cap;
      x *= lc.scale;
    }
    for (int tp : kTpSizes) {
      run_ranks(tp, [&](int, Communicator& comm) {
        ParameterSet params;
        VocabParallelEmbedding emb(make_ctx(params, comm, "embed"), kVocab, kDim);
        load(params, "embed.weight", to_tensor(e));
        std::unique_ptr<ParallelLMHead> head;
        if (lc.tied) {
          head = std::make_unique<ParallelLMHead>(make_ctx(params, comm, "lm_head"), emb);
        } else {
          head = std::make_unique<ParallelLMHead>(make_ctx(params, comm, "lm_head"), kVocab, kDim);
          load(params, "lm_head.weight", to_tensor(e));
        }
        LogitsProcessor proc(make_ctx(params, comm, "logits"), kVocab, lc.soft_cap, lc.scale);
        const Tensor logits = proc.forward(*head, to_tensor(h));
        ASSERT_EQ(logits.dtype(), DType::F32);
        ASSERT_EQ(logits.shape(), Shape({5, kVocab}));
        EXPECT_TRUE(logits.is_contiguous());
        expect_matches(logits, ref, 0, 1e-5, "tp " + std::to_string(tp));
      });
    }
  }
}

TEST(LogitsProcessor, RejectsBadArguments) {
  auto group = make_in_process_group(1);
  ParameterSet params;
  ParallelLMHead head(make_ctx(params, *group[0], "lm_head"), kVocab, kDim);
  LogitsProcessor proc(make_ctx(params, *group[0], "logits"), kVocab);
  expect_error(
      [&] {
        proc.forward(head, Tensor::zeros({2, kDim + 1}, DType::F32));
      },
      ErrorCode::InvalidArgument, {"[2, 17]", "16"});
  expect_error([&] { LogitsProcessor(make_ctx(params, *group[0], "logits"), kVocab, -1.0); },
               ErrorCode::InvalidConfig, {"soft cap"});
}
