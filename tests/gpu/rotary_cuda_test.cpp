// CUDA apply_rotary against the CPU op and a float64 reference on random q/k, in place on the q
// and k slices of a fused qkv buffer (strided rows): f32, bf16, f16; neox and GPT-J pairing; full
// and partial rotary_dim; with and without key; i32 and i64 positions, strided. Everything the op
// must not touch (v, the pass-through dimensions, key when absent) is checked bit for bit.
// Out-of-range positions throw InvalidArgument naming the position, before q or k change.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "gpu_test_util.h"
#include "ops/rotary.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

// f32 [rows, rotary_dim]: cos(p f_i) then sin(p f_i), f_i = 10000^(-2i / rotary_dim).
Tensor make_cache(int64_t rows, int64_t rotary_dim) {
  Tensor c = Tensor::empty({rows, rotary_dim}, DType::F32);
  const int64_t half = rotary_dim / 2;
  for (int64_t p = 0; p < rows; ++p)
    for (int64_t i = 0; i < half; ++i) {
      const double angle =
          static_cast<double>(p) * std::pow(10000.0, -2.0 * static_cast<double>(i) / rotary_dim);
      c.mutable_data_as<float>()[p * rotary_dim + i] = static_cast<float>(std::cos(angle));
      c.mutable_data_as<float>()[p * rotary_dim + half + i] = static_cast<float>(std::sin(angle));
    }
  return c;
}

// [count] positions, every other element of a [2 * count] buffer when strided.
Tensor make_positions(const std::vector<int64_t>& values, DType dtype, bool strided) {
  const int64_t n = static_cast<int64_t>(values.size());
  Tensor buf = Tensor::empty({strided ? 2 * n : n}, dtype);
  for (int64_t i = 0; i < buf.numel(); ++i) {
    const int64_t v = strided ? (i % 2 == 0 ? values[i / 2] : -3) : values[i];
    if (dtype == DType::I64)
      buf.mutable_data_as<int64_t>()[i] = v;
    else
      buf.mutable_data_as<int32_t>()[i] = static_cast<int32_t>(v);
  }
  return buf;
}

Tensor every_other(const Tensor& t, bool strided) {
  return strided ? t.slice(0, 0, t.size(0), 2) : t;
}

struct Case {
  DType dtype;
  bool neox;
  int64_t head_size, rotary_dim, tokens, q_heads, kv_heads;
};

// Float64 rotation of the whole fused buffer: columns [0, q_heads * hs) and, with key, the next
// kv_heads * hs; the rest copied.
Tensor reference(const Tensor& fused, const Tensor& cache, const std::vector<int64_t>& pos,
                 const Case& c, bool with_key) {
  const int64_t width = fused.size(1), half = c.rotary_dim / 2;
  Tensor out = Tensor::empty(fused.shape(), DType::F32);
  for (int64_t i = 0; i < fused.numel(); ++i) out.mutable_data_as<float>()[i] = value_at(fused, i);
  const int64_t heads = c.q_heads + (with_key ? c.kv_heads : 0);
  for (int64_t t = 0; t < c.tokens; ++t)
    for (int64_t h = 0; h < heads; ++h)
      for (int64_t j = 0; j < half; ++j) {
        const int64_t base = t * width + h * c.head_size;
        const int64_t a = base + (c.neox ? j : 2 * j), b = base + (c.neox ? j + half : 2 * j + 1);
        const double x1 = value_at(fused, a), x2 = value_at(fused, b);
        const int64_t row = pos[static_cast<size_t>(t)] * c.rotary_dim;
        const double cs = value_at(cache, row + j), sn = value_at(cache, row + half + j);
        out.mutable_data_as<float>()[a] = static_cast<float>(x1 * cs - x2 * sn);
        out.mutable_data_as<float>()[b] = static_cast<float>(x2 * cs + x1 * sn);
      }
  return out;
}

std::vector<Case> cases() {
  std::vector<Case> v;
  for (DType d : {DType::F32, DType::BF16, DType::F16})
    for (bool neox : {true, false}) {
      v.push_back({d, neox, 64, 64, 1, 4, 4});
      v.push_back({d, neox, 128, 128, 7, 8, 2});
      v.push_back({d, neox, 128, 64, 33, 6, 2});  // partial rotary (GLM, Phi)
      v.push_back({d, neox, 80, 32, 5, 3, 1});    // partial, odd head count
      v.push_back({d, neox, 96, 96, 300, 2, 1});
    }
  return v;
}

