#include "ops/argmax.h"

#include <fmt/format.h>

#include "ops/checks.h"
#include "ops/cpu/argmax.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {

void argmax(const Tensor& x, Tensor& out) {
  constexpr std::string_view op = "argmax";
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  PAGODA_CHECK(x.size(-1) >= 1, InvalidArgument,
               fmt::format("{}: argument 'x' has shape {}; the last dimension is empty, so no "
                           "index exists",
                           op, x.shape().to_string()),
               "pass at least one value per row");
  Shape expected = x.shape();
  expected.erase(expected.size() - 1);
  detail::check_shape(op, "out", out, expected, "x's shape without the last dimension");
  detail::check_dtype(op, "out", out, {DType::I64});
  PAGODA_CHECK(out.is_contiguous(), InvalidArgument,
               fmt::format("{}: argument 'out' (strides {}) is not contiguous", op,
                           out.strides().to_string()),
               "pass a contiguous i64 tensor for 'out'");
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"x", x}, {"out", out}});
  if (device.is_cpu()) return cpu::argmax(x, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::argmax(x, out);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
