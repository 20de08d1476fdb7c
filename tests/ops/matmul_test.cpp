// ops::matmul against a float64 reference on seeded random inputs, on every CPU path (GEMV kernels
// per ISA, OpenBLAS and oneDNN, split across the pool or threaded by the library).
//
// Error bounds. The reference is the float64 product of the values the tensors actually hold
// (16-bit inputs already rounded), so the only error left is f32 accumulation plus rounding of
// the output:
//   |got - ref| <= 1e-6 * sqrt(K) * sum_k |x_k * w_k|  +  |ref| * out_ulp
// with out_ulp 0 for f32, 2^-8 for bf16 and 2^-11 for f16 outputs (one rounding, half an ulp, with
// margin). 1e-6 * sqrt(K) is ~16x the typical f32 accumulation error (2^-24 * sqrt(K)) and for
// K = 4097 still 4x smaller than dropping a single term (~1/K of the sum of magnitudes).
#include "ops/cpu/matmul.h"
#include "ops/cpu/matmul_onednn.h"

#include <gtest/gtest.h>

#include <array>
#include <cmath>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "ops/cpu/isa.h"
#include "ops/matmul.h"
#include "pagoda/error.h"
#include "pagoda/half.h"
#include "pagoda/tensor.h"

using namespace pagoda;
using pagoda::cpu::BlasLibrary;
using pagoda::cpu::CpuIsa;
using pagoda::cpu::CpuMatmulConfig;

namespace {

// Stores v into element i of a tensor of any matmul dtype and returns the value actually stored.
float store(void* data, DType dtype, int64_t i, float v) {
  switch (dtype) {
    case DType::F32:
      static_cast<float*>(data)[i] = v;
      return v;
    case DType::BF16: {
      const bf16 h(v);
      static_cast<bf16*>(data)[i] = h;
      return static_cast<float>(h);
    }
    case DType::F16: {
      const f16 h(v);
      static_cast<f16*>(data)[i] = h;
      return static_cast<float>(h);
    }
    default:
      ADD_FAILURE() << "unexpected dtype";
      return 0;
  }
}

float load(const void* data, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::F32:
      return static_cast<const float*>(data)[i];
    case DType::BF16:
      return static_cast<float>(static_cast<const bf16*>(data)[i]);
    case DType::F16:
      return static_cast<float>(static_cast<const f16*>(data)[i]);
    default:
      ADD_FAILURE() << "unexpected dtype";
      return 0;
  }
}

// A 2-D tensor [rows, cols] that is a column window of a wider allocation when `pad` > 0 (row
// stride cols + pad, starting `pad / 2` columns in), filled with uniform values in [-1, 1].
// `values` receives the stored (rounded) values, row-major [rows, cols].
Tensor random_matrix(int64_t rows, int64_t cols, DType dtype, int64_t pad, std::mt19937& rng,
                     std::vector<double>& values) {
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  Tensor full = Tensor::empty({rows, cols + pad}, dtype);
  void* data = full.mutable_data();
  for (int64_t i = 0; i < full.numel(); ++i) store(data, dtype, i, dist(rng));
  Tensor t = full.slice(1, pad / 2, pad / 2 + cols);
  values.assign(static_cast<size_t>(rows * cols), 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t c = 0; c < cols; ++c)
      values[static_cast<size_t>(r * cols + c)] = load(data, dtype, r * (cols + pad) + pad / 2 + c);
  return t;
}

float out_ulp(DType dtype) {
  return dtype == DType::BF16 ? 1.0f / 256 : dtype == DType::F16 ? 1.0f / 2048 : 0.0f;
}

struct Case {
  int64_t M, N, K;
  DType x = DType::F32, weight = DType::F32, out = DType::F32, bias = DType::F32;
  bool with_bias = true;
  int64_t pad = 0;  // extra columns around x, weight and out (row-strided views)
};

