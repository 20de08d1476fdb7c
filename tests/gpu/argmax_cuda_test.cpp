// CUDA argmax against the CPU op and a plain reference scan, exactly: ties to the lowest index
// (including -0 against +0, and the many ties of bf16), NaN as the largest value with the first
// NaN winning, all -inf rows, f32/bf16/f16, vocabulary-long rows (128256) and odd lengths,
// strided rows at every misalignment (the 16-byte loads start after a scalar head), 1-d and
// 3-d inputs. Outputs are poisoned before each run. Also prints the kernel's bandwidth on
// [64, 128256] bf16 logits.
#include <gtest/gtest.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/argmax.h"
#include "ops/cuda/cuda_runtime.h"
#include "ops/reference.h"
#include "pagoda/tensor.h"

using namespace pagoda;
using namespace pagoda::testing;
using pagoda::test::to_f64;

namespace {

constexpr DType kTypes[] = {DType::F32, DType::BF16, DType::F16};

// First NaN, else the first largest value, of each row of x.
std::vector<int64_t> reference(const Tensor& x) {
  const std::vector<double> v = to_f64(x);
  const int64_t n = x.size(-1), rows = x.numel() / n;
  std::vector<int64_t> out(static_cast<size_t>(rows));
  for (int64_t r = 0; r < rows; ++r) {
    int64_t best = 0;
    for (int64_t i = 0; i < n; ++i) {
      const double a = v[static_cast<size_t>(r * n + i)];
      const double b = v[static_cast<size_t>(r * n + best)];
      if (std::isnan(a)) {
        best = i;
        break;
      }
      if (a > b) best = i;
    }
    out[static_cast<size_t>(r)] = best;
  }
  return out;
}

std::vector<int64_t> indices(const Tensor& t) {
  const Tensor c = t.device().is_cpu() ? t : to_cpu(t);
  const int64_t* p = c.data_as<int64_t>();
  return std::vector<int64_t>(p, p + c.numel());
}

Tensor poisoned_index(const Shape& shape) {
  Tensor t = Tensor::empty(shape, DType::I64);
  for (int64_t i = 0; i < t.numel(); ++i) t.mutable_data_as<int64_t>()[i] = -12345;
  return to_gpu(t);
}

// Row r gets a pattern: plain random, ties of the maximum, NaNs, all -inf, -0/+0 maxima, ...
void plant(Tensor& x, int64_t rows, int64_t n, std::mt19937& rng) {
  const float inf = std::numeric_limits<float>::infinity();
  const float nan = std::numeric_limits<float>::quiet_NaN();
  std::uniform_int_distribution<int64_t> col(0, n - 1);
  for (int64_t r = 0; r < rows; ++r) {
    const int64_t base = r * n;
    switch (r % 8) {
      case 0:
        break;  // random values
      case 1:   // the maximum three times
        for (int k = 0; k < 3; ++k) set_at(x, base + col(rng), 50.0f);
        break;
      case 2:  // two NaNs and a +inf
        set_at(x, base + col(rng), inf);
        set_at(x, base + col(rng), nan);
        set_at(x, base + col(rng), -nan);
        break;
      case 3:
        for (int64_t i = 0; i < n; ++i) set_at(x, base + i, -inf);
        break;
      case 4:  // -0 and +0 as the maximum
        for (int64_t i = 0; i < n; ++i) set_at(x, base + i, -1.0f);
        set_at(x, base + col(rng), -0.0f);
        set_at(x, base + col(rng), 0.0f);
        break;
      case 5:  // everything equal
        for (int64_t i = 0; i < n; ++i) set_at(x, base + i, 3.0f);
        break;
      case 6:  // maximum in the last element
        set_at(x, base + n - 1, 60.0f);
        break;
      case 7:  // NaN in the first element
        set_at(x, base, nan);
        set_at(x, base + n - 1, nan);
        break;
    }
  }
}

TEST(CudaArgmax, ContiguousTiesAndNaNMatchCpuExactly) {
  REQUIRE_GPU();
  std::mt19937 rng(41);
  for (DType d : kTypes)
    for (auto [rows, n] : {std::pair<int64_t, int64_t>{1, 1},
                           {8, 1},
                           {8, 17},
                           {16, 1000},
                           {8, 128256},
                           {9, 4099},
                           {3, 32000}}) {
      SCOPED_TRACE(std::string(dtype_name(d)) + " " + std::to_string(rows) + "x" +
                   std::to_string(n));
      Tensor x = random_cpu({rows, n}, d, rng, -4, 4);
      plant(x, rows, n, rng);
      Tensor want = Tensor::empty({rows}, DType::I64);
      ops::argmax(x, want);
      Tensor gout = poisoned_index({rows});
      ops::argmax(to_gpu(x), gout);
      EXPECT_EQ(indices(gout), indices(want)) << "against the CPU op";
      EXPECT_EQ(indices(gout), reference(x)) << "against the reference scan";
    }
}

TEST(CudaArgmax, StridedRowsAtEveryMisalignment) {
  REQUIRE_GPU();
  std::mt19937 rng(42);
  for (DType d : kTypes)
    for (int64_t col = 0; col < 9; ++col) {
      const int64_t rows = 16, n = 5000 + col, width = n + 16;
      SCOPED_TRACE(std::string(dtype_name(d)) + " col " + std::to_string(col));
      Tensor full = random_cpu({rows, width}, d, rng);
      // Distractors outside the view: larger values and NaNs in the gaps.
      for (int64_t r = 0; r < rows; ++r) {
        if (col > 0) set_at(full, r * width + col - 1, 1000.0f);
        set_at(full, r * width + col + n, std::numeric_limits<float>::quiet_NaN());
      }
      Tensor inner = Tensor::empty({rows, n}, d);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < n; ++i)
          set_at(inner, r * n + i, value_at(full, r * width + col + i));
      plant(inner, rows, n, rng);
      for (int64_t r = 0; r < rows; ++r)
        for (int64_t i = 0; i < n; ++i)
          set_at(full, r * width + col + i, value_at(inner, r * n + i));
      const Tensor x = full.slice(1, col, col + n);
      Tensor want = Tensor::empty({rows}, DType::I64);
      ops::argmax(x, want);
      Tensor gfull = to_gpu(full);
      Tensor gout = poisoned_index({rows});
      ops::argmax(same_view_on(x, full, gfull), gout);
      EXPECT_EQ(indices(gout), indices(want)) << "against the CPU op";
      EXPECT_EQ(indices(gout), reference(x)) << "against the reference scan";
    }
}

