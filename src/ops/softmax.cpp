#include "ops/softmax.h"

#include <fmt/format.h>

#include "ops/checks.h"
#include "ops/cpu/softmax.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {

void softmax(const Tensor& x, Tensor& out) {
  constexpr std::string_view op = "softmax";
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  int64_t rows = 1;
  for (int d = 0; d + 1 < x.dim(); ++d) rows *= x.size(d);
  PAGODA_CHECK(x.size(-1) >= 1 || rows == 0, InvalidArgument,
               fmt::format("{}: argument 'x' has shape {}; softmax over an empty last dimension "
                           "is undefined",
                           op, x.shape().to_string()),
               "pass at least one value per row");
  detail::check_shape(op, "out", out, x.shape(), "the shape of x");
  detail::check_dtype(op, "out", out, {DType::F32});
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"x", x}, {"out", out}});
  if (device.is_cpu()) return cpu::softmax(x, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::softmax(x, out);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
