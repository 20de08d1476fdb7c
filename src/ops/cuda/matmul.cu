// matmul on CUDA (ops/matmul.h): out[M, N] = x[M, K] @ weight[N, K]^T + bias[N] through cuBLASLt,
// f32 accumulation (CUBLAS_COMPUTE_32F everywhere, never TF32, so f32 matches the CPU to ~1e-6).
//
// cuBLASLt is column-major. A row-major [R, C] matrix with row stride ld is the column-major
// C x R matrix with leading dimension ld. So out (row-major [M, N]) is D = out^T, column-major
// N x M, and out^T = weight * x^T becomes D(N x M) = op(A)(N x K) * op(B)(K x M) with
//   A = weight, column-major K x N (ld = weight's row stride), op(A) = A^T (TRANSA = T);
//   B = x,      column-major K x M (ld = x's row stride),      op(B) = B   (TRANSB = N);
//   D = out,    column-major N x M (ld = out's row stride).
// D's rows are out's columns, so the BIAS epilogue (one value per row of D) adds bias[n].
//
// One call when cuBLASLt takes the dtypes as they are: x and weight of one dtype, out of that
// dtype or f32 (f32 inputs: f32 out), bias absent or of out's dtype (the epilogue reads bias in
// D's type and adds it in f32 before rounding, like the CPU op). Anything else (mixed input
// dtypes, other out or bias dtypes, operands cuBLASLt has no kernel for) is rare and goes the
// exact long way: the product into an f32 scratch, then one kernel adds bias in f32 and rounds to
// out (see matmul() below).
#include <cublasLt.h>

#include <algorithm>
#include <array>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <tuple>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/gemv.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"
#include "pagoda/error.h"

namespace pagoda::cuda {
namespace {

constexpr size_t kWorkspaceBytes = size_t{32} << 20;

std::string dims(int64_t m, int64_t n, int64_t k) {
  return "M=" + std::to_string(m) + " N=" + std::to_string(n) + " K=" + std::to_string(k);
}

void check_blas(cublasStatus_t status, const char* what) {
  if (status == CUBLAS_STATUS_SUCCESS) return;
  throw_error(status == CUBLAS_STATUS_ALLOC_FAILED ? ErrorCode::OutOfMemory : ErrorCode::Internal,
              std::string(what) + " failed: " + cublasLtGetStatusName(status) + " (" +
                  cublasLtGetStatusString(status) + ")",
              "a cuBLASLt failure here is a Pagoda bug, please report it with the command that "
              "triggered it");
}

cudaDataType_t cuda_type(DType d) {
  return d == DType::F32 ? CUDA_R_32F : d == DType::BF16 ? CUDA_R_16BF : CUDA_R_16F;
}

// The cuBLASLt handle and workspace of one device. Created on first use and never destroyed:
// tearing them down from static destructors would race the CUDA runtime's own shutdown.
struct DeviceBlas {
  cublasLtHandle_t handle = nullptr;
  Tensor workspace;  // kWorkspaceBytes from the caching allocator
};

DeviceBlas& device_blas(Device device) {
  static std::mutex mutex;
  static std::array<DeviceBlas*, 64> per_device{};
  std::lock_guard lock(mutex);
  DeviceBlas*& b = per_device.at(static_cast<size_t>(device.index));
  if (!b) {
    auto fresh = std::make_unique<DeviceBlas>();
    check_blas(cublasLtCreate(&fresh->handle), "cublasLtCreate");
    fresh->workspace = Tensor::empty({static_cast<int64_t>(kWorkspaceBytes)}, DType::U8, device);
    b = fresh.release();
  }
  return *b;
}

// The largest power of two (up to 256) dividing the address: cuBLASLt's heuristic picks kernels
// by the alignment it is promised, so an algorithm is only reused for operands as aligned.
uint32_t alignment(const void* p) {
  const auto a = reinterpret_cast<uintptr_t>(p);
  uint32_t align = 256;
  while (align > 1 && a % align != 0) align /= 2;
  return align;
}

// A matrix operand as cuBLASLt sees it.
struct Operand {
  const void* data = nullptr;
  DType dtype = DType::F32;
  int64_t ld = 0;
};

// Everything the heuristic's choice depends on.
struct AlgoKey {
  int device;
  int64_t m, n, k, ldw, ldx, ldo;
  DType ab, d;
  bool bias;
  uint32_t align_w, align_x, align_o, align_bias;
  auto tie() const {
    return std::tie(device, m, n, k, ldw, ldx, ldo, ab, d, bias, align_w, align_x, align_o,
                    align_bias);
  }
  bool operator<(const AlgoKey& o) const { return tie() < o.tie(); }
};

// The best algorithm by cuBLASLt's heuristic for the described product, given the workspace and
// the operands' actual alignment; none when cuBLASLt has no kernel for it.
std::optional<cublasLtMatmulAlgo_t> heuristic_algo(
    cublasLtHandle_t handle, cublasLtMatmulDesc_t desc, cublasLtMatrixLayout_t a_layout,
    cublasLtMatrixLayout_t b_layout, cublasLtMatrixLayout_t d_layout, const AlgoKey& key) {
  cublasLtMatmulPreferenceOpaque_t pref_storage;
  cublasLtMatmulPreference_t pref = &pref_storage;
  check_blas(cublasLtMatmulPreferenceInit(pref), "cublasLtMatmulPreferenceInit");
  const uint64_t workspace = kWorkspaceBytes;
  check_blas(cublasLtMatmulPreferenceSetAttribute(pref, CUBLASLT_MATMUL_PREF_MAX_WORKSPACE_BYTES,
                                                  &workspace, sizeof(workspace)),
             "cublasLtMatmulPreferenceSetAttribute(MAX_WORKSPACE_BYTES)");
  const std::pair<cublasLtMatmulPreferenceAttributes_t, uint32_t> aligns[] = {
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_A_BYTES, key.align_w},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_B_BYTES, key.align_x},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_C_BYTES, key.align_o},
      {CUBLASLT_MATMUL_PREF_MIN_ALIGNMENT_D_BYTES, key.align_o}};
  for (const auto& [attr, value] : aligns)
    check_blas(cublasLtMatmulPreferenceSetAttribute(pref, attr, &value, sizeof(value)),
               "cublasLtMatmulPreferenceSetAttribute(MIN_ALIGNMENT)");
  cublasLtMatmulHeuristicResult_t result{};
  int found = 0;
  const cublasStatus_t status = cublasLtMatmulAlgoGetHeuristic(
      handle, desc, a_layout, b_layout, d_layout, d_layout, pref, 1, &result, &found);
  if (status != CUBLAS_STATUS_SUCCESS || found == 0 || result.state != CUBLAS_STATUS_SUCCESS)
    return std::nullopt;
  return result.algo;
}