TEST(CudaArgmax, OneAndThreeDims) {
  REQUIRE_GPU();
  std::mt19937 rng(43);
  Tensor v = random_cpu({1000}, DType::BF16, rng);
  Tensor want = Tensor::empty({}, DType::I64);
  ops::argmax(v, want);
  Tensor gout = poisoned_index({});
  ops::argmax(to_gpu(v), gout);
  EXPECT_EQ(indices(gout), indices(want));
  // [2, 3, 50] strided inside [2, 4, 64].
  const Tensor base = random_cpu({2, 4, 64}, DType::F16, rng);
  const Tensor x = base.slice(1, 1, 4).slice(2, 5, 55);
  Tensor want3 = Tensor::empty({2, 3}, DType::I64);
  ops::argmax(x, want3);
  Tensor gout3 = poisoned_index({2, 3});
  Tensor gbase = to_gpu(base);
  ops::argmax(same_view_on(x, base, gbase), gout3);
  EXPECT_EQ(indices(gout3), indices(want3));
  EXPECT_EQ(indices(gout3), reference(x));
}

TEST(CudaArgmax, VocabularyRowsBandwidth) {
  REQUIRE_GPU();
  std::mt19937 rng(44);
  for (int64_t rows : {int64_t{1}, int64_t{64}, int64_t{256}}) {
    const int64_t n = 128256;
    Tensor x = random_cpu({rows, n}, DType::BF16, rng);
    Tensor gx = to_gpu(x), gout = poisoned_index({rows});
    ops::argmax(gx, gout);
    cuda::synchronize(Device::cuda(0));
    const int iters = 50;
    const auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < iters; ++i) ops::argmax(gx, gout);
    cuda::synchronize(Device::cuda(0));
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / iters;
    std::printf("argmax [%lld, 128256] bf16: %.1f us, %.0f GB/s\n", static_cast<long long>(rows),
                s * 1e6, static_cast<double>(x.nbytes()) / s / 1e9);
    EXPECT_EQ(indices(gout), reference(x));
  }
}

}  // namespace
