#include "ops/cast.h"

#include <initializer_list>

#include "ops/checks.h"
#include "ops/cpu/cast.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif

namespace pagoda::ops {

void cast(const Tensor& src, Tensor& out) {
  constexpr std::string_view op = "cast";
  const std::initializer_list<DType> kFloat = {DType::F64, DType::F32,      DType::BF16,
                                               DType::F16, DType::FP8_E4M3, DType::FP8_E5M2};
  detail::check_defined(op, "src", src);
  detail::check_defined(op, "out", out);
  detail::check_dtype(op, "src", src, kFloat);
  detail::check_dtype(op, "out", out, kFloat);
  detail::check_shape(op, "out", out, src.shape(), "the shape of src");
  if (src.dim() > 0) {
    detail::check_rows(op, "src", src);
    detail::check_rows(op, "out", out);
  }
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"src", src}, {"out", out}});
  if (device.is_cpu()) return cpu::cast(src, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::cast(src, out);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