std::string describe(const Case& c) {
  return "M=" + std::to_string(c.M) + " N=" + std::to_string(c.N) + " K=" + std::to_string(c.K) +
         " x=" + std::string(dtype_name(c.x)) + " w=" + std::string(dtype_name(c.weight)) +
         " out=" + std::string(dtype_name(c.out)) +
         (c.with_bias ? " bias=" + std::string(dtype_name(c.bias)) : " no bias") +
         " pad=" + std::to_string(c.pad);
}

// Runs one product and checks every element against the float64 reference; also checks that the
// padding around a strided out was not written.
void check_case(const Case& c, uint32_t seed) {
  SCOPED_TRACE(describe(c));
  std::mt19937 rng(seed);
  std::vector<double> xv, wv, bv;
  Tensor x = random_matrix(c.M, c.K, c.x, c.pad, rng, xv);
  Tensor w = random_matrix(c.N, c.K, c.weight, c.pad, rng, wv);
  Tensor bias;
  if (c.with_bias) {
    Tensor b2 = random_matrix(1, c.N, c.bias, 0, rng, bv);
    bias = b2.view({c.N});
  }
  Tensor out_full = Tensor::empty({c.M, c.N + c.pad}, c.out);
  float sentinel = 0;
  for (int64_t i = 0; i < out_full.numel(); ++i)
    sentinel = store(out_full.mutable_data(), c.out, i, 12345.0f);
  Tensor out = out_full.slice(1, c.pad / 2, c.pad / 2 + c.N);

  ops::matmul(x, w, bias, out);

  const double tol = 1e-6 * std::sqrt(static_cast<double>(c.K));
  const void* od = out_full.data();
  int failures = 0;
  for (int64_t m = 0; m < c.M; ++m) {
    for (int64_t n = 0; n < c.N + c.pad; ++n) {
      const float got = load(od, c.out, m * (c.N + c.pad) + n);
      const int64_t col = n - c.pad / 2;
      if (col < 0 || col >= c.N) {
        ASSERT_EQ(got, sentinel) << "padding of out written at row " << m << " column " << n;
        continue;
      }
      double ref = c.with_bias ? bv[static_cast<size_t>(col)] : 0.0;
      double magnitude = c.with_bias ? std::fabs(ref) : 0.0;
      for (int64_t k = 0; k < c.K; ++k) {
        const double p =
            xv[static_cast<size_t>(m * c.K + k)] * wv[static_cast<size_t>(col * c.K + k)];
        ref += p;
        magnitude += std::fabs(p);
      }
      const double bound = tol * magnitude + std::fabs(ref) * out_ulp(c.out) + 1e-30;
      if (!(std::fabs(got - ref) <= bound) && ++failures <= 5)
        ADD_FAILURE() << "out[" << m << ", " << col << "] = " << got << ", reference " << ref
                      << ", error " << std::fabs(got - ref) << " > bound " << bound;
    }
  }
  EXPECT_EQ(failures, 0);
}

// Every (M, N, K) from {1, 3, 17, 4097} with at most one dimension 4097 (keeps runtime small).
std::vector<std::array<int64_t, 3>> shape_grid() {
  const int64_t sizes[] = {1, 3, 17, 4097};
  std::vector<std::array<int64_t, 3>> shapes;
  for (int64_t m : sizes)
    for (int64_t n : sizes)
      for (int64_t k : sizes)
        if ((m == 4097) + (n == 4097) + (k == 4097) <= 1) shapes.push_back({m, n, k});
  return shapes;
}

// One CPU path: which kernels run, on which ISA, with which BLAS library and threading.
struct Path {
  std::string name;
  bool gemv;  // the GEMV kernels (else BLAS)
  CpuIsa isa;
  BlasLibrary blas;
  bool split;
};
void PrintTo(const Path& p, std::ostream* os) {
  *os << p.name;
}