// The algorithm for `key`, from the cache or the heuristic; "none" is cached too, so a shape that
// needs the fallback does not ask the heuristic again. The cache grows by one entry per new M of
// a layer shape (prefill sizes vary); an entry is ~100 bytes.
std::optional<cublasLtMatmulAlgo_t> cached_algo(const AlgoKey& key, cublasLtHandle_t handle,
                                                cublasLtMatmulDesc_t desc,
                                                cublasLtMatrixLayout_t a_layout,
                                                cublasLtMatrixLayout_t b_layout,
                                                cublasLtMatrixLayout_t d_layout) {
  static std::mutex mutex;
  static std::map<AlgoKey, std::optional<cublasLtMatmulAlgo_t>> cache;
  {
    std::lock_guard lock(mutex);
    if (const auto it = cache.find(key); it != cache.end()) return it->second;
  }
  // Outside the lock: the heuristic takes a while. Two threads may both run it; the first wins.
  const std::optional<cublasLtMatmulAlgo_t> algo =
      heuristic_algo(handle, desc, a_layout, b_layout, d_layout, key);
  std::lock_guard lock(mutex);
  cache.emplace(key, algo);
  return algo;
}

// D (column-major N x M) = weight^T-op * x (+ bias), see the top of the file. k >= 1. Returns
// false, queuing nothing, when cuBLASLt has no algorithm for these operands.
bool try_lt_matmul(Device device, cudaStream_t stream, const Operand& w, const Operand& x,
                   void* out, DType out_dtype, int64_t ldo, const void* bias, int64_t m, int64_t n,
                   int64_t k) {
  DeviceBlas& blas = device_blas(device);

  cublasLtMatmulDescOpaque_t desc_storage;
  cublasLtMatmulDesc_t desc = &desc_storage;
  check_blas(cublasLtMatmulDescInit(desc, CUBLAS_COMPUTE_32F, CUDA_R_32F),
             "cublasLtMatmulDescInit");
  const int32_t trans_a = CUBLAS_OP_T, trans_b = CUBLAS_OP_N;
  check_blas(
      cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSA, &trans_a, sizeof(trans_a)),
      "cublasLtMatmulDescSetAttribute(TRANSA)");
  check_blas(
      cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_TRANSB, &trans_b, sizeof(trans_b)),
      "cublasLtMatmulDescSetAttribute(TRANSB)");
  if (bias) {
    const uint32_t epilogue = CUBLASLT_EPILOGUE_BIAS;
    check_blas(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_EPILOGUE, &epilogue,
                                              sizeof(epilogue)),
               "cublasLtMatmulDescSetAttribute(EPILOGUE)");
    check_blas(cublasLtMatmulDescSetAttribute(desc, CUBLASLT_MATMUL_DESC_BIAS_POINTER, &bias,
                                              sizeof(bias)),
               "cublasLtMatmulDescSetAttribute(BIAS_POINTER)");
  }

  cublasLtMatrixLayoutOpaque_t a_storage, b_storage, d_storage;
  cublasLtMatrixLayout_t a_layout = &a_storage, b_layout = &b_storage, d_layout = &d_storage;
  const auto u = [](int64_t v) { return static_cast<uint64_t>(v); };
  check_blas(cublasLtMatrixLayoutInit(a_layout, cuda_type(w.dtype), u(k), u(n), w.ld),
             "cublasLtMatrixLayoutInit(weight)");
  check_blas(cublasLtMatrixLayoutInit(b_layout, cuda_type(x.dtype), u(k), u(m), x.ld),
             "cublasLtMatrixLayoutInit(x)");
  check_blas(cublasLtMatrixLayoutInit(d_layout, cuda_type(out_dtype), u(n), u(m), ldo),
             "cublasLtMatrixLayoutInit(out)");

  AlgoKey key{};
  key.device = device.index;
  key.m = m, key.n = n, key.k = k;
  key.ldw = w.ld, key.ldx = x.ld, key.ldo = ldo;
  key.ab = w.dtype, key.d = out_dtype, key.bias = bias != nullptr;
  key.align_w = alignment(w.data), key.align_x = alignment(x.data), key.align_o = alignment(out);
  key.align_bias = bias ? alignment(bias) : 0u;
  const std::optional<cublasLtMatmulAlgo_t> algo =
      cached_algo(key, blas.handle, desc, a_layout, b_layout, d_layout);
  if (!algo) return false;

  const float alpha = 1.0f, beta = 0.0f;
  check_blas(cublasLtMatmul(blas.handle, desc, &alpha, w.data, a_layout, x.data, b_layout, &beta,
                            out, d_layout, out, d_layout, &*algo, blas.workspace.mutable_data(),
                            kWorkspaceBytes, stream),
             "cublasLtMatmul");
  return true;
}

