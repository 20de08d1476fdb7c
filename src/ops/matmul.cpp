#include "ops/matmul.h"

#include <fmt/format.h>

#include <string>

#include "ops/cpu/matmul.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

bool matmul_dtype(DType d) {
  return d == DType::F32 || d == DType::BF16 || d == DType::F16;
}

void check_dtype(const Tensor& t, const char* name) {
  PAGODA_CHECK(matmul_dtype(t.dtype()), InvalidArgument,
               fmt::format("matmul: {} has dtype {}, expected f32, bf16 or f16", name,
                           dtype_name(t.dtype())),
               fmt::format("convert {} to f32, bf16 or f16 before the product (quantized weights "
                           "need their own linear method)",
                           name));
}

void check_rank2(const Tensor& t, const char* name, const char* dims) {
  PAGODA_CHECK(t.dim() == 2, InvalidArgument,
               fmt::format("matmul: {} has shape {}, expected a 2-D tensor {}", name,
                           t.shape().to_string(), dims),
               fmt::format("reshape {} to 2-D first, e.g. view({{-1, {}.size(-1)}})", name, name));
}

// Rows contiguous, rows not overlapping (so the product may write them in parallel), and a row
// stride BLAS accepts.
void check_row_layout(const Tensor& t, const char* name) {
  const bool unit_columns = t.size(1) <= 1 || t.stride(1) == 1;
  const bool rows_apart = t.size(0) <= 1 || t.stride(0) >= t.size(1);
  PAGODA_CHECK(
      unit_columns && rows_apart, InvalidArgument,
      fmt::format("matmul: {} has shape {} and strides {}; expected stride 1 along the last "
                  "dimension and a row stride of at least {}",
                  name, t.shape().to_string(), t.strides().to_string(), t.size(1)),
      fmt::format("pass {}.contiguous()", name));
}

// Byte range [lo, hi) the tensor's elements span (all strides are non-negative here).
std::pair<const char*, const char*> byte_span(const Tensor& t) {
  const char* lo = static_cast<const char*>(t.data());
  size_t last = 0;
  for (int d = 0; d < t.dim(); ++d) last += static_cast<size_t>((t.size(d) - 1) * t.stride(d));
  return {lo, lo + (last + 1) * t.itemsize()};
}

// Whether two row-strided 2-D tensors in one storage share a byte. Tensors side by side in the
// columns of one buffer (same row stride, disjoint column ranges) do not.
bool overlaps(const Tensor& a, const Tensor& b) {
  const auto [a0, a1] = byte_span(a);
  const auto [b0, b1] = byte_span(b);
  if (a1 <= b0 || b1 <= a0) return false;
  if (a.dim() != 2 || b.dim() != 2 || a.size(0) < 2 || b.size(0) < 2) return true;
  const int64_t row = a.stride(0) * static_cast<int64_t>(a.itemsize());
  if (row != b.stride(0) * static_cast<int64_t>(b.itemsize())) return true;
  const char* base = static_cast<const char*>(a.storage()->data());
  const int64_t ca = (static_cast<const char*>(a.data()) - base) % row;
  const int64_t cb = (static_cast<const char*>(b.data()) - base) % row;
  const int64_t wa = a.size(1) * static_cast<int64_t>(a.itemsize());
  const int64_t wb = b.size(1) * static_cast<int64_t>(b.itemsize());
  if (ca + wa > row || cb + wb > row) return true;  // a row wraps into the next: be conservative
  return !(ca + wa <= cb || cb + wb <= ca);
}

void check_no_overlap(const Tensor& out, const Tensor& in, const char* name) {
  if (!in.defined() || in.numel() == 0 || out.numel() == 0) return;
  if (in.storage() != out.storage()) return;
  PAGODA_CHECK(!overlaps(out, in), InvalidArgument,
               fmt::format("matmul: out {} overlaps the memory of {} {}", out.to_string(), name,
                           in.to_string()),
               fmt::format("write the product into a separate tensor, not into {}", name));
}

}  // namespace