class MatmulPath : public ::testing::TestWithParam<Path> {
 protected:
  void SetUp() override {
    saved_ = cpu::cpu_matmul_config();
    const Path& p = GetParam();
    if (p.isa > cpu::detected_cpu_isa())
      GTEST_SKIP() << "processor lacks " << cpu::cpu_isa_name(p.isa);
    cpu::set_cpu_isa(p.isa);
    CpuMatmulConfig config = saved_;
    config.gemv_max_rows = p.gemv ? (int64_t{1} << 40) : 0;
    config.blas = p.blas;
    config.split_columns_across_pool = p.split;
    config.panel_bytes = 1;  // panels of 16 rows: several panels even for small N
    cpu::set_cpu_matmul_config(config);
  }
  void TearDown() override {
    cpu::set_cpu_isa(cpu::detected_cpu_isa());
    cpu::set_cpu_matmul_config(saved_);
  }
  CpuMatmulConfig saved_;
};

TEST_P(MatmulPath, MatchesFloat64ReferenceOnShapeGrid) {
  uint32_t seed = 1;
  for (DType wdtype : {DType::F32, DType::BF16, DType::F16})
    for (const auto& s : shape_grid()) {
      Case c{s[0], s[1], s[2]};
      c.weight = wdtype;
      c.with_bias = (seed % 2) == 0;
      check_case(c, seed++);
      if (HasFailure()) return;
    }
}

TEST_P(MatmulPath, RowStridedTensorsAndSixteenBitActivationsOutputsBias) {
  uint32_t seed = 100;
  for (DType wdtype : {DType::F32, DType::BF16, DType::F16})
    for (DType io : {DType::F32, DType::BF16, DType::F16}) {
      Case c{5, 37, 70};
      c.weight = wdtype;
      c.x = c.out = c.bias = io;
      c.pad = 6;
      check_case(c, seed++);
    }
}

std::vector<Path> all_paths() {
  std::vector<Path> paths;
  for (CpuIsa isa : {CpuIsa::Generic, CpuIsa::Avx2, CpuIsa::Avx512})
    paths.push_back(
        {"gemv_" + std::string(cpu::cpu_isa_name(isa)), true, isa, BlasLibrary::OpenBlas, true});
  for (BlasLibrary lib : {BlasLibrary::OpenBlas, BlasLibrary::OneDnn})
    for (bool split : {true, false})
      paths.push_back({std::string(cpu::blas_library_name(lib)) + (split ? "_split" : "_threaded"),
                       false, cpu::detected_cpu_isa(), lib, split});
  return paths;
}

INSTANTIATE_TEST_SUITE_P(CpuPaths, MatmulPath, ::testing::ValuesIn(all_paths()),
                         [](const auto& info) { return info.param.name; });

// bf16 activations and weights through oneDNN's bf16 matmul (CPUs with AVX512_BF16 or AMX only).
// bf16 x bf16 products are exact in f32 and oneDNN accumulates in f32, so the f32 bound holds.
TEST(Matmul, OneDnnBf16PathMatchesFloat64Reference) {
  if (!cpu::onednn_bf16_is_fast()) GTEST_SKIP() << "oneDNN has no native bf16 math on this CPU";
  const CpuMatmulConfig saved = cpu::cpu_matmul_config();
  CpuMatmulConfig config = saved;
  config.onednn_bf16 = true;
  config.gemv_max_rows = 0;
  cpu::set_cpu_matmul_config(config);
  uint32_t seed = 700;
  for (const auto& s : shape_grid()) {
    Case c{s[0], s[1], s[2]};
    c.x = c.weight = DType::BF16;
    c.out = (seed % 3 == 0) ? DType::F32 : DType::BF16;
    c.with_bias = (seed % 2) == 0;
    c.bias = (seed % 4 == 0) ? DType::F32 : DType::BF16;
    c.pad = (seed % 5 == 0) ? 6 : 0;
    check_case(c, seed++);
    if (HasFailure()) break;
  }
  cpu::set_cpu_matmul_config(saved);
}

