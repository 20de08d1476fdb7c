// CUDA embedding against the CPU op (bit for bit) and the table itself (a float64 reference of a
// lookup is the table value rounded to out's dtype), with NaN-poisoned outputs: every table/out
// dtype pair, i32 and i64 ids, strided ids, table rows and out rows, odd widths. Out-of-range ids
// throw InvalidArgument naming the position, the id and V, with out left untouched.
#include <gtest/gtest.h>

#include <cmath>
#include <random>
#include <string>

#include "gpu_test_util.h"
#include "ops/embedding.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

constexpr DType kActivationTypes[] = {DType::F32, DType::BF16, DType::F16};

// [count] ids as `dtype`, every other element of a [2 * count] buffer when strided.
Tensor make_ids(const std::vector<int64_t>& values, DType dtype, bool strided) {
  const int64_t n = static_cast<int64_t>(values.size());
  Tensor buf = Tensor::empty({strided ? 2 * n : n}, dtype);
  for (int64_t i = 0; i < buf.numel(); ++i) {
    const int64_t v = strided ? (i % 2 == 0 ? values[i / 2] : -7) : values[i];
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

TEST(CudaEmbedding, MatchesCpuOpAndTable) {
  REQUIRE_GPU();
  std::mt19937 rng(21);
  const int64_t vocab = 1000;
  for (DType td : kActivationTypes)
    for (DType od : kActivationTypes)
      for (auto [tokens, h] : {std::pair<int64_t, int64_t>{1, 64}, {7, 17}, {100, 4096}, {33, 1}})
        for (DType idt : {DType::I32, DType::I64})
          for (bool strided : {false, true}) {
            SCOPED_TRACE(std::string("table ") + std::string(dtype_name(td)) + " out " +
                         std::string(dtype_name(od)) + " T=" + std::to_string(tokens) +
                         " H=" + std::to_string(h) + " ids " + std::string(dtype_name(idt)) +
                         (strided ? " strided" : ""));
            std::vector<int64_t> values(static_cast<size_t>(tokens));
            std::uniform_int_distribution<int64_t> pick(0, vocab - 1);
            for (auto& v : values) v = pick(rng);
            values[0] = vocab - 1;  // the last row is reachable
            if (tokens > 1) values[1] = 0;
            const Tensor ids_buf = make_ids(values, idt, strided);
            // Strided table rows: the table is the first h columns of a wider one.
            const int64_t pad = strided ? 5 : 0;
            const Tensor table_wide = random_cpu({vocab, h + pad}, td, rng);
            const Tensor table = table_wide.slice(1, 0, h);
            Tensor cpu_out = Tensor::empty({tokens, h}, od);
            ops::embedding(every_other(ids_buf, strided), table, cpu_out);

            const Tensor gids = every_other(to_gpu(ids_buf), strided);
            const Tensor gtable = to_gpu(table_wide).slice(1, 0, h);
            Tensor gout_wide = poisoned_gpu({tokens, h + pad}, od);
            Tensor gout = gout_wide.slice(1, pad, pad + h);  // strided out rows too
            ops::embedding(gids, gtable, gout);
            const Tensor wide = to_cpu(gout_wide);
            const Tensor got = wide.slice(1, pad, pad + h).contiguous();
            for (int64_t i = 0; i < got.numel(); ++i)
              ASSERT_EQ(value_at(got, i), value_at(cpu_out, i)) << "element " << i;
            // The reference: the table's row, rounded to out's dtype.
            Tensor ref = Tensor::empty({tokens, h}, od);
            const Tensor tc = table.contiguous();
            for (int64_t t = 0; t < tokens; ++t)
              for (int64_t j = 0; j < h; ++j)
                set_at(ref, t * h + j, value_at(tc, values[static_cast<size_t>(t)] * h + j));
            expect_close(got, ref, 0.0, "against the table");
            for (int64_t t = 0; t < tokens; ++t)
              for (int64_t j = 0; j < pad; ++j)
                ASSERT_TRUE(std::isnan(value_at(wide, t * (h + pad) + j))) << "wrote outside out";
          }
}

TEST(CudaEmbedding, OutOfRangeIdThrowsBeforeWriting) {
  REQUIRE_GPU();
  std::mt19937 rng(22);
  const int64_t vocab = 1000, tokens = 9, h = 64;
  const Tensor gtable = to_gpu(random_cpu({vocab, h}, DType::BF16, rng));
  for (DType idt : {DType::I32, DType::I64})
    for (int64_t bad : {vocab, int64_t{-1}, int64_t{123456}}) {
      SCOPED_TRACE(std::string(dtype_name(idt)) + " id " + std::to_string(bad));
      std::vector<int64_t> values(tokens, 5);
      values[6] = bad;
      values[8] = vocab + 1;  // a later bad id: the first one is reported
      Tensor gout = poisoned_gpu({tokens, h}, DType::BF16);
      try {
        ops::embedding(to_gpu(make_ids(values, idt, false)), gtable, gout);
        FAIL() << "an out-of-range id was accepted";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::InvalidArgument);
        const std::string msg = e.what();
        EXPECT_NE(msg.find("ids[6] = " + std::to_string(bad)), std::string::npos) << msg;
        EXPECT_NE(msg.find("[0, 1000)"), std::string::npos) << msg;
      }
      const Tensor back = to_cpu(gout);
      for (int64_t i = 0; i < back.numel(); ++i)
        ASSERT_TRUE(std::isnan(value_at(back, i))) << "element " << i << " was written";
    }
}

}  // namespace
