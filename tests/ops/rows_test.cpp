// RowLayout: how row-wise ops find the rows of strided tensors.
#include "ops/rows.h"

#include <gtest/gtest.h>

#include <vector>

using namespace pagoda;
using pagoda::ops::RowLayout;

namespace {

std::vector<int64_t> offsets(const RowLayout& l) {
  std::vector<int64_t> o;
  for (int64_t r = 0; r < l.rows(); ++r) o.push_back(l.offset(r));
  return o;
}

TEST(RowLayout, ContiguousAndOneDimensional) {
  const RowLayout a(Tensor::empty({4, 5}, DType::F32));
  EXPECT_EQ(a.rows(), 4);
  EXPECT_EQ(a.cols(), 5);
  EXPECT_TRUE(a.uniform());
  EXPECT_EQ(offsets(a), (std::vector<int64_t>{0, 5, 10, 15}));
  const RowLayout b(Tensor::empty({7}, DType::F32));
  EXPECT_EQ(b.rows(), 1);
  EXPECT_EQ(offsets(b), (std::vector<int64_t>{0}));
}

TEST(RowLayout, MergesNestedDimensionsAndSkipsSizeOne) {
  // [2, 3, 4] contiguous: the two leading dimensions merge into 6 rows 4 apart.
  const RowLayout a(Tensor::empty({2, 1, 3, 4}, DType::F32));
  EXPECT_TRUE(a.uniform());
  EXPECT_EQ(a.rows(), 6);
  EXPECT_EQ(a.row_stride(), 4);
  // A column slice keeps rows uniform with the parent's stride.
  const RowLayout b(Tensor::empty({3, 10}, DType::F32).slice(1, 2, 6));
  EXPECT_EQ(offsets(b), (std::vector<int64_t>{0, 10, 20}));
}

TEST(RowLayout, GeneralStridesFromAFusedBuffer) {
  // [T=2, heads=3, hd=4] view of a [2, 20] buffer: strides (20, 4, 1), not mergeable.
  Tensor buf = Tensor::empty({2, 20}, DType::F32);
  Tensor v = Tensor::from_storage(buf.storage(), 0, {2, 3, 4}, {20, 4, 1}, DType::F32);
  const RowLayout l(v);
  EXPECT_FALSE(l.uniform());
  EXPECT_EQ(l.rows(), 6);
  EXPECT_EQ(offsets(l), (std::vector<int64_t>{0, 4, 8, 20, 24, 28}));
  // Empty leading dimension: no rows.
  EXPECT_EQ(RowLayout(Tensor::empty({0, 3}, DType::F32)).rows(), 0);
}

}  // namespace