void matmul(const Tensor& x, const Tensor& weight, const Tensor& bias, Tensor& out) {
  PAGODA_CHECK(x.defined() && weight.defined() && out.defined(), InvalidArgument,
               fmt::format("matmul: {} is an undefined tensor", !x.defined()        ? "x"
                                                                : !weight.defined() ? "weight"
                                                                                    : "out"),
               "pass allocated tensors for x, weight and out (only bias may be undefined)");
  check_rank2(x, "x", "[M, K]");
  check_rank2(weight, "weight", "[N, K]");
  check_rank2(out, "out", "[M, N]");
  check_dtype(x, "x");
  check_dtype(weight, "weight");
  check_dtype(out, "out");

  const int64_t M = x.size(0), K = x.size(1), N = weight.size(0);
  PAGODA_CHECK(
      weight.size(1) == K, InvalidArgument,
      fmt::format("matmul: x {} has K = {} columns but weight {} has {} (weight is [N, K], "
                  "out = x @ weight^T)",
                  x.shape().to_string(), K, weight.shape().to_string(), weight.size(1)),
      "pass the weight of the layer whose input size matches x, stored as [out_features, "
      "in_features] as in the checkpoint");
  PAGODA_CHECK(
      out.size(0) == M && out.size(1) == N, InvalidArgument,
      fmt::format("matmul: out has shape {}, expected [{}, {}] (x {} times weight {} "
                  "transposed)",
                  out.shape().to_string(), M, N, x.shape().to_string(), weight.shape().to_string()),
      fmt::format("allocate out as [{}, {}]", M, N));
  if (bias.defined()) {
    check_dtype(bias, "bias");
    PAGODA_CHECK(bias.dim() == 1 && bias.size(0) == N, InvalidArgument,
                 fmt::format("matmul: bias has shape {}, expected [{}] (one value per output "
                             "feature of weight {})",
                             bias.shape().to_string(), N, weight.shape().to_string()),
                 "pass the bias that belongs to this weight, or an undefined Tensor() for none");
    PAGODA_CHECK(bias.is_contiguous(), InvalidArgument,
                 fmt::format("matmul: bias {} is not contiguous", bias.to_string()),
                 "pass bias.contiguous()");
  }
  check_row_layout(x, "x");
  check_row_layout(weight, "weight");
  check_row_layout(out, "out");
  PAGODA_CHECK(!out.is_read_only(), InvalidArgument,
               fmt::format("matmul: out {} is read-only", out.to_string()),
               "write the product into a tensor from Tensor::empty(), not a read-only view");
  check_no_overlap(out, x, "x");
  check_no_overlap(out, weight, "weight");
  check_no_overlap(out, bias, "bias");
  // BLAS takes 32-bit sizes.
  constexpr int64_t kMax = 0x7fffffff;
  PAGODA_CHECK(M <= kMax && N <= kMax && K <= kMax && x.stride(0) <= kMax &&
                   out.stride(0) <= kMax && weight.stride(0) <= kMax,
               Unsupported, fmt::format("matmul: sizes M={} N={} K={} exceed 2^31-1", M, N, K),
               "split the product into smaller pieces");

  const Device device = weight.device();
  for (const Tensor* t : {&x, &bias, static_cast<const Tensor*>(&out)}) {
    if (!t->defined()) continue;
    PAGODA_CHECK(t->device() == device, InvalidArgument,
                 fmt::format("matmul: weight is on {} but {} is on {}", device.to_string(),
                             t == &x      ? "x"
                             : t == &bias ? "bias"
                                          : "out",
                             t->device().to_string()),
                 "move all arguments to one device");
  }
  if (device.is_cpu()) return cpu::matmul_cpu(x, weight, bias, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::matmul(x, weight, bias, out);
#endif
  throw_error(ErrorCode::Unsupported,
              fmt::format("matmul on {} is not implemented yet", device.to_string()),
              "run the model on the CPU (--device cpu)");
}

}  // namespace pagoda::ops
