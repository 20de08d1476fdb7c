// CUDA RMS norm and fused residual-add RMS norm against the CPU op and a float64 reference, on
// fresh random inputs, with outputs poisoned (NaN) before every run so an unwritten element
// fails; f32, bf16 and f16; strided rows; in place; both weight forms. Also the caching allocator
// and cross-device copies the ops rely on.
#include <gtest/gtest.h>

#include <cmath>
#include <limits>
#include <random>

#include "gpu_test_util.h"
#include "ops/cuda/cuda_allocator.h"
#include "ops/rms_norm.h"
#include "pagoda/error.h"
#include "pagoda/tensor.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

// float64 RMS norm of each row of a contiguous [rows, H] float copy.
std::vector<double> reference(const Tensor& x, const Tensor& w, double eps, bool one_plus) {
  const int64_t h = x.size(x.dim() - 1), rows = x.numel() / h;
  std::vector<double> out(static_cast<size_t>(x.numel()));
  for (int64_t r = 0; r < rows; ++r) {
    double ss = 0;
    for (int64_t i = 0; i < h; ++i) ss += std::pow(value_at(x, r * h + i), 2);
    const double inv = 1.0 / std::sqrt(ss / static_cast<double>(h) + eps);
    for (int64_t i = 0; i < h; ++i) {
      const double wv = w.defined() ? value_at(w, i) : (one_plus ? 0.0 : 1.0);
      out[static_cast<size_t>(r * h + i)] = value_at(x, r * h + i) * inv * (one_plus ? 1 + wv : wv);
    }
  }
  return out;
}

struct Case {
  DType dtype;
  DType weight;
  int64_t rows, hidden;
  bool one_plus;
  bool with_weight;
};

std::vector<Case> cases() {
  std::vector<Case> v;
  for (DType d : {DType::F32, DType::BF16, DType::F16})
    for (DType w : {DType::F32, DType::BF16})
      for (auto [rows, hidden] : {std::pair<int64_t, int64_t>{1, 64}, {7, 4096}, {33, 1000},
                                  {5, 5120}, {3, 17}})
        for (bool one_plus : {false, true})
          v.push_back({d, w, rows, hidden, one_plus, !(rows == 3 && !one_plus)});
  return v;
}

TEST(CudaRmsNorm, MatchesCpuOpAndFloat64Reference) {
  REQUIRE_GPU();
  std::mt19937 rng(1);
  for (const Case& c : cases()) {
    SCOPED_TRACE(std::string(dtype_name(c.dtype)) + " w=" + std::string(dtype_name(c.weight)) + " " +
                 std::to_string(c.rows) + "x" + std::to_string(c.hidden) +
                 (c.one_plus ? " one_plus" : "") + (c.with_weight ? "" : " no weight"));
    const auto form = c.one_plus ? ops::RmsNormWeight::OnePlus : ops::RmsNormWeight::Plain;
    Tensor x = random_cpu({c.rows, c.hidden}, c.dtype, rng);
    Tensor w = c.with_weight ? random_cpu({c.hidden}, c.weight, rng, 0.5f, 1.5f) : Tensor();
    Tensor cpu_out = Tensor::empty(x.shape(), c.dtype);
    ops::rms_norm(x, w, 1e-6, cpu_out, form);
    Tensor gx = to_gpu(x), gw = w.defined() ? to_gpu(w) : Tensor();
    Tensor gout = poisoned_gpu(x.shape(), c.dtype);
    ops::rms_norm(gx, gw, 1e-6, gout, form);
    const Tensor got = to_cpu(gout);
    expect_close(got, cpu_out, tolerance(c.dtype), "against the CPU op");
    const auto ref = reference(x, w, 1e-6, c.one_plus);
    Tensor ref_t = Tensor::empty(x.shape(), DType::F32);
    for (int64_t i = 0; i < x.numel(); ++i)
      ref_t.mutable_data_as<float>()[i] = static_cast<float>(ref[static_cast<size_t>(i)]);
    expect_close(got, ref_t, tolerance(c.dtype), "against float64");
  }
}