// The default configuration on decode- and prefill-like sizes, through whatever path it picks.
TEST(Matmul, DefaultPathsOnDecodeAndPrefillSizes) {
  uint32_t seed = 500;
  for (int64_t m : {1, 2, 4, 7, 16, 17, 40})
    for (DType wdtype : {DType::F32, DType::BF16, DType::F16}) {
      Case c{m, 300, 256};
      c.weight = wdtype;
      check_case(c, seed++);
    }
}

TEST(Matmul, EmptyReductionGivesBiasAndEmptyRowsDoNothing) {
  Tensor x = Tensor::empty({2, 0}, DType::F32);
  Tensor w = Tensor::empty({3, 0}, DType::BF16);
  Tensor b = Tensor::empty({3}, DType::F32);
  for (int i = 0; i < 3; ++i) b.mutable_data_as<float>()[i] = static_cast<float>(i + 1);
  Tensor out = Tensor::empty({2, 3}, DType::F32);
  ops::matmul(x, w, b, out);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.data_as<float>()[i], static_cast<float>(i % 3 + 1));
  ops::matmul(x, w, out);
  for (int i = 0; i < 6; ++i) EXPECT_EQ(out.data_as<float>()[i], 0.0f);

  Tensor x0 = Tensor::empty({0, 4}, DType::F32);
  Tensor w0 = Tensor::zeros({3, 4}, DType::F32);
  Tensor out0 = Tensor::empty({0, 3}, DType::F32);
  EXPECT_NO_THROW(ops::matmul(x0, w0, out0));
}

// ---- Bad arguments: each names the op, the argument and what was expected. ----

void expect_error(const std::function<void()>& fn, ErrorCode code,
                  std::initializer_list<const char*> fragments) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    const std::string msg = e.what();
    EXPECT_NE(msg.find("matmul"), std::string::npos) << msg;
    for (const char* f : fragments)
      EXPECT_NE(msg.find(f), std::string::npos) << "'" << f << "' not in: " << msg;
    EXPECT_FALSE(e.fix().empty());
  }
}

TEST(MatmulErrors, ShapeMismatches) {
  Tensor x = Tensor::zeros({2, 8}, DType::F32);
  Tensor w = Tensor::zeros({4, 8}, DType::BF16);
  Tensor out = Tensor::zeros({2, 4}, DType::F32);
  Tensor w_bad_k = Tensor::zeros({4, 7}, DType::BF16);
  expect_error([&] { ops::matmul(x, w_bad_k, out); }, ErrorCode::InvalidArgument,
               {"K = 8", "weight [4, 7]", "7"});
  Tensor out_bad = Tensor::zeros({2, 5}, DType::F32);
  expect_error([&] { ops::matmul(x, w, out_bad); }, ErrorCode::InvalidArgument,
               {"out has shape [2, 5]", "expected [2, 4]"});
  Tensor out_rows = Tensor::zeros({3, 4}, DType::F32);
  expect_error([&] { ops::matmul(x, w, out_rows); }, ErrorCode::InvalidArgument, {"[3, 4]"});
  Tensor x3 = Tensor::zeros({1, 2, 8}, DType::F32);
  expect_error([&] { ops::matmul(x3, w, out); }, ErrorCode::InvalidArgument,
               {"x", "2-D", "[1, 2, 8]"});
  Tensor bias_bad = Tensor::zeros({5}, DType::F32);
  expect_error([&] { ops::matmul(x, w, bias_bad, out); }, ErrorCode::InvalidArgument,
               {"bias has shape [5]", "expected [4]"});
}

