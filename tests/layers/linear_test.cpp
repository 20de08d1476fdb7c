// The tensor-parallel linear layers at tp = 1, 2, 4, 8: each rank's loaders take exactly the slice
// the test computes with its own index arithmetic, and forward over ranks (threads of one
// in-process group) equals a float64 reference of the unsharded layer.
#include "pagoda/layers/linear.h"

#include <gtest/gtest.h>

#include "common/expect_error.h"
#include "layers/tp_test_util.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

constexpr int kTpSizes[] = {1, 2, 4, 8};
constexpr int64_t kIn = 24, kOut = 16, kTokens = 5;
constexpr double kTol = 1e-5;

// A 1-row Mat seen as a vector.
std::vector<double> vec(const Mat& m) {
  return m.v;
}
Mat cat_vec(const std::vector<const Mat*>& parts) {
  Mat out{1, 0, {}};
  for (const Mat* p : parts) {
    out.cols += p->cols;
    out.v.insert(out.v.end(), p->v.begin(), p->v.end());
  }
  return out;
}
// Element i of a 1-D tensor.
double at1(const Tensor& t, int64_t i) {
  return at(t.unsqueeze(0), 0, i);
}

// Fills every element of `t` with `value`, so a test can see whether a loader wrote.
void fill(Tensor t, float value) {
  Tensor src = Tensor::empty(t.shape(), DType::F32);
  float* p = src.mutable_data_as<float>();
  for (int64_t i = 0; i < src.numel(); ++i) p[i] = value;
  t.copy_from(src);
}

}  // namespace

// ------------------------------------------------------------------------------ loaders

TEST(LinearLoaders, ColumnParallelTakesThisRanksRows) {
  const Mat w = indexed_mat(kOut, kIn), b = indexed_mat(1, kOut, 0.5);
  for (int tp : kTpSizes) {
    auto group = make_in_process_group(tp);
    for (int rank = 0; rank < tp; ++rank) {
      ParameterSet params;
      ColumnParallelLinear layer(make_ctx(params, *group[rank], "mlp.up"), kIn, kOut, true);
      load(params, "mlp.up.weight", to_tensor(w));
      load(params, "mlp.up.bias", to_tensor(b, true));
      const int64_t rows = kOut / tp;
      ASSERT_EQ(layer.weight().shape(), Shape({rows, kIn}));
      ASSERT_EQ(layer.bias().shape(), Shape({rows}));
      EXPECT_EQ(layer.output_size_per_partition(), rows);
      for (int64_t i = 0; i < rows; ++i) {
        for (int64_t j = 0; j < kIn; ++j)
          ASSERT_EQ(at(layer.weight(), i, j), w(rank * rows + i, j));
        ASSERT_EQ(at1(layer.bias(), i), b(0, rank * rows + i));
      }
    }
  }
}

TEST(LinearLoaders, MergedColumnTakesEachPartsRowsSeparateOrFused) {
  const int64_t a = 16, c = 8;
  const Mat w0 = indexed_mat(a, kIn), w1 = indexed_mat(c, kIn, 0.25);
  const Mat b0 = indexed_mat(1, a, 0.5), b1 = indexed_mat(1, c, 0.75);
  const Mat fused_w = concat_rows({&w0, &w1}), fused_b = cat_vec({&b0, &b1});
  for (int tp : kTpSizes) {
    auto group = make_in_process_group(tp);
    for (int rank = 0; rank < tp; ++rank) {
      for (bool fused : {false, true}) {
        SCOPED_TRACE(::testing::Message()
                     << "tp " << tp << " rank " << rank << (fused ? " fused" : " separate"));
        ParameterSet params;
        MergedColumnParallelLinear layer(make_ctx(params, *group[rank], "mlp.gate_up"), kIn, {a, c},
                                         true);
        if (fused) {
          load(params, "mlp.gate_up.weight", to_tensor(fused_w));
          load(params, "mlp.gate_up.bias", to_tensor(fused_b, true));
        } else {
          load(params, "mlp.gate_up.weight", to_tensor(w1), "1");  // any order
          load(params, "mlp.gate_up.weight", to_tensor(w0), "0");
          load(params, "mlp.gate_up.bias", to_tensor(b0, true), "0");
          load(params, "mlp.gate_up.bias", to_tensor(b1, true), "1");
        }
        const int64_t ra = a / tp, rc = c / tp;
        ASSERT_EQ(layer.weight().shape(), Shape({ra + rc, kIn}));
        for (int64_t i = 0; i < ra + rc; ++i) {
          const bool first = i < ra;
          const Mat& w = first ? w0 : w1;
          const Mat& b = first ? b0 : b1;
          const int64_t src = first ? rank * ra + i : rank * rc + (i - ra);
          for (int64_t j = 0; j < kIn; ++j) ASSERT_EQ(at(layer.weight(), i, j), w(src, j));
          ASSERT_EQ(at1(layer.bias(), i), b(0, src));
        }
      }
    }
  }
}

