#include "ops/layer_norm.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/checks.h"
#include "ops/cpu/layer_norm.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {

void layer_norm(const Tensor& x, const Tensor& weight, const Tensor& bias, double eps,
                Tensor& out) {
  constexpr std::string_view op = "layer_norm";
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  if (weight.defined()) {
    detail::check_activation_dtype(op, "weight", weight);
    detail::check_per_column(op, "weight", weight, x);
  }
  if (bias.defined()) {
    detail::check_activation_dtype(op, "bias", bias);
    detail::check_per_column(op, "bias", bias, x);
  }
  PAGODA_CHECK(std::isfinite(eps) && eps >= 0, InvalidArgument,
               fmt::format("{}: eps is {}; expected a finite value >= 0", op, eps),
               "pass the model's layer_norm_eps (typically 1e-5)");
  detail::check_shape(op, "out", out, x.shape(), "the shape of x");
  detail::check_same_dtype(op, "out", out, "x", x);
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device =
      detail::common_device(op, {{"x", x}, {"weight", weight}, {"bias", bias}, {"out", out}});
  if (device.is_cpu()) return cpu::layer_norm(x, weight, bias, static_cast<float>(eps), out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::layer_norm(x, weight, bias, static_cast<float>(eps), out);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
