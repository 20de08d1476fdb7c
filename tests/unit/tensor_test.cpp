#include <gtest/gtest.h>

#include <numeric>

#include "pagoda/error.h"
#include "pagoda/tensor.h"

using namespace pagoda;

namespace {
Tensor iota(const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::F32);
  float* p = t.mutable_data_as<float>();
  std::iota(p, p + t.numel(), 0.0f);
  return t;
}
float at(const Tensor& t, std::initializer_list<int64_t> idx) {
  int64_t off = 0;
  int d = 0;
  for (int64_t i : idx) off += i * t.stride(d++);
  return t.data_as<float>()[off];
}
}  // namespace

TEST(Tensor, EmptyIsContiguousAndAligned) {
  Tensor t = Tensor::empty({2, 3, 5}, DType::BF16);
  EXPECT_EQ(t.numel(), 30);
  EXPECT_EQ(t.nbytes(), 60u);
  EXPECT_TRUE(t.is_contiguous());
  EXPECT_EQ(t.strides(), (Shape{15, 5, 1}));
  EXPECT_EQ(reinterpret_cast<uintptr_t>(t.data()) % kCpuAlignment, 0u);
  EXPECT_EQ(t.to_string(), "Tensor(shape=[2, 3, 5], dtype=bf16, device=cpu)");
}

TEST(Tensor, ZerosAndZeroSized) {
  Tensor z = Tensor::zeros({4}, DType::I32);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(z.data_as<int32_t>()[i], 0);
  Tensor e = Tensor::empty({0, 7}, DType::F32);
  EXPECT_EQ(e.numel(), 0);
  EXPECT_TRUE(e.defined());
  EXPECT_THROW(Tensor::empty({-1}, DType::F32), Error);
}

TEST(Tensor, TypedAccessChecksDType) {
  Tensor t = Tensor::empty({2}, DType::F16);
  EXPECT_NO_THROW(t.data_as<f16>());
  EXPECT_THROW(t.data_as<float>(), Error);
}

TEST(Tensor, SliceSelectTransposeShareStorage) {
  Tensor t = iota({3, 4});
  Tensor s = t.slice(1, 1, 3);
  EXPECT_EQ(s.shape(), (Shape{3, 2}));
  EXPECT_FALSE(s.is_contiguous());
  EXPECT_EQ(at(s, {2, 1}), 10.0f);
  EXPECT_EQ(s.storage(), t.storage());
  Tensor r = t.select(0, -1);
  EXPECT_EQ(r.shape(), (Shape{4}));
  EXPECT_EQ(at(r, {0}), 8.0f);
  Tensor tr = t.transpose(0, 1);
  EXPECT_EQ(tr.shape(), (Shape{4, 3}));
  EXPECT_EQ(at(tr, {3, 2}), 11.0f);
  Tensor stepped = t.slice(1, 0, 4, 2);
  EXPECT_EQ(stepped.shape(), (Shape{3, 2}));
  EXPECT_EQ(at(stepped, {1, 1}), 6.0f);
  Tensor clamped = t.slice(0, -10, 100);
  EXPECT_EQ(clamped.shape(), (Shape{3, 4}));
  EXPECT_THROW(t.select(0, 3), Error);
  EXPECT_THROW(t.transpose(0, 2), Error);
}

TEST(Tensor, ContiguousCopiesStridedData) {
  Tensor t = iota({2, 3, 4});
  Tensor p = t.permute({2, 0, 1});
  EXPECT_EQ(p.shape(), (Shape{4, 2, 3}));
  Tensor c = p.contiguous();
  EXPECT_TRUE(c.is_contiguous());
  EXPECT_NE(c.storage(), t.storage());
  for (int64_t i = 0; i < 4; ++i)
    for (int64_t j = 0; j < 2; ++j)
      for (int64_t k = 0; k < 3; ++k) EXPECT_EQ(at(c, {i, j, k}), at(t, {j, k, i}));
  EXPECT_EQ(t.contiguous().storage(), t.storage());  // no copy when already contiguous
}

