#include "ops/elementwise.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/checks.h"
#include "ops/cpu/elementwise.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {

void add(const Tensor& a, const Tensor& b, Tensor& out) {
  constexpr std::string_view op = "add";
  detail::check_defined(op, "a", a);
  detail::check_defined(op, "b", b);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "a", a);
  detail::check_rows(op, "a", a);
  detail::check_shape(op, "b", b, a.shape(), "the shape of a");
  detail::check_same_dtype(op, "b", b, "a", a);
  detail::check_rows(op, "b", b);
  detail::check_shape(op, "out", out, a.shape(), "the shape of a");
  detail::check_same_dtype(op, "out", out, "a", a);
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"a", a}, {"b", b}, {"out", out}});
  if (device.is_cpu()) return cpu::add(a, b, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::add(a, b, out);
#endif
  detail::unsupported_device(op, device);
}

void scale(const Tensor& x, double scale, Tensor& out) {
  constexpr std::string_view op = "scale";
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  PAGODA_CHECK(std::isfinite(scale), InvalidArgument,
               fmt::format("{}: the scale factor is {}; expected a finite number", op, scale),
               "check the config value the factor comes from");
  detail::check_shape(op, "out", out, x.shape(), "the shape of x");
  detail::check_same_dtype(op, "out", out, "x", x);
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"x", x}, {"out", out}});
  if (device.is_cpu()) return cpu::scale(x, static_cast<float>(scale), out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::scale(x, static_cast<float>(scale), out);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
