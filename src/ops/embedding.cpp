#include "ops/embedding.h"

#include "ops/checks.h"
#include "ops/cpu/embedding.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/ops.h"
#endif

namespace pagoda::ops {

void embedding(const Tensor& ids, const Tensor& table, Tensor& out) {
  constexpr std::string_view op = "embedding";
  detail::check_defined(op, "ids", ids);
  detail::check_defined(op, "table", table);
  detail::check_defined(op, "out", out);
  detail::check_dtype(op, "ids", ids, {DType::I32, DType::I64});
  detail::check_rank(op, "ids", ids, 1);
  detail::check_activation_dtype(op, "table", table);
  detail::check_rank(op, "table", table, 2);
  detail::check_rows(op, "table", table);
  detail::check_activation_dtype(op, "out", out);
  detail::check_shape(op, "out", out, {ids.size(0), table.size(1)},
                      "one row of the table's width per id");
  detail::check_rows(op, "out", out);
  detail::check_writable(op, "out", out);
  const Device device = detail::common_device(op, {{"ids", ids}, {"table", table}, {"out", out}});
  if (device.is_cpu()) return cpu::embedding(ids, table, out);
#ifdef PAGODA_HAS_CUDA
  if (device.is_cuda()) return cuda::embedding(ids, table, out);
#endif
  detail::unsupported_device(op, device);
}

}  // namespace pagoda::ops