TEST(Tensor, ViewAndReshape) {
  Tensor t = iota({2, 6});
  Tensor v = t.view({3, -1});
  EXPECT_EQ(v.shape(), (Shape{3, 4}));
  EXPECT_EQ(v.storage(), t.storage());
  EXPECT_THROW(t.view({5, -1}), Error);
  EXPECT_THROW(t.view({-1, -1}), Error);
  Tensor tr = t.transpose(0, 1);
  EXPECT_THROW(tr.view({12}), Error);
  Tensor r = tr.reshape({12});
  EXPECT_EQ(at(r, {1}), 6.0f);  // element [0][1] of the transposed tensor
}

TEST(Tensor, UnsqueezeSqueeze) {
  Tensor t = iota({2, 3});
  Tensor u = t.unsqueeze(1);
  EXPECT_EQ(u.shape(), (Shape{2, 1, 3}));
  EXPECT_TRUE(u.is_contiguous());
  EXPECT_EQ(u.squeeze(1).shape(), (Shape{2, 3}));
  EXPECT_EQ(t.unsqueeze(-1).shape(), (Shape{2, 3, 1}));
  EXPECT_THROW(t.squeeze(0), Error);
}

TEST(Tensor, BorrowedReadOnlyRefusesWrites) {
  auto buffer = std::make_shared<std::vector<float>>(std::vector<float>{1, 2, 3, 4});
  Tensor t = Tensor::from_blob_read_only(buffer->data(), {2, 2}, DType::F32, Device::cpu(), buffer);
  std::weak_ptr<std::vector<float>> weak = buffer;
  buffer.reset();
  EXPECT_FALSE(weak.expired());  // the tensor keeps the memory alive
  EXPECT_TRUE(t.is_read_only());
  EXPECT_EQ(t.data_as<float>()[3], 4.0f);
  EXPECT_THROW(t.mutable_data(), Error);
  Tensor c = t.clone();
  EXPECT_FALSE(c.is_read_only());
  c.mutable_data_as<float>()[0] = 9;
  EXPECT_EQ(t.data_as<float>()[0], 1.0f);
  t = Tensor();
  EXPECT_TRUE(weak.expired());
}

TEST(Tensor, FromStorageChecksBounds) {
  auto storage = Storage::allocate(64, cpu_allocator());
  EXPECT_NO_THROW(Tensor::from_storage(storage, 0, {4, 4}, {4, 1}, DType::F32));
  EXPECT_THROW(Tensor::from_storage(storage, 4, {4, 4}, {4, 1}, DType::F32), Error);
  EXPECT_THROW(Tensor::from_storage(storage, 0, {4, 5}, {5, 1}, DType::F32), Error);
}

TEST(Tensor, AllocatorTracksBytes) {
  const size_t before = cpu_allocator().bytes_in_use();
  {
    Tensor t = Tensor::empty({1000}, DType::F32);
    EXPECT_EQ(cpu_allocator().bytes_in_use(), before + 4000);
  }
  EXPECT_EQ(cpu_allocator().bytes_in_use(), before);
}

TEST(Tensor, CudaWithoutBackendIsAClearError) {
#ifdef PAGODA_HAS_CUDA
  GTEST_SKIP() << "this build has the CUDA backend (tests/gpu covers it)";
#endif
  try {
    Tensor::empty({1}, DType::F32, Device::cuda(0));
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::Unsupported);
    EXPECT_NE(std::string(e.what()).find("cuda"), std::string::npos);
  }
}

TEST(Tensor, CopyFromChecksShapes) {
  Tensor a = iota({2, 3});
  Tensor b = Tensor::empty({3, 2}, DType::F32);
  EXPECT_THROW(b.copy_from(a), Error);
  b.copy_from(a.transpose(0, 1));
  EXPECT_EQ(at(b, {2, 1}), 5.0f);
}