TEST(CudaRotary, MatchesCpuOpAndFloat64) {
  REQUIRE_GPU();
  std::mt19937 rng(31);
  const int64_t cache_rows = 4096;
  for (const Case& c : cases())
    for (bool with_key : {true, false})
      for (DType pdt : {DType::I64, DType::I32})
        for (bool strided : {false, true}) {
          SCOPED_TRACE(std::string(dtype_name(c.dtype)) + (c.neox ? " neox" : " gptj") + " hs=" +
                       std::to_string(c.head_size) + " rd=" + std::to_string(c.rotary_dim) +
                       " T=" + std::to_string(c.tokens) + (with_key ? "" : " no key") +
                       " positions " + std::string(dtype_name(pdt)) + (strided ? " strided" : ""));
          const Tensor cache = make_cache(cache_rows, c.rotary_dim);
          std::vector<int64_t> pos(static_cast<size_t>(c.tokens));
          std::uniform_int_distribution<int64_t> pick(0, cache_rows - 1);
          for (auto& p : pos) p = pick(rng);
          pos[0] = cache_rows - 1;
          const Tensor pos_buf = make_positions(pos, pdt, strided);
          const int64_t qw = c.q_heads * c.head_size, kw = c.kv_heads * c.head_size;
          const Tensor fused = random_cpu({c.tokens, qw + 2 * kw}, c.dtype, rng);

          Tensor cpu = fused.clone();
          Tensor cq = cpu.slice(1, 0, qw), ck = with_key ? cpu.slice(1, qw, qw + kw) : Tensor();
          ops::apply_rotary(every_other(pos_buf, strided), cq, ck, cache, c.head_size, c.neox);

          Tensor gpu = to_gpu(fused);
          Tensor gq = gpu.slice(1, 0, qw), gk = with_key ? gpu.slice(1, qw, qw + kw) : Tensor();
          ops::apply_rotary(every_other(to_gpu(pos_buf), strided), gq, gk, to_gpu(cache),
                            c.head_size, c.neox);
          const Tensor got = to_cpu(gpu);

          // Rotated values against the CPU op and float64; untouched values exactly equal.
          const Tensor ref = reference(fused, cache, pos, c, with_key);
          expect_close(got, cpu, tolerance(c.dtype), "against the CPU op");
          expect_close(got, ref, tolerance(c.dtype), "against float64");
          const int64_t width = qw + 2 * kw,
                        rotated_heads = c.q_heads + (with_key ? c.kv_heads : 0);
          for (int64_t t = 0; t < c.tokens; ++t)
            for (int64_t col = 0; col < width; ++col) {
              const int64_t head = col / c.head_size, within = col % c.head_size;
              if (head < rotated_heads && within < c.rotary_dim) continue;
              const int64_t i = t * width + col;
              ASSERT_EQ(value_at(got, i), value_at(fused, i))
                  << "changed [" << t << ", " << col << "]";
            }
        }
}

TEST(CudaRotary, OutOfRangePositionThrowsBeforeRotating) {
  REQUIRE_GPU();
  std::mt19937 rng(32);
  const int64_t cache_rows = 100, hs = 64, tokens = 6;
  const Tensor gcache = to_gpu(make_cache(cache_rows, hs));
  for (DType pdt : {DType::I64, DType::I32})
    for (int64_t bad : {cache_rows, int64_t{-1}, int64_t{1} << 20}) {
      SCOPED_TRACE(std::string(dtype_name(pdt)) + " position " + std::to_string(bad));
      std::vector<int64_t> pos = {0, 1, 2, bad, 4, cache_rows + 7};
      const Tensor q = random_cpu({tokens, 2 * hs}, DType::BF16, rng);
      const Tensor k = random_cpu({tokens, hs}, DType::BF16, rng);
      Tensor gq = to_gpu(q), gk = to_gpu(k);
      try {
        ops::apply_rotary(to_gpu(make_positions(pos, pdt, false)), gq, gk, gcache, hs, true);
        FAIL() << "an out-of-range position was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        const std::string msg = e.what();
        EXPECT_NE(msg.find("positions[3] = " + std::to_string(bad)), std::string::npos) << msg;
        EXPECT_NE(msg.find("[0, 100)"), std::string::npos) << msg;
      }
      const Tensor bq = to_cpu(gq), bk = to_cpu(gk);
      for (int64_t i = 0; i < q.numel(); ++i) ASSERT_EQ(value_at(bq, i), value_at(q, i));
      for (int64_t i = 0; i < k.numel(); ++i) ASSERT_EQ(value_at(bk, i), value_at(k, i));
    }
}

}  // namespace