struct HeadConfig {
  int64_t heads, kv_heads;
};

TEST(LinearLoaders, QkvTakesHeadsAndReplicatesKvHeadsWhenTpExceedsThem) {
  const int64_t hs = 4;
  for (HeadConfig hc : {HeadConfig{8, 2}, HeadConfig{8, 8}, HeadConfig{8, 1}, HeadConfig{8, 4}}) {
    const Mat q = indexed_mat(hc.heads * hs, kIn), k = indexed_mat(hc.kv_heads * hs, kIn, 0.25),
              v = indexed_mat(hc.kv_heads * hs, kIn, 0.5);
    const Mat qb = indexed_mat(1, hc.heads * hs, 0.125),
              kb = indexed_mat(1, hc.kv_heads * hs, 0.375),
              vb = indexed_mat(1, hc.kv_heads * hs, 0.625);
    const Mat fused_w = concat_rows({&q, &k, &v}), fused_b = cat_vec({&qb, &kb, &vb});
    for (int tp : kTpSizes) {
      auto group = make_in_process_group(tp);
      for (int rank = 0; rank < tp; ++rank) {
        for (bool fused : {false, true}) {
          SCOPED_TRACE(::testing::Message()
                       << hc.heads << " heads, " << hc.kv_heads << " kv heads, tp " << tp
                       << " rank " << rank << (fused ? " fused" : " separate"));
          ParameterSet params;
          QKVParallelLinear layer(make_ctx(params, *group[rank], "attn.qkv_proj"), kIn, hs,
                                  hc.heads, hc.kv_heads, true);
          if (fused) {
            load(params, "attn.qkv_proj.weight", to_tensor(fused_w));
            load(params, "attn.qkv_proj.bias", to_tensor(fused_b, true));
          } else {
            load(params, "attn.qkv_proj.weight", to_tensor(v), "v");
            load(params, "attn.qkv_proj.weight", to_tensor(q), "q");
            load(params, "attn.qkv_proj.weight", to_tensor(k), "k");
            load(params, "attn.qkv_proj.bias", to_tensor(qb, true), "q");
            load(params, "attn.qkv_proj.bias", to_tensor(kb, true), "k");
            load(params, "attn.qkv_proj.bias", to_tensor(vb, true), "v");
          }
          // The test's own arithmetic: q heads split evenly; kv heads split when there are enough,
          // else one per rank, rank r holding head floor(r * kv / tp).
          const int64_t q_heads = hc.heads / tp;
          const int64_t kv_heads = hc.kv_heads >= tp ? hc.kv_heads / tp : 1;
          const int64_t kv_first = rank * hc.kv_heads / tp;
          ASSERT_EQ(layer.num_heads(), q_heads);
          ASSERT_EQ(layer.num_kv_heads(), kv_heads);
          const int64_t qr = q_heads * hs, kvr = kv_heads * hs;
          ASSERT_EQ(layer.weight().shape(), Shape({qr + 2 * kvr, kIn}));
          for (int64_t i = 0; i < qr + 2 * kvr; ++i) {
            const Mat* w;
            const Mat* b;
            int64_t src;
            if (i < qr) {
              w = &q, b = &qb, src = rank * qr + i;
            } else if (i < qr + kvr) {
              w = &k, b = &kb, src = kv_first * hs + (i - qr);
            } else {
              w = &v, b = &vb, src = kv_first * hs + (i - qr - kvr);
            }
            for (int64_t j = 0; j < kIn; ++j)
              ASSERT_EQ(at(layer.weight(), i, j), (*w)(src, j)) << "row " << i;
            ASSERT_EQ(at1(layer.bias(), i), (*b)(0, src)) << "bias " << i;
          }
        }
      }
    }
  }
}

