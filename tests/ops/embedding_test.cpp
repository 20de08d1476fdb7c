#include "ops/embedding.h"

#include <gtest/gtest.h>

#include <utility>
#include <vector>

#include "ops/reference.h"

using namespace pagoda;
using namespace pagoda::test;

namespace {

Tensor make_ids(const std::vector<int64_t>& ids, DType dtype) {
  Tensor t = Tensor::empty({static_cast<int64_t>(ids.size())}, dtype);
  for (size_t i = 0; i < ids.size(); ++i) {
    if (dtype == DType::I64)
      t.mutable_data_as<int64_t>()[i] = ids[i];
    else
      t.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(ids[i]);
  }
  return t;
}

std::vector<double> gather_ref(const std::vector<double>& table, int64_t h,
                               const std::vector<int64_t>& ids) {
  std::vector<double> out;
  for (int64_t id : ids)
    for (int64_t i = 0; i < h; ++i) out.push_back(table[static_cast<size_t>(id * h + i)]);
  return out;
}

class Embedding : public IsaDTypeTest {};

TEST_P(Embedding, GathersRowsForBothIdTypesAndEverySize) {
  Rng rng(61);
  // Every size as a vocabulary and as a width, without a 4097 x 4097 table.
  const std::pair<int64_t, int64_t> shapes[] = {{1, 1}, {3, 17}, {17, 4097}, {4097, 3}};
  for (auto [vocab, h] : shapes) {
    const int64_t tokens = h == 4097 ? 40 : 5;  // 40 tokens of 4097 split into 5 chunks
    Tensor table = random_tensor({vocab, h}, dtype(), rng);
    std::vector<int64_t> ids;
    for (int64_t t = 0; t < tokens; ++t) ids.push_back(rng.integer(0, vocab - 1));
    ids[0] = vocab - 1;
    for (DType id_type : {DType::I32, DType::I64}) {
      Tensor out = Tensor::empty({tokens, h}, dtype());
      ops::embedding(make_ids(ids, id_type), table, out);
      // A copy: exact.
      ASSERT_EQ(to_f64(out), gather_ref(to_f64(table), h, ids)) << "vocab " << vocab << " h " << h;
    }
  }
}

TEST_P(Embedding, ConvertsToAnotherOutputDtypeAndHandlesStrides) {
  Rng rng(62);
  RowStrided table = row_strided(50, 33, 3, 40, dtype(), rng);
  std::vector<int64_t> ids = {0, 49, 7, 7, 20};
  for (DType out_type : kActivationDTypes) {
    RowStrided out = row_strided(5, 33, 1, 35, out_type, rng);
    const auto before = to_f64(out.base);
    ops::embedding(make_ids(ids, DType::I64), table.view, out.view);
    // Widening is exact; narrowing rounds once.
    EXPECT_TRUE(
        all_close(out.view, gather_ref(to_f64(table.view), 33, ids), tolerance(out_type, 1.0, 1)))
        << dtype_name(out_type);
    EXPECT_TRUE(gaps_unchanged(before, out));
  }
}

INSTANTIATE_TEST_SUITE_P(AllIsas, Embedding, all_isas_and_activation_dtypes(), isa_dtype_name);

TEST(EmbeddingErrors, OutOfRangeIdNamesPositionIdAndVocabAndWritesNothing) {
  Tensor table = Tensor::zeros({10, 4}, DType::F32);
  Tensor out = Tensor::empty({3, 4}, DType::F32);
  for (int i = 0; i < 12; ++i) out.mutable_data_as<float>()[i] = 5.0f;
  EXPECT_TRUE(throws_error(
      [&] {
        ops::embedding(make_ids({1, 10, 2}, DType::I32), table, out);
      },
      ErrorCode::InvalidArgument, {"embedding", "ids[1] = 10", "vocabulary [0, 10)", "tokenizer"}));
  EXPECT_TRUE(throws_error(
      [&] {
        ops::embedding(make_ids({-1, 0, 2}, DType::I64), table, out);
      },
      ErrorCode::InvalidArgument, {"ids[0] = -1"}));
  for (int i = 0; i < 12; ++i) EXPECT_EQ(out.data_as<float>()[i], 5.0f);
}

TEST(EmbeddingErrors, ShapesAndDtypes) {
  Tensor table = Tensor::zeros({10, 4}, DType::BF16);
  Tensor out = Tensor::empty({3, 4}, DType::BF16);
  Tensor float_ids = Tensor::zeros({3}, DType::F32);
  EXPECT_TRUE(throws_error([&] { ops::embedding(float_ids, table, out); },
                           ErrorCode::InvalidArgument,
                           {"embedding", "'ids'", "f32", "i32 or i64"}));
  Tensor ids = Tensor::zeros({3}, DType::I64);
  Tensor wide = Tensor::empty({3, 5}, DType::BF16);
  EXPECT_TRUE(throws_error([&] { ops::embedding(ids, table, wide); }, ErrorCode::InvalidArgument,
                           {"embedding", "'out'", "[3, 5]", "expected [3, 4]"}));
  Tensor ids2 = Tensor::zeros({3, 1}, DType::I64);
  EXPECT_TRUE(throws_error([&] { ops::embedding(ids2, table, out); }, ErrorCode::InvalidArgument,
                           {"embedding", "'ids'", "rank 2", "expected rank 1"}));
}

}  // namespace
