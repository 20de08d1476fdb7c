// Float dtype conversion on CUDA with the CPU op's rules (ops/cast.h): every conversion between
// different dtypes goes through f32 and rounds to nearest even; NaN stays NaN; e4m3 has no
// infinity, so inf, NaN and anything rounding beyond 448 become its NaN; e5m2 overflows to inf.
// The fp8 encodings are done on the bits here rather than through cuda_fp8.h, so that they follow
// the CPU reference (pagoda/half.h) step for step. The same dtype on both sides copies the bits.
// Memory-bound: 8 elements per thread per step, in 16-byte accesses where the rows allow.
#include <cstdint>
#include <type_traits>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "ops/cuda/ops.h"
#include "ops/cuda/vector_io.cuh"

namespace pagoda::cuda {
namespace {

// Storage types, one per dtype, so that templates tell bf16 from f16 and e4m3 from e5m2.
struct Bf16Bits {
  uint16_t b;
};
struct F16Bits {
  uint16_t b;
};
struct E4m3Bits {
  uint8_t b;
};
struct E5m2Bits {
  uint8_t b;
};

// 2^k as a float, for k in [-126, 127].
__device__ __forceinline__ float pow2(int k) {
  return __int_as_float((127 + k) << 23);
}

__device__ __forceinline__ float decode(double v) {
  return __double2float_rn(v);
}
__device__ __forceinline__ float decode(float v) {
  return v;
}
__device__ __forceinline__ float decode(Bf16Bits v) {
  return __uint_as_float(static_cast<uint32_t>(v.b) << 16);
}
__device__ __forceinline__ float decode(F16Bits v) {
  return __half2float(__ushort_as_half(v.b));
}
__device__ __forceinline__ float decode(E4m3Bits v) {
  const uint32_t b = v.b;
  if ((b & 0x7fu) == 0x7fu) return __uint_as_float(0x7fc00000u);
  const uint32_t exp = (b >> 3) & 0xfu, mant = b & 0x7u;
  // Subnormal: mant * 2^-9 (exact); normal: the fields moved into f32's.
  const float mag = exp == 0 ? static_cast<float>(mant) * pow2(-9)
                             : __uint_as_float(((exp + 127u - 7u) << 23) | (mant << 20));
  return (b & 0x80u) ? -mag : mag;
}
__device__ __forceinline__ float decode(E5m2Bits v) {
  const uint32_t b = v.b;
  const uint32_t exp = (b >> 2) & 0x1fu, mant = b & 0x3u;
  float mag;
  if (exp == 0x1f)
    mag = mant != 0 ? __uint_as_float(0x7fc00000u) : __uint_as_float(0x7f800000u);
  else if (exp == 0)
    mag = static_cast<float>(mant) * pow2(-16);
  else
    mag = __uint_as_float(((exp + 127u - 15u) << 23) | (mant << 21));
  if (mant != 0 && exp == 0x1f) return mag;  // NaN keeps no sign, as the CPU decode
  return (b & 0x80u) ? -mag : mag;
}

// |a| (finite, >= 0) rounded to nearest even onto a small float with kMant mantissa bits and
// exponent bias kBias; returns its magnitude code, or max_code + 1 when it lies beyond max_code.
template <int kMant, int kBias>
__device__ __forceinline__ uint32_t encode_small(float a, uint32_t max_code) {
  if (a == 0.0f) return 0;
  int unbiased = static_cast<int>((__float_as_uint(a) >> 23) & 0xffu) - 127;
  if (unbiased < 1 - kBias) unbiased = 1 - kBias;   // subnormal spacing below the normal range
  if (unbiased > 127 - kMant) return max_code + 1;  // far beyond any small float's range
  // a in units of the spacing at its exponent: exact (a power-of-two scale), then rounded.
  uint32_t q = static_cast<uint32_t>(rintf(a * pow2(kMant - unbiased)));
  if (q >= (2u << kMant)) {  // rounding carried into the next binade
    q >>= 1;
    ++unbiased;
  }
  const uint32_t code = q < (1u << kMant) ? q
                                          : (static_cast<uint32_t>(unbiased + kBias) << kMant) |
                                                (q & ((1u << kMant) - 1u));
  return code > max_code ? max_code + 1 : code;
}

template <class D>
__device__ __forceinline__ D encode(float v);
template <>
__device__ __forceinline__ double encode<double>(float v) {
  return static_cast<double>(v);
}
template <>
__device__ __forceinline__ float encode<float>(float v) {
  return v;
}
template <>
__device__ __forceinline__ Bf16Bits encode<Bf16Bits>(float v) {
  return {__bfloat16_as_ushort(__float2bfloat16_rn(v))};
}
template <>
__device__ __forceinline__ F16Bits encode<F16Bits>(float v) {
  return {__half_as_ushort(__float2half_rn(v))};
}
template <>
__device__ __forceinline__ E4m3Bits encode<E4m3Bits>(float v) {
  const uint32_t sign = (__float_as_uint(v) >> 24) & 0x80u;
  if (!isfinite(v)) return {static_cast<uint8_t>(sign | 0x7fu)};
  const uint32_t code = encode_small<3, 7>(fabsf(v), 0x7eu);  // 0x7e = 448, the largest finite
  return {static_cast<uint8_t>(sign | (code > 0x7eu ? 0x7fu : code))};
}
template <>
__device__ __forceinline__ E5m2Bits encode<E5m2Bits>(float v) {
  const uint32_t sign = (__float_as_uint(v) >> 24) & 0x80u;
  if (isnan(v)) return {static_cast<uint8_t>(sign | 0x7eu)};
  if (isinf(v)) return {static_cast<uint8_t>(sign | 0x7cu)};
  const uint32_t code = encode_small<2, 15>(fabsf(v), 0x7bu);  // 0x7b = 57344
  return {static_cast<uint8_t>(sign | (code > 0x7bu ? 0x7cu : code))};
}

template <class S, class D>
struct Convert {
  __device__ __forceinline__ D operator()(S v) const {
    if constexpr (std::is_same_v<S, D>)
      return v;
    else
      return encode<D>(decode(v));
  }
};

template <class Fn>
void with_storage(DType dtype, Fn&& fn) {
  switch (dtype) {
    case DType::F64:
      return fn(double{});
    case DType::F32:
      return fn(float{});
    case DType::BF16:
      return fn(Bf16Bits{});
    case DType::F16:
      return fn(F16Bits{});
    case DType::FP8_E4M3:
      return fn(E4m3Bits{});
    default:
      return fn(E5m2Bits{});
  }
}

}  // namespace

void cast(const Tensor& src, Tensor& out) {
  if (src.numel() == 0) return;
  cudaStream_t stream = use_device(src.device());
  const MapShape shape = map_shape({&src, &out});
  const RowLayout sl = map_layout(src, shape), ol = map_layout(out, shape);
  constexpr int N = 8;
  with_storage(src.dtype(), [&](auto s) {
    using S = decltype(s);
    with_storage(out.dtype(), [&](auto d) {
      using D = decltype(d);
      const S* in = static_cast<const S*>(src.data());
      D* o = static_cast<D*>(out.mutable_data());
      const bool vec = map_aligned(src, shape, pack_alignment<S, N>()) &&
                       map_aligned(out, shape, pack_alignment<D, N>());
      if (vec)
        map_kernel<N, true><<<map_grid(shape.rows, shape.cols / N), kMapThreads, 0, stream>>>(
            in, sl, o, ol, shape.rows, shape.cols, Convert<S, D>{});
      else
        map_kernel<N, false><<<map_grid(shape.rows, shape.cols), kMapThreads, 0, stream>>>(
            in, sl, o, ol, shape.rows, shape.cols, Convert<S, D>{});
    });
  });
  check_launch("cast");
}

}  // namespace pagoda::cuda
