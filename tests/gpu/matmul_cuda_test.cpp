// CUDA matmul (cuBLASLt) against the CPU op and a float64 reference on random inputs, with
// NaN-poisoned outputs: f32, bf16, f16; odd shapes (M = 1, M = 7, N = 1, K not a multiple of 8);
// with and without bias (the epilogue when bias has out's dtype, the f32 finishing kernel when
// not); mixed dtypes; column slices of wider buffers at aligned and misaligned offsets (which also
// exercises the algorithm cache, keyed on alignment). Outside its columns out stays NaN.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/matmul.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

// float64 x @ w^T + bias over contiguous host copies.
Tensor reference(const Tensor& x, const Tensor& w, const Tensor& bias) {
  const int64_t m = x.size(0), k = x.size(1), n = w.size(0);
  Tensor out = Tensor::empty({m, n}, DType::F32);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j) {
      double s = bias.defined() ? value_at(bias, j) : 0.0;
      for (int64_t p = 0; p < k; ++p)
        s += static_cast<double>(value_at(x, i * k + p)) * value_at(w, j * k + p);
      out.mutable_data_as<float>()[i * n + j] = static_cast<float>(s);
    }
  return out;
}

struct Dtypes {
  DType x, w, out, bias;
};

std::string name(const Dtypes& d) {
  return "x " + std::string(dtype_name(d.x)) + ", w " + std::string(dtype_name(d.w)) + ", out " +
         std::string(dtype_name(d.out)) + ", bias " + std::string(dtype_name(d.bias));
}

double tolerance_of(const Dtypes& d) {
  const bool all_f32 = d.x == DType::F32 && d.w == DType::F32 && d.out == DType::F32;
  return all_f32 ? 1e-5 : 1e-2;
}

// Runs one product on the CPU and the GPU, x, weight and out each a column slice starting at
// `offset` of a wider buffer (offset 0 and no padding: contiguous), and checks both results.
void check_product(int64_t m, int64_t n, int64_t k, const Dtypes& d, bool with_bias, int64_t offset,
                   std::mt19937& rng) {
  SCOPED_TRACE("M=" + std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k) +
               " " + name(d) + (with_bias ? "" : " (no bias)") +
               " offset=" + std::to_string(offset));
  const int64_t pad = offset == 0 ? 0 : offset + 3;
  const Tensor xw = random_cpu({m, k + pad}, d.x, rng);
  const Tensor ww = random_cpu({n, k + pad}, d.w, rng);
  // bias too starts `offset` elements into its buffer (still contiguous, possibly misaligned).
  const Tensor bias_wide = with_bias ? random_cpu({n + offset}, d.bias, rng) : Tensor();
  const Tensor bias = with_bias ? bias_wide.slice(0, offset, offset + n) : Tensor();
  const Tensor x = xw.slice(1, offset, offset + k), w = ww.slice(1, offset, offset + k);

  Tensor cpu_out = Tensor::empty({m, n}, d.out);
  ops::matmul(x, w, bias, cpu_out);

  const Tensor gxw = to_gpu(xw), gww = to_gpu(ww);
  const Tensor gbias = with_bias ? to_gpu(bias_wide).slice(0, offset, offset + n) : Tensor();
  Tensor gout_wide = poisoned_gpu({m, n + pad}, d.out);
  Tensor gout = gout_wide.slice(1, offset, offset + n);
  ops::matmul(gxw.slice(1, offset, offset + k), gww.slice(1, offset, offset + k), gbias, gout);

  const Tensor wide = to_cpu(gout_wide);
  const Tensor got = wide.slice(1, offset, offset + n).contiguous();
  expect_close(got, cpu_out, tolerance_of(d), "against the CPU op");
  expect_close(got,
               reference(x.contiguous(), w.contiguous(), bias.defined() ? bias.contiguous() : bias),
               tolerance_of(d), "against float64");
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n + pad; ++j)
      if (j < offset || j >= offset + n) {
        ASSERT_TRUE(std::isnan(value_at(wide, i * (n + pad) + j)))
            << "wrote outside out's columns at [" << i << ", " << j << "]";
      }
}

const std::vector<std::vector<int64_t>> kShapes = {
    {1, 1, 1},      {1, 64, 128},  {1, 300, 999},   {7, 1, 17},         {7, 33, 100},
    {16, 256, 512}, {33, 130, 72}, {64, 384, 1000}, {128, 96, 4096 + 5}};

TEST(CudaMatmul, SameDtypesMatchCpuAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(11);
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (const auto& s : kShapes)
      for (bool with_bias : {false, true})
        check_product(s[0], s[1], s[2], {dt, dt, dt, dt}, with_bias, 0, rng);
}