TEST(LinearLoaders, RowParallelTakesThisRanksColumnsAndTheWholeBias) {
  const Mat w = indexed_mat(kOut, kIn), b = indexed_mat(1, kOut, 0.5);
  for (int tp : kTpSizes) {
    auto group = make_in_process_group(tp);
    for (int rank = 0; rank < tp; ++rank) {
      ParameterSet params;
      RowParallelLinear layer(make_ctx(params, *group[rank], "attn.o_proj"), kIn, kOut, true);
      load(params, "attn.o_proj.weight", to_tensor(w));
      load(params, "attn.o_proj.bias", to_tensor(b, true));
      const int64_t cols = kIn / tp;
      ASSERT_EQ(layer.weight().shape(), Shape({kOut, cols}));
      ASSERT_EQ(layer.bias().shape(), Shape({kOut}));
      for (int64_t i = 0; i < kOut; ++i) {
        for (int64_t j = 0; j < cols; ++j)
          ASSERT_EQ(at(layer.weight(), i, j), w(i, rank * cols + j));
        ASSERT_EQ(at1(layer.bias(), i), b(0, i));
      }
    }
  }
}

TEST(LinearLoaders, ReplicatedTakesEverythingAndCastsTheDtype) {
  const Mat w = indexed_mat(kOut, kIn, 0.5);  // x.5 values are exact in bf16 only when small
  const Mat small = random_mat(kOut, kIn, 3);
  auto group = make_in_process_group(2);
  for (int rank = 0; rank < 2; ++rank) {
    ParameterSet params;
    ReplicatedLinear layer(make_ctx(params, *group[rank], "gate"), kIn, kOut, false);
    EXPECT_EQ(params.size(), 1u);  // no bias
    load(params, "gate.weight", to_tensor(w));
    for (int64_t i = 0; i < kOut; ++i)
      for (int64_t j = 0; j < kIn; ++j) ASSERT_EQ(at(layer.weight(), i, j), w(i, j));
    ParameterSet bf16_params;
    ReplicatedLinear bf16_layer(make_ctx(bf16_params, *group[rank], "gate", DType::BF16), kIn, kOut,
                                false);
    load(bf16_params, "gate.weight", to_tensor(small));
    ASSERT_EQ(bf16_layer.weight().dtype(), DType::BF16);
    for (int64_t i = 0; i < kOut; ++i)
      for (int64_t j = 0; j < kIn; ++j)
        ASSERT_NEAR(at(bf16_layer.weight(), i, j), small(i, j), 4e-3);
  }
}

// ------------------------------------------------------------------------------ forward

TEST(LinearForward, ColumnParallelWithAndWithoutGather) {
  const Mat w = random_mat(kOut, kIn, 1), b = random_mat(1, kOut, 2),
            x = random_mat(kTokens, kIn, 3);
  const std::vector<double> bias = vec(b);
  const Mat ref = ref_linear(x, w, &bias);
  for (int tp : kTpSizes) {
    run_ranks(tp, [&](int rank, Communicator& comm) {
      ParameterSet params;
      ColumnParallelLinear gathered(make_ctx(params, comm, "a"), kIn, kOut, true,
                                    /*gather_output=*/true);
      ColumnParallelLinear local(make_ctx(params, comm, "b"), kIn, kOut, true);
      for (const char* p : {"a", "b"}) {
        load(params, std::string(p) + ".weight", to_tensor(w));
        load(params, std::string(p) + ".bias", to_tensor(b, true));
      }
      const Tensor xt = to_tensor(x);
      const Tensor full = gathered.forward(xt);
      ASSERT_EQ(full.shape(), Shape({kTokens, kOut}));
      expect_matches(full, ref, 0, kTol, "gathered, tp " + std::to_string(tp));
      const Tensor part = local.forward(xt);
      ASSERT_EQ(part.shape(), Shape({kTokens, kOut / tp}));
      expect_matches(part, ref, rank * (kOut / tp), kTol, "local, tp " + std::to_string(tp));
    });
  }
}

TEST(LinearForward, ColumnParallelBf16Gathered) {
  const Mat w = random_mat(kOut, kIn, 11), x = random_mat(kTokens, kIn, 12);
  const Mat ref = ref_linear(x, w);
  run_ranks(4, [&](int, Communicator& comm) {
    ParameterSet params;
    ColumnParallelLinear layer(make_ctx(params, comm, "a", DType::BF16), kIn, kOut, false, true);
    load(params, "a.weight", to_tensor(w));
    const Tensor out = layer.forward(to_tensor(x));
    ASSERT_EQ(out.dtype(), DType::BF16);
    expect_matches(out, ref, 0, 2e-2, "bf16 gathered");  // bf16 weights and output: ~3 digits
  });
}