TEST(CudaRmsNorm, StridedRowsAndInPlace) {
  REQUIRE_GPU();
  std::mt19937 rng(2);
  // q/k norm over [tokens, heads, head_size] views of a fused [tokens, 3 * heads * head_size].
  const int64_t tokens = 9, heads = 4, hs = 128;
  Tensor fused = random_cpu({tokens, 3 * heads * hs}, DType::BF16, rng);
  Tensor w = random_cpu({hs}, DType::BF16, rng, 0.5f, 1.5f);
  Tensor gfused = to_gpu(fused), gw = to_gpu(w);
  // The middle third (k) of each token's row, as a strided [tokens, heads, hs] view.
  Tensor q_cpu = fused.view({tokens, 3, heads, hs}).select(1, 1);
  Tensor q_gpu = gfused.view({tokens, 3, heads, hs}).select(1, 1);
  Tensor expected = Tensor::empty({tokens, heads, hs}, DType::BF16);
  ops::rms_norm(q_cpu, w, 1e-6, expected);
  ops::rms_norm(q_gpu, gw, 1e-6, q_gpu);  // in place, through the strided view
  const Tensor back = to_cpu(gfused);
  const Tensor got = back.slice(1, heads * hs, 2 * heads * hs).contiguous();
  expect_close(got, expected.view({tokens, heads * hs}), 1e-2, "strided in place");
  // The other two thirds are untouched.
  for (int64_t t = 0; t < tokens; ++t)
    for (int64_t i = 0; i < heads * hs; ++i) {
      ASSERT_EQ(value_at(back, t * 3 * heads * hs + i), value_at(fused, t * 3 * heads * hs + i));
      const int64_t v = t * 3 * heads * hs + 2 * heads * hs + i;
      ASSERT_EQ(value_at(back, v), value_at(fused, v));
    }
}

TEST(CudaFusedAddRmsNorm, MatchesCpuOp) {
  REQUIRE_GPU();
  std::mt19937 rng(3);
  for (DType d : {DType::F32, DType::BF16, DType::F16})
    for (int64_t hidden : {64, 2048, 4096, 333}) {
      SCOPED_TRACE(std::string(dtype_name(d)) + " H=" + std::to_string(hidden));
      Tensor x = random_cpu({11, hidden}, d, rng), res = random_cpu({11, hidden}, d, rng);
      Tensor w = random_cpu({hidden}, d, rng, 0.5f, 1.5f);
      Tensor gx = to_gpu(x), gres = to_gpu(res), gw = to_gpu(w);
      Tensor cx = x.clone(), cres = res.clone();
      ops::fused_add_rms_norm(cx, cres, w, 1e-5);
      ops::fused_add_rms_norm(gx, gres, gw, 1e-5);
      expect_close(to_cpu(gres), cres, d == DType::F32 ? 1e-6 : 1e-2, "residual");
      expect_close(to_cpu(gx), cx, tolerance(d), "normalised");
    }
}

TEST(CudaCachingAllocator, FreedBlocksAreReusedWithoutNewDeviceMemory) {
  REQUIRE_GPU();
  auto& stats = cuda::caching_allocator(0);
  { Tensor warm = Tensor::empty({1 << 20}, DType::F32, Device::cuda(0)); }
  const size_t reserved = stats.bytes_reserved();
  for (int i = 0; i < 100; ++i) {
    Tensor a = Tensor::empty({1 << 20}, DType::F32, Device::cuda(0));
    Tensor b = Tensor::empty({1000}, DType::BF16, Device::cuda(0));
  }
  EXPECT_LE(stats.bytes_reserved(), reserved + (size_t{4} << 20))
      << "repeated same-size allocations must come from the cache";
  EXPECT_GT(stats.bytes_cached(), 0u);
  stats.empty_cache();
  EXPECT_EQ(stats.bytes_cached(), 0u);
}

TEST(CudaCopy, RoundTripAndDeviceToDevice) {
  REQUIRE_GPU();
  std::mt19937 rng(4);
  Tensor x = random_cpu({3, 1001}, DType::BF16, rng);
  Tensor g = to_gpu(x);
  Tensor g2 = Tensor::empty(g.shape(), g.dtype(), Device::cuda(0));
  g2.copy_from(g);
  const Tensor back = to_cpu(g2);
  for (int64_t i = 0; i < x.numel(); ++i) ASSERT_EQ(value_at(back, i), value_at(x, i));
  // Strided copies across devices are refused with the fix.
  Tensor strided = x.slice(1, 0, 1000, 2);
  Tensor dst = Tensor::empty(strided.shape(), DType::BF16, Device::cuda(0));
  try {
    dst.copy_from(strided);
    FAIL() << "a strided cross-device copy was accepted";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("contiguous"), std::string::npos) << e.what();
  }
}

}  // namespace