TEST(MatmulErrors, WrongDtypes) {
  Tensor x = Tensor::zeros({2, 8}, DType::F32);
  Tensor w = Tensor::zeros({4, 8}, DType::F32);
  Tensor out = Tensor::zeros({2, 4}, DType::F32);
  Tensor xi = Tensor::zeros({2, 8}, DType::I32);
  expect_error([&] { ops::matmul(xi, w, out); }, ErrorCode::InvalidArgument,
               {"x has dtype i32", "f32, bf16 or f16"});
  Tensor w8 = Tensor::zeros({4, 8}, DType::FP8_E4M3);
  expect_error([&] { ops::matmul(x, w8, out); }, ErrorCode::InvalidArgument,
               {"weight has dtype fp8_e4m3"});
  Tensor o64 = Tensor::zeros({2, 4}, DType::F64);
  expect_error([&] { ops::matmul(x, w, o64); }, ErrorCode::InvalidArgument, {"out has dtype f64"});
  Tensor b8 = Tensor::zeros({4}, DType::I8);
  expect_error([&] { ops::matmul(x, w, b8, out); }, ErrorCode::InvalidArgument,
               {"bias has dtype i8"});
}

TEST(MatmulErrors, LayoutAliasingAndReadOnly) {
  Tensor x = Tensor::zeros({8, 2}, DType::F32).transpose(0, 1);  // [2, 8], column stride 2
  Tensor w = Tensor::zeros({4, 8}, DType::F32);
  Tensor out = Tensor::zeros({2, 4}, DType::F32);
  expect_error([&] { ops::matmul(x, w, out); }, ErrorCode::InvalidArgument,
               {"x has shape [2, 8]", "stride 1"});

  // out overlapping x: a product written into its own input.
  Tensor buf = Tensor::zeros({2, 12}, DType::F32);
  Tensor xin = buf.slice(1, 0, 8);
  Tensor overlapping = buf.slice(1, 6, 10);
  expect_error([&] { ops::matmul(xin, w, overlapping); }, ErrorCode::InvalidArgument,
               {"overlaps", "x"});
  Tensor rows_overlap = buf.view({24}).slice(0, 4, 12).view({2, 4});  // row 0 of x, cols 4..8
  expect_error([&] { ops::matmul(xin, w, rows_overlap); }, ErrorCode::InvalidArgument,
               {"overlaps"});

  std::vector<float> ro(8, 0.0f);
  Tensor out_ro = Tensor::from_blob_read_only(ro.data(), {2, 4}, DType::F32);
  expect_error(
      [&] {
        ops::matmul(Tensor::zeros({2, 8}, DType::F32), w, out_ro);
      },
      ErrorCode::InvalidArgument, {"read-only"});
  expect_error([&] { ops::matmul(Tensor(), w, out); }, ErrorCode::InvalidArgument,
               {"x is an undefined tensor"});
}

// A fused buffer: x in columns 0..8 and out in columns 8..12 of the same rows is not an overlap.
TEST(Matmul, OutBesideInputInOneBuffer) {
  Tensor buf = Tensor::zeros({2, 12}, DType::F32);
  float* b = buf.mutable_data_as<float>();
  for (int r = 0; r < 2; ++r)
    for (int k = 0; k < 8; ++k) b[r * 12 + k] = static_cast<float>(r + 1);
  Tensor w = Tensor::zeros({4, 8}, DType::F32);
  float* wd = w.mutable_data_as<float>();
  for (int i = 0; i < 32; ++i) wd[i] = static_cast<float>(i / 8);  // row n is all n
  Tensor out = buf.slice(1, 8, 12);
  ops::matmul(buf.slice(1, 0, 8), w, out);
  for (int r = 0; r < 2; ++r)
    for (int n = 0; n < 4; ++n) EXPECT_EQ(b[r * 12 + 8 + n], static_cast<float>(8 * (r + 1) * n));
}

TEST(MatmulConfig, BackendNamesParse) {
  EXPECT_EQ(cpu::parse_blas_library("openblas"), BlasLibrary::OpenBlas);
  EXPECT_EQ(cpu::parse_blas_library("onednn"), BlasLibrary::OneDnn);
  EXPECT_EQ(cpu::parse_blas_library("dnnl"), BlasLibrary::OneDnn);
  EXPECT_FALSE(cpu::parse_blas_library("mkl").has_value());
}

}  // namespace