TEST(LinearForward, MergedColumnGivesEachPartsShard) {
  const int64_t a = 16, c = 8;
  const Mat w0 = random_mat(a, kIn, 4), w1 = random_mat(c, kIn, 5), x = random_mat(kTokens, kIn, 6);
  const Mat ref0 = ref_linear(x, w0), ref1 = ref_linear(x, w1);
  for (int tp : kTpSizes) {
    run_ranks(tp, [&](int rank, Communicator& comm) {
      ParameterSet params;
      MergedColumnParallelLinear layer(make_ctx(params, comm, "gate_up"), kIn, {a, c}, false);
      load(params, "gate_up.weight", to_tensor(w0), "0");
      load(params, "gate_up.weight", to_tensor(w1), "1");
      const Tensor out = layer.forward(to_tensor(x));
      ASSERT_EQ(out.shape(), Shape({kTokens, (a + c) / tp}));
      expect_matches(out.slice(1, 0, a / tp), ref0, rank * (a / tp), kTol, "part 0");
      expect_matches(out.slice(1, a / tp, (a + c) / tp), ref1, rank * (c / tp), kTol, "part 1");
    });
  }
}

TEST(LinearForward, QkvGivesThisRanksHeads) {
  const int64_t hs = 4, heads = 8, kv = 2;
  const Mat q = random_mat(heads * hs, kIn, 7), k = random_mat(kv * hs, kIn, 8),
            v = random_mat(kv * hs, kIn, 9);
  const Mat qb = random_mat(1, heads * hs, 10), kb = random_mat(1, kv * hs, 11),
            vb = random_mat(1, kv * hs, 12);
  const Mat x = random_mat(kTokens, kIn, 13);
  const std::vector<double> qbv = vec(qb), kbv = vec(kb), vbv = vec(vb);
  const Mat rq = ref_linear(x, q, &qbv), rk = ref_linear(x, k, &kbv), rv = ref_linear(x, v, &vbv);
  const Mat fused = concat_rows({&q, &k, &v}), fused_b = cat_vec({&qb, &kb, &vb});
  for (int tp : kTpSizes) {
    run_ranks(tp, [&](int rank, Communicator& comm) {
      ParameterSet params;
      QKVParallelLinear layer(make_ctx(params, comm, "qkv"), kIn, hs, heads, kv, true);
      load(params, "qkv.weight", to_tensor(fused));
      load(params, "qkv.bias", to_tensor(fused_b, true));
      const int64_t qr = heads / tp * hs, kvr = (kv >= tp ? kv / tp : 1) * hs,
                    kv_first = rank * kv / tp;
      const Tensor out = layer.forward(to_tensor(x));
      ASSERT_EQ(out.shape(), Shape({kTokens, qr + 2 * kvr}));
      expect_matches(out.slice(1, 0, qr), rq, rank * qr, kTol, "q");
      expect_matches(out.slice(1, qr, qr + kvr), rk, kv_first * hs, kTol, "k");
      expect_matches(out.slice(1, qr + kvr, qr + 2 * kvr), rv, kv_first * hs, kTol, "v");
    });
  }
}

