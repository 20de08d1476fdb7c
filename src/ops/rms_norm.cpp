#include "ops/rms_norm.h"

#include <fmt/format.h>

#include <cmath>

#include "ops/checks.h"
#include "ops/cpu/rms_norm.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif
#include "pagoda/error.h"

namespace pagoda::ops {
namespace {

void check_eps(std::string_view op, double eps) {
  PAGODA_CHECK(std::isfinite(eps) && eps >= 0, InvalidArgument,
               fmt::format("{}: eps is {}; expected a finite value >= 0", op, eps),
               "pass the model's rms_norm_eps (typically 1e-5 or 1e-6)");
}

void check_weight(std::string_view op, const Tensor& weight, const Tensor& x) {
  if (!weight.defined()) return;
  detail::check_activation_dtype(op, "weight", weight);
  detail::check_per_column(op, "weight", weight, x);
}

}  // namespace

void rms_norm(const Tensor& x, const Tensor& weight, double eps, Tensor& out, RmsNormWeight form) {
  constexpr std::string_view op = "rms_norm";
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "out", out);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  check_weight(op, weight, x);
  check_eps(op, eps);
  detail::check_shape(op, "out", out, x.shape(), "the shape of x");
  detail::check_same_dtype(op, "out", out, "x", x);
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"x", x}, {"weight", weight}, {"out", out}});
  if (device.is_cpu()) return cpu::rms_norm(x, weight, static_cast<float>(eps), out, form);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::rms_norm(x, weight, static_cast<float>(eps), out, form);
#endif
  detail::unsupported_device(op, device);
}

void fused_add_rms_norm(Tensor& x, Tensor& residual, const Tensor& weight, double eps,
                        RmsNormWeight form) {
  constexpr std::string_view op = "fused_add_rms_norm";
  detail::check_defined(op, "x", x);
  detail::check_defined(op, "residual", residual);
  detail::check_activation_dtype(op, "x", x);
  detail::check_rows(op, "x", x);
  detail::check_shape(op, "residual", residual, x.shape(), "the shape of x");
  detail::check_same_dtype(op, "residual", residual, "x", x);
  detail::check_rows(op, "residual", residual);
  check_weight(op, weight, x);
  check_eps(op, eps);
  detail::check_writable(op, "x", x);
  detail::check_writable(op, "residual", residual);
  const Device device =
      detail::common_device(op, {{"x", x}, {"residual", residual}, {"weight", weight}});
  if (device.is_cpu())
    return cpu::fused_add_rms_norm(x, residual, weight, static_cast<float>(eps), form);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda())
    return cuda::fused_add_rms_norm(x, residual, weight, static_cast<float>(eps), form);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