template <class Fn>
void dispatch_activation(DType dtype, Fn&& fn) {
  if (dtype == DType::F32) return fn(float{});
  if (dtype == DType::BF16) return fn(__nv_bfloat16{});
  return fn(__half{});
}

// dst[r, c] = round(src[r, c] + bias[c]) for a rows x cols block; src and bias may be null (0).
// Widens 16-bit inputs (no bias, f32 dst) and finishes the long way (f32 src, any dst).
template <class S, class B, class D>
__global__ void convert_kernel(const S* src, int64_t lds, const B* bias, D* dst, int64_t ldd,
                               int64_t rows, int64_t cols) {
  const int64_t total = rows * cols;
  for (int64_t i = blockIdx.x * int64_t{blockDim.x} + threadIdx.x; i < total;
       i += int64_t{gridDim.x} * blockDim.x) {
    const int64_t r = i / cols, c = i % cols;
    float v = src ? to_float(src[r * lds + c]) : 0.0f;
    if (bias) v += to_float(bias[c]);
    dst[r * ldd + c] = from_float<D>(v);
  }
}

void convert(cudaStream_t stream, DType src_dtype, const void* src, int64_t lds, DType bias_dtype,
             const void* bias, DType dst_dtype, void* dst, int64_t ldd, int64_t rows,
             int64_t cols) {
  constexpr int kThreads = 256;
  const int64_t blocks = (rows * cols + kThreads - 1) / kThreads;
  const unsigned grid = static_cast<unsigned>(blocks < 4096 ? blocks : 4096);
  dispatch_activation(src_dtype, [&](auto s) {
    dispatch_activation(bias_dtype, [&](auto b) {
      dispatch_activation(dst_dtype, [&](auto d) {
        using S = decltype(s);
        using B = decltype(b);
        using D = decltype(d);
        convert_kernel<<<grid, kThreads, 0, stream>>>(static_cast<const S*>(src), lds,
                                                      static_cast<const B*>(bias),
                                                      static_cast<D*>(dst), ldd, rows, cols);
      });
    });
  });
  check_launch("matmul (convert)");
}