TEST(CudaMatmul, MixedDtypesMatchCpuAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(12);
  const Dtypes mixed[] = {
      {DType::BF16, DType::BF16, DType::F32, DType::F32},   // 16-bit in, f32 out: one call
      {DType::F16, DType::F16, DType::F32, DType::F32},     // the same for f16
      {DType::BF16, DType::BF16, DType::BF16, DType::F32},  // f32 bias on bf16 out
      {DType::F16, DType::F16, DType::BF16, DType::F16},    // out differs from the inputs
      {DType::F32, DType::F32, DType::BF16, DType::BF16},   // f32 in, 16-bit out
      {DType::BF16, DType::F32, DType::F32, DType::F32},    // x and weight differ
      {DType::F32, DType::F16, DType::F16, DType::F16},
      {DType::BF16, DType::F16, DType::F32, DType::BF16},
  };
  for (const Dtypes& d : mixed)
    for (const auto& s : {std::vector<int64_t>{1, 64, 100}, {7, 33, 17}, {40, 200, 512}})
      for (bool with_bias : {false, true}) check_product(s[0], s[1], s[2], d, with_bias, 0, rng);
}

TEST(CudaMatmul, StridedAndMisalignedSlices) {
  REQUIRE_GPU();
  std::mt19937 rng(13);
  for (DType dt : {DType::F32, DType::BF16, DType::F16})
    for (const auto& s : {std::vector<int64_t>{1, 48, 64}, {7, 33, 100}, {64, 128, 256}})
      for (int64_t offset : {0, 8, 1, 3})
        for (bool with_bias : {false, true})
          check_product(s[0], s[1], s[2], {dt, dt, dt, dt}, with_bias, offset, rng);
}

// Decode-sized batches (M <= 8, 16-bit x and weight, K a multiple of 8, aligned rows) take the
// small-batch kernel: every M, out and bias dtypes, K not a multiple of its 1,024-element stride,
// N not a multiple of its 8 columns per block, aligned slices (offset 8) and misaligned ones
// (offset 1, which go to cuBLASLt).
TEST(CudaMatmul, SmallBatchKernel) {
  REQUIRE_GPU();
  std::mt19937 rng(14);
  for (DType dt : {DType::BF16, DType::F16})
    for (int64_t m = 1; m <= 8; ++m)
      for (const auto& nk : {std::vector<int64_t>{4099, 1032}, {13, 4096}, {300, 8}})
        for (const Dtypes& d : {Dtypes{dt, dt, dt, dt}, Dtypes{dt, dt, DType::F32, DType::F32},
                                Dtypes{dt, dt, dt, DType::F32}})
          check_product(m, nk[0], nk[1], d, m % 2 == 0, m == 3 ? 8 : (m == 5 ? 1 : 0), rng);
}

// The same shape again, after other shapes: the cached algorithm gives the same result.
TEST(CudaMatmul, RepeatedShapesAreStable) {
  REQUIRE_GPU();
  std::mt19937 rng(14);
  const Tensor x = random_cpu({9, 320}, DType::BF16, rng),
               w = random_cpu({200, 320}, DType::BF16, rng);
  const Tensor gx = to_gpu(x), gw = to_gpu(w);
  Tensor first = poisoned_gpu({9, 200}, DType::BF16);
  ops::matmul(gx, gw, first);
  const Tensor want = to_cpu(first);
  for (int i = 0; i < 3; ++i) {
    Tensor other = poisoned_gpu({3, 200}, DType::BF16);
    ops::matmul(gx.slice(0, 0, 3), gw, other);
    Tensor again = poisoned_gpu({9, 200}, DType::BF16);
    ops::matmul(gx, gw, again);
    const Tensor got = to_cpu(again);
    for (int64_t j = 0; j < got.numel(); ++j) ASSERT_EQ(value_at(got, j), value_at(want, j));
  }
}

}  // namespace

// K = 0: an empty sum, so out = bias (or 0), which cuBLASLt is never asked for.
TEST(CudaMatmul, EmptyInnerDimensionGivesBias) {
  REQUIRE_GPU();
  std::mt19937 rng(15);
  for (DType dt : {DType::F32, DType::BF16}) {
    const Tensor bias = random_cpu({5}, dt, rng);
    Tensor gout = poisoned_gpu({3, 5}, dt);
    ops::matmul(Tensor::empty({3, 0}, dt, Device::cuda(0)),
                Tensor::empty({5, 0}, dt, Device::cuda(0)), to_gpu(bias), gout);
    const Tensor got = to_cpu(gout);
    for (int64_t i = 0; i < 3; ++i)
      for (int64_t j = 0; j < 5; ++j) ASSERT_EQ(value_at(got, i * 5 + j), value_at(bias, j));
  }
}
