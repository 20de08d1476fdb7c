// Conversion between floating-point dtypes.
#pragma once

#include "pagoda/tensor.h"

namespace pagoda::ops {

// out = src converted to out's dtype, element by element, as PyTorch's .to(dtype) does: round to
// nearest even; NaN stays NaN; a value beyond fp8_e4m3's range (448) becomes NaN (no saturation,
// like torch's cast to float8_e4m3fn). f64 and fp8 go through f32, as PyTorch's conversions do.
//   src: f64, f32, bf16, f16, fp8_e4m3 or fp8_e5m2, rows may be strided (each row contiguous).
//   out: any of those dtypes, src's shape, same row rules. The same dtype on both sides copies.
void cast(const Tensor& src, Tensor& out);

}  // namespace pagoda::ops
