#include "ops/cpu/matmul.h"

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <string>

#include "ops/cpu/isa.h"
#include "ops/cpu/kernels/convert.h"
#include "ops/cpu/kernels/matmul_gemv.h"
#include "ops/cpu/matmul_onednn.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "pagoda/thread_pool.h"

namespace pagoda::cpu {
namespace {

CpuMatmulConfig initial_config() {
  CpuMatmulConfig config;
  // oneDNN's JIT sgemm uses AVX-512 where the CPU has it and is then far ahead of OpenBLAS for
  // prefill-sized products (Xeon with AVX-512/AMX, M=512, 2048x8192 bf16 weights split over 16
  // threads: 1150 vs 211 GFLOP/s, bench/RESULTS.md); on AVX2-only CPUs OpenBLAS is ahead or level.
  config.blas = cpu_isa() == CpuIsa::Avx512 ? BlasLibrary::OneDnn : BlasLibrary::OpenBlas;
  if (const char* env = std::getenv("PAGODA_MATMUL_BACKEND")) {
    if (auto library = parse_blas_library(env))
      config.blas = *library;
    else
      log::warn("PAGODA_MATMUL_BACKEND='{}' is not openblas or onednn; using {}", env,
                blas_library_name(config.blas));
  }
  const char* bf16_env = std::getenv("PAGODA_MATMUL_BF16");
  config.onednn_bf16 = onednn_bf16_is_fast() && !(bf16_env && std::string(bf16_env) == "0");
  return config;
}

std::mutex& config_mutex() {
  static std::mutex m;
  return m;
}

CpuMatmulConfig& config_storage() {
  static CpuMatmulConfig config = initial_config();
  return config;
}

// A growable 64-byte-aligned f32 buffer kept per thread, so the hot path does not allocate after
// the first call of each size.
class Scratch {
 public:
  ~Scratch() { std::free(data_); }
  float* reserve(size_t floats) {
    if (floats > capacity_) {
      std::free(data_);
      const size_t bytes = (floats * sizeof(float) + 63) / 64 * 64;
      data_ = static_cast<float*>(std::aligned_alloc(64, bytes));
      PAGODA_CHECK(data_ != nullptr, OutOfMemory,
                   "matmul cannot allocate " + std::to_string(bytes >> 20) + " MiB of scratch",
                   "free memory or lower the batch size (--max-num-batched-tokens)");
      capacity_ = floats;
    }
    return data_;
  }

