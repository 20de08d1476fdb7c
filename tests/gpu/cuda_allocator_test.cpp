#include <cuda_runtime.h>
#include <gtest/gtest.h>

#include <vector>

#include "pagoda/error.h"
#include "pagoda/tensor.h"

using namespace pagoda;

TEST(CudaAllocator, TensorRoundTripsThroughDeviceMemory) {
  Tensor host = Tensor::empty({257}, DType::F32);
  for (int i = 0; i < 257; ++i) host.mutable_data_as<float>()[i] = static_cast<float>(i) * 0.5f;
  Tensor dev = Tensor::empty({257}, DType::F32, Device::cuda(0));
  EXPECT_TRUE(dev.device().is_cuda());
  EXPECT_GE(allocator_for(Device::cuda(0)).bytes_in_use(), 257u * 4);
  ASSERT_EQ(cudaMemcpy(dev.mutable_data(), host.data(), host.nbytes(), cudaMemcpyHostToDevice), cudaSuccess);
  std::vector<float> back(257);
  ASSERT_EQ(cudaMemcpy(back.data(), dev.data(), dev.nbytes(), cudaMemcpyDeviceToHost), cudaSuccess);
  for (int i = 0; i < 257; ++i) EXPECT_EQ(back[static_cast<size_t>(i)], static_cast<float>(i) * 0.5f);
}

TEST(CudaAllocator, MissingDeviceIsAClearError) {
  try {
    Tensor::empty({1}, DType::F32, Device::cuda(63));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("cuda:63"), std::string::npos);
  }
}