// The leading dimension cuBLASLt is given: the row stride, except for a single row whose stride
// is meaningless (a view may give it any value) and must still be >= the row length.
int64_t leading_dim(const Tensor& t) {
  return t.size(0) <= 1 ? std::max<int64_t>(t.size(1), 1) : t.stride(0);
}

// Output types cuBLASLt takes with CUBLAS_COMPUTE_32F: the input type, or f32 for 16-bit inputs.
bool direct_out_dtype(DType ab, DType out) {
  return out == ab || out == DType::F32;
}

}  // namespace

void matmul(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  const int64_t m = x.size(0), k = x.size(1), n = weight.size(0);
  if (m == 0 || n == 0) return;
  const Device device = weight.device();
  cudaStream_t stream = use_device(device);
  const DType bias_dtype = bias.defined() ? bias.dtype() : DType::F32;
  const void* bias_data = bias.defined() ? bias.data() : nullptr;
  if (k == 0) {  // an empty sum: out = bias (or 0); cuBLASLt does not take K = 0
    convert(stream, DType::F32, nullptr, 0, bias_dtype, bias_data, out.dtype(), out.mutable_data(),
            out.stride(0), m, n);
    return;
  }

  if (gemv(x, weight, bias, out)) return;

  const bool same_inputs = x.dtype() == weight.dtype();
  const Operand w_in{weight.data(), weight.dtype(), leading_dim(weight)};
  const Operand x_in{x.data(), x.dtype(), leading_dim(x)};
  if (same_inputs && direct_out_dtype(x.dtype(), out.dtype()) &&
      (!bias.defined() || bias.dtype() == out.dtype()) &&
      try_lt_matmul(device, stream, w_in, x_in, out.mutable_data(), out.dtype(), leading_dim(out),
                    bias_data, m, n, k))
    return;

  // The long way: the product into an f32 scratch (rows padded to 16 bytes), then bias and the
  // rounding to out in one kernel. Inputs go as they are when they share a dtype, else with the
  // 16-bit one widened to f32; if cuBLASLt has no kernel for that (odd alignments), both go as f32
  // copies with padded rows, which it always takes. Scratch goes back to the caching allocator at
  // the end of this scope with kernels possibly still queued; that is safe because every op on
  // the device shares one stream.
  const auto padded = [](int64_t v) { return (v + 3) / 4 * 4; };
  // t as an f32 operand: t itself when it is f32 (unless copy_f32), else a copy in `scratch`.
  const auto as_f32 = [&](const Tensor& t, Tensor& scratch, bool copy_f32) -> Operand {
    if (t.dtype() == DType::F32 && !copy_f32) return {t.data(), DType::F32, leading_dim(t)};
    scratch = Tensor::empty({t.size(0), padded(t.size(1))}, DType::F32, device);
    convert(stream, t.dtype(), t.data(), t.stride(0), DType::F32, nullptr, DType::F32,
            scratch.mutable_data(), scratch.size(1), t.size(0), t.size(1));
    return {scratch.data(), DType::F32, scratch.size(1)};
  };
  Tensor acc = Tensor::empty({m, padded(n)}, DType::F32, device);
  const int64_t ld_acc = acc.size(1);
  const auto product = [&](const Operand& w_op, const Operand& x_op) {
    return try_lt_matmul(device, stream, w_op, x_op, acc.mutable_data(), DType::F32, ld_acc,
                         nullptr, m, n, k);
  };
  Tensor w32, x32;
  bool done = same_inputs ? product(w_in, x_in)
                          : product(as_f32(weight, w32, false), as_f32(x, x32, false));
  if (!done) done = product(as_f32(weight, w32, true), as_f32(x, x32, true));
  PAGODA_CHECK(done, Unsupported,
               "matmul: cuBLASLt has no algorithm for " + dims(m, n, k) + " even in f32",
               "report the shapes; this should not happen on a supported GPU");
  convert(stream, DType::F32, acc.data(), ld_acc, bias_dtype, bias_data, out.dtype(),
          out.mutable_data(), out.stride(0), m, n);
}

}  // namespace pagoda::cuda