TEST(LinearForward, RowParallelReducesAndCountsTheBiasOnce) {
  const Mat w = random_mat(kOut, kIn, 14), b = random_mat(1, kOut, 15),
            x = random_mat(kTokens, kIn, 16);
  const std::vector<double> bias = vec(b);
  const Mat ref = ref_linear(x, w, &bias);
  for (int tp : kTpSizes) {
    std::vector<Mat> unreduced(static_cast<size_t>(tp));
    run_ranks(tp, [&](int rank, Communicator& comm) {
      ParameterSet params;
      RowParallelLinear parallel_in(make_ctx(params, comm, "a"), kIn, kOut, true);
      RowParallelLinear full_in(make_ctx(params, comm, "b"), kIn, kOut, true,
                                /*input_is_parallel=*/false);
      RowParallelLinear no_reduce(make_ctx(params, comm, "c"), kIn, kOut, true, true,
                                  /*reduce_results=*/false);
      for (const char* p : {"a", "b", "c"}) {
        load(params, std::string(p) + ".weight", to_tensor(w));
        load(params, std::string(p) + ".bias", to_tensor(b, true));
      }
      const Tensor xt = to_tensor(x);
      const int64_t cols = kIn / tp;
      expect_matches(parallel_in.forward(xt.slice(1, rank * cols, (rank + 1) * cols)), ref, 0, kTol,
                     "input parallel, tp " + std::to_string(tp));
      expect_matches(full_in.forward(xt), ref, 0, kTol,
                     "input not parallel, tp " + std::to_string(tp));
      const Tensor part = no_reduce.forward(xt.slice(1, rank * cols, (rank + 1) * cols));
      Mat& mine = unreduced[static_cast<size_t>(rank)];
      mine = Mat{kTokens, kOut, std::vector<double>(static_cast<size_t>(kTokens * kOut))};
      for (int64_t t = 0; t < kTokens; ++t)
        for (int64_t n = 0; n < kOut; ++n) mine(t, n) = at(part, t, n);
    });
    // Without the reduction the ranks' outputs sum to the full result, bias included once.
    for (int64_t t = 0; t < kTokens; ++t)
      for (int64_t n = 0; n < kOut; ++n) {
        double s = 0;
        for (const Mat& m : unreduced) s += m(t, n);
        EXPECT_NEAR(s, ref(t, n), kTol * (1 + std::abs(ref(t, n)))) << "tp " << tp;
      }
  }
}

TEST(LinearForward, ReplicatedIsTheWholeProduct) {
  const Mat w = random_mat(kOut, kIn, 17), b = random_mat(1, kOut, 18),
            x = random_mat(kTokens, kIn, 19);
  const std::vector<double> bias = vec(b);
  const Mat ref = ref_linear(x, w, &bias);
  run_ranks(2, [&](int, Communicator& comm) {
    ParameterSet params;
    ReplicatedLinear layer(make_ctx(params, comm, "r"), kIn, kOut, true);
    load(params, "r.weight", to_tensor(w));
    load(params, "r.bias", to_tensor(b, true));
    expect_matches(layer.forward(to_tensor(x)), ref, 0, kTol, "replicated");
  });
}

TEST(LinearForward, WrongInputWidthNamesTheLayer) {
  auto group = make_in_process_group(2);
  ParameterSet params;
  ColumnParallelLinear layer(make_ctx(params, *group[0], "mlp.up"), kIn, kOut, false);
  expect_error(
      [&] {
        layer.forward(Tensor::zeros({3, kIn + 1}, DType::F32));
      },
      ErrorCode::InvalidArgument, {"mlp.up", "[3, 25]", "24"});
}

// ------------------------------------------------------------------------------ errors

TEST(LinearErrors, ShapeMismatchNamesTheParameterAndBothShapes) {
  auto group = make_in_process_group(2);
  ParameterSet params;
  ColumnParallelLinear col(make_ctx(params, *group[1], "mlp.up"), kIn, kOut, true);
  expect_error(
      [&] {
        load(params, "mlp.up.weight", Tensor::zeros({15, kIn}, DType::F32));
      },
      ErrorCode::InvalidArgument, {"mlp.up.weight", "[15, 24]", "[16, 24]"});
  expect_error([&] { load(params, "mlp.up.bias", Tensor::zeros({8}, DType::F32)); },
               ErrorCode::InvalidArgument, {"mlp.up.bias", "[8]", "[16]"});
  RowParallelLinear row(make_ctx(params, *group[1], "o_proj"), kIn, kOut, false);
  expect_error(
      [&] {
        load(params, "o_proj.weight", Tensor::zeros({kOut, 12}, DType::F32));
      },
      ErrorCode::InvalidArgument, {"o_proj.weight", "[16, 12]", "[16, 24]"});
  QKVParallelLinear qkv(make_ctx(params, *group[1], "qkv"), kIn, 4, 8, 2, false);
  expect_error(
      [&] {
        load(params, "qkv.weight", Tensor::zeros({4, kIn}, DType::F32), "k");
      },
      ErrorCode::InvalidArgument, {"qkv.weight", "shard 'k'", "[4, 24]", "[8, 24]"});
  expect_error(
      [&] {
        load(params, "qkv.weight", Tensor::zeros({40, kIn}, DType::F32));
      },
      ErrorCode::InvalidArgument, {"qkv.weight", "[40, 24]", "[48, 24]"});
  expect_error(
      [&] {
        load(params, "qkv.weight", Tensor::zeros({8, kIn}, DType::F32), "x");
      },
      ErrorCode::InvalidArgument, {"qkv.weight", "'x'", "'q', 'k', 'v'"});
  MergedColumnParallelLinear merged(make_ctx(params, *group[1], "gate_up"), kIn, {16, 8}, false);
  expect_error(
      [&] {
        load(params, "gate_up.weight", Tensor::zeros({8, kIn}, DType::F32), "2");
      },
      ErrorCode::InvalidArgument, {"gate_up.weight", "'2'", "'0', '1'"});
  expect_error(
      [&] {
        load(params, "mlp.up.weight", Tensor::zeros({kOut, kIn}, DType::F32), "q");
      },
      ErrorCode::InvalidArgument, {"mlp.up.weight", "not fused"});
  expect_error(
      [&] {
        load(params, "mlp.up.weight", Tensor::zeros({kOut, kIn}, DType::I32));
      },
      ErrorCode::InvalidArgument, {"mlp.up.weight", "i32"});
}