 private:
  float* data_ = nullptr;
  size_t capacity_ = 0;
};

thread_local Scratch t_activations, t_output, t_bias, t_panel;

void widen(DType dtype, const void* src, float* dst, int64_t n) {
  if (dtype == DType::F32)
    std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
  else if (dtype == DType::BF16)
    PAGODA_CPU_DISPATCH(bf16_to_f32)(static_cast<const uint16_t*>(src), dst, n);
  else
    PAGODA_CPU_DISPATCH(f16_to_f32)(static_cast<const uint16_t*>(src), dst, n);
}

void narrow(const float* src, DType dtype, void* dst, int64_t n) {
  if (dtype == DType::BF16)
    PAGODA_CPU_DISPATCH(f32_to_bf16)(src, static_cast<uint16_t*>(dst), n);
  else
    PAGODA_CPU_DISPATCH(f32_to_f16)(src, static_cast<uint16_t*>(dst), n);
}

// Row stride in elements; a single row may carry any stride, so use its length.
int64_t row_stride(const Tensor& t) {
  return t.size(0) == 1 ? t.size(1) : t.stride(0);
}

// Everything the compute paths need, with activations, bias and output already in f32.
struct Problem {
  int64_t M, N, K;
  const float* x;
  int64_t ldx;
  DType weight_dtype;
  const void* w;
  int64_t ldw;
  const float* bias;  // null when absent
  float* out;
  int64_t ldo;
};

// Pools split the output columns in blocks of this many: every kernel tile width divides it, so
// only the last block of a product has a ragged edge.
constexpr int64_t kColumnBlock = 16;

// Runs fn(n0, n1) over column ranges of whole blocks on the pool, with at least `min_columns`
// columns per chunk so that claiming a chunk costs little next to computing it.
void for_column_chunks(int64_t N, int64_t min_columns,
                       RangeFunction fn) {
  const int64_t blocks = (N + kColumnBlock - 1) / kColumnBlock;
  const int64_t grain = std::max<int64_t>(1, min_columns / kColumnBlock);
  parallel_for(0, blocks, grain, [&](int64_t b0, int64_t b1) {
    fn(b0 * kColumnBlock, std::min(N, b1 * kColumnBlock));
  });
}

void run_gemv(const Problem& p) {
  const size_t wsize = dtype_size(p.weight_dtype);
  // About 64K weights per chunk.
  for_column_chunks(p.N, 65536 / std::max<int64_t>(p.K, 1), [&](int64_t n0, int64_t n1) {
    const float* bias = p.bias ? p.bias + n0 : nullptr;
    const void* w = static_cast<const char*>(p.w) + static_cast<size_t>(n0 * p.ldw) * wsize;
    float* out = p.out + n0;
    if (p.weight_dtype == DType::F32) PAGODA_CPU_DISPATCH(matmul_gemv_f32)
    (p.x, p.ldx, static_cast<const float*>(w), p.ldw, bias, out, p.ldo, p.M, n1 - n0, p.K);
    else if (p.weight_dtype == DType::BF16) PAGODA_CPU_DISPATCH(matmul_gemv_bf16)(
        p.x, p.ldx, static_cast<const uint16_t*>(w), p.ldw, bias, out, p.ldo, p.M, n1 - n0, p.K);
    else PAGODA_CPU_DISPATCH(matmul_gemv_f16)(p.x, p.ldx, static_cast<const uint16_t*>(w), p.ldw,
                                              bias, out, p.ldo, p.M, n1 - n0, p.K);
  });
}

// Weight rows per widened panel: as many as fit config.panel_bytes, 16 to 512, a multiple of 16.
int64_t panel_rows(const CpuMatmulConfig& config, int64_t K) {
  const int64_t rows = config.panel_bytes / (static_cast<int64_t>(sizeof(float)) * K);
  return std::clamp<int64_t>(rows / kColumnBlock * kColumnBlock, 16, 512);
}

// out[:, n0:n1] = x @ w[n0:n1]^T + bias[n0:n1] through BLAS on `threads` threads; widens 16-bit
// weights panel by panel into this thread's scratch.
void blas_columns(const Problem& p, const CpuMatmulConfig& config, int threads, int64_t n0,
                  int64_t n1) {
  float beta = 0.0f;
  if (p.bias) {
    for (int64_t m = 0; m < p.M; ++m)
      std::memcpy(p.out + m * p.ldo + n0, p.bias + n0,
                  static_cast<size_t>(n1 - n0) * sizeof(float));
    beta = 1.0f;
  }
  if (p.weight_dtype == DType::F32) {
    const float* w = static_cast<const float*>(p.w) + n0 * p.ldw;
    sgemm_nt(config.blas, threads, p.M, n1 - n0, p.K, p.x, p.ldx, w, p.ldw, beta, p.out + n0,
             p.ldo);
    return;
  }
  const int64_t panel = panel_rows(config, p.K);
  float* buf = t_panel.reserve(static_cast<size_t>(std::min(panel, n1 - n0) * p.K));
  const uint16_t* w16 = static_cast<const uint16_t*>(p.w);
  for (int64_t b = n0; b < n1; b += panel) {
    const int64_t rows = std::min(panel, n1 - b);
    for (int64_t r = 0; r < rows; ++r)
      widen(p.weight_dtype, w16 + (b + r) * p.ldw, buf + r * p.K, p.K);
    sgemm_nt(config.blas, threads, p.M, rows, p.K, p.x, p.ldx, buf, p.K, beta, p.out + b, p.ldo);
  }
}

void run_blas(const Problem& p, const CpuMatmulConfig& config) {
  const int threads = ThreadPool::global().num_threads();
  if (!config.split_columns_across_pool || threads == 1) {
    blas_columns(p, config, threads, 0, p.N);
    return;
  }
  // Each chunk packs all of x once, so chunks must be wide enough to amortise that: a multiple of
  // the panel for 16-bit weights, at least 64 columns for f32.
  const int64_t grain = p.weight_dtype == DType::F32 ? 64 : panel_rows(config, p.K);
  for_column_chunks(p.N, grain,
                    [&](int64_t n0, int64_t n1) { blas_columns(p, config, 1, n0, n1); });
}

// out[:, n] = x @ w[n]^T + bias with bf16 x and w through oneDNN, the pool splitting the columns.
void run_onednn_bf16(const Problem& p, const uint16_t* x, int64_t ldx) {
  const uint16_t* w = static_cast<const uint16_t*>(p.w);
  // 256 columns or more per call: each call re-reads all of x, so narrow chunks would be
  // dominated by that.
  for_column_chunks(p.N, 256, [&](int64_t n0, int64_t n1) {
    onednn_bf16_gemm_nt(1, p.M, n1 - n0, p.K, x, ldx, w + n0 * p.ldw, p.ldw,
                        p.bias ? p.bias + n0 : nullptr, p.out + n0, p.ldo);
  });
}

}  // namespace

CpuMatmulConfig cpu_matmul_config() {
  std::lock_guard lock(config_mutex());
  return config_storage();
}

void set_cpu_matmul_config(const CpuMatmulConfig& config) {
  std::lock_guard lock(config_mutex());
  config_storage() = config;
}

void matmul_cpu(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const CpuMatmulConfig config = cpu_matmul_config();
  Problem p{};
  p.M = x.size(0);
  p.K = x.size(1);
  p.N = weight.size(0);
  if (p.M == 0 || p.N == 0) return;

  const bool bf16_gemm = config.onednn_bf16 && p.M > config.gemv_max_rows && p.K > 0 &&
                         x.dtype() == DType::BF16 && weight.dtype() == DType::BF16;
  if (bf16_gemm) {
    // x stays bf16; the oneDNN path below reads it as is.
  } else if (x.dtype() == DType::F32) {
    p.x = x.data_as<float>();
    p.ldx = row_stride(x);
  } else {
    float* buf = t_activations.reserve(static_cast<size_t>(p.M * p.K));
    const char* src = static_cast<const char*>(x.data());
    for (int64_t m = 0; m < p.M; ++m)
      widen(x.dtype(), src + static_cast<size_t>(m * row_stride(x)) * x.itemsize(), buf + m * p.K,
            p.K);
    p.x = buf;
    p.ldx = p.K;
  }
  p.ldx = std::max<int64_t>(p.ldx, 1);

  if (bias.defined()) {
    if (bias.dtype() == DType::F32) {
      p.bias = bias.data_as<float>();
    } else {
      float* buf = t_bias.reserve(static_cast<size_t>(p.N));
      widen(bias.dtype(), bias.data(), buf, p.N);
      p.bias = buf;
    }
  }

  const bool out_f32 = out.dtype() == DType::F32;
  if (out_f32) {
    p.out = out.mutable_data_as<float>();
    p.ldo = row_stride(out);
  } else {
    p.out = t_output.reserve(static_cast<size_t>(p.M * p.N));
    p.ldo = p.N;
  }

  p.weight_dtype = weight.dtype();
  p.w = weight.data();
  p.ldw = std::max<int64_t>(row_stride(weight), 1);

  if (p.K == 0) {  // an empty sum: out is the bias, or zeros
    for (int64_t m = 0; m < p.M; ++m)
      for (int64_t n = 0; n < p.N; ++n) p.out[m * p.ldo + n] = p.bias ? p.bias[n] : 0.0f;
  } else {
    if (bf16_gemm)
      run_onednn_bf16(p, static_cast<const uint16_t*>(x.data()), std::max<int64_t>(row_stride(x), 1));
    else if (p.M <= config.gemv_max_rows)
      run_gemv(p);
    else
      run_blas(p, config);
  }

  if (!out_f32) {
    char* dst = static_cast<char*>(out.mutable_data());
    for (int64_t m = 0; m < p.M; ++m)
      narrow(p.out + m * p.ldo, out.dtype(),
             dst + static_cast<size_t>(m * row_stride(out)) * out.itemsize(), p.N);
  }
}

}  // namespace pagoda::cpu