TEST(LinearErrors, DivisibilityNamesTheSizeAndTp) {
  auto group4 = make_in_process_group(4);
  auto group2 = make_in_process_group(2);
  ParameterSet params;
  expect_error([&] { ColumnParallelLinear(make_ctx(params, *group4[0], "c"), kIn, 10, false); },
               ErrorCode::InvalidArgument, {"'c'", "10", "4"});
  expect_error([&] { RowParallelLinear(make_ctx(params, *group4[0], "r"), 10, kOut, false); },
               ErrorCode::InvalidArgument, {"'r'", "10", "4"});
  expect_error(
      [&] {
        MergedColumnParallelLinear(make_ctx(params, *group4[0], "m"), kIn, {16, 6}, false);
      },
      ErrorCode::InvalidArgument, {"'m'", "6", "4"});
  expect_error([&] { QKVParallelLinear(make_ctx(params, *group4[0], "q"), kIn, 4, 6, 2, false); },
               ErrorCode::InvalidArgument, {"'q'", "6", "4"});
  expect_error([&] { QKVParallelLinear(make_ctx(params, *group2[0], "q"), kIn, 4, 6, 3, false); },
               ErrorCode::InvalidArgument, {"'q'", "3", "2"});
  expect_error([&] { QKVParallelLinear(make_ctx(params, *group4[0], "q"), kIn, 4, 12, 3, false); },
               ErrorCode::InvalidArgument, {"'q'", "4", "3", "replicated"});
  EXPECT_EQ(params.size(), 0u);  // nothing registered by the failed constructions
}

TEST(LinearErrors, ValidateOnlyChecksButCopiesNothing) {
  auto group = make_in_process_group(2);
  ParameterSet params;
  QKVParallelLinear qkv(make_ctx(params, *group[1], "qkv"), kIn, 4, 8, 2, true);
  RowParallelLinear row(make_ctx(params, *group[1], "o"), kIn, kOut, true);
  ColumnParallelLinear col(make_ctx(params, *group[1], "c"), kIn, kOut, true);
  for (const std::string& name : params.names()) fill(params.find(name)->data, 7.0f);
  const Mat q = indexed_mat(32, kIn), kv = indexed_mat(8, kIn), fused = indexed_mat(48, kIn),
            w = indexed_mat(kOut, kIn);
  load(params, "qkv.weight", to_tensor(q), "q", true);
  load(params, "qkv.weight", to_tensor(kv), "v", true);
  load(params, "qkv.weight", to_tensor(fused), "", true);
  load(params, "qkv.bias", to_tensor(indexed_mat(1, 48), true), "", true);
  load(params, "o.weight", to_tensor(w), "", true);
  load(params, "o.bias", to_tensor(indexed_mat(1, kOut), true), "", true);
  load(params, "c.weight", to_tensor(w), "", true);
  load(params, "c.bias", to_tensor(indexed_mat(1, kOut), true), "", true);
  for (const std::string& name : params.names()) {
    const Tensor& t = params.find(name)->data;
    const Tensor flat = t.view({1, t.numel()});
    for (int64_t i = 0; i < t.numel(); ++i) ASSERT_EQ(at(flat, 0, i), 7.0) << name;
  }
  // And it still checks.
  expect_error([&] { load(params, "qkv.weight", to_tensor(q), "k", true); },
               ErrorCode::InvalidArgument, {"qkv.weight", "[32, 24]", "[8, 24]"});
}
