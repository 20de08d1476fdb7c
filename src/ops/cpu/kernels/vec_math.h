// Vector float math for the kernel files, compiled once per ISA: one vector type `vf` of kLanes
// floats (16 for AVX-512, 8 for AVX2, 1 for the generic build, where vf is a plain float), the
// arithmetic on it, and exp / sigmoid / erf approximations.
//
// Include only from src/ops/cpu/kernels/*.cpp. Everything here is in an anonymous namespace inside
// the ISA namespace, so each kernel file gets its own internal copy built for its own ISA: the
// linker never merges these across ISAs, which is what the rule in ops/cpu/isa.h guards against.
// (`inline` only silences unused-function warnings; internal linkage is what keeps them apart.)
// The intrinsics are GCC "extern inline always_inline" functions and never get out-of-line copies.
//
// Accuracy (f32, relative unless noted): vexp <= 2 ulp for x in [-87, 88]; returns 0 below -87
// (true value < 1.7e-38) and e^88 above 88; NaN stays NaN. vsigmoid inherits it. vone_plus_erf:
// relative error < 1.2e-7 plus vexp's. The generic build uses libm's expf / erfcf.
#pragma once

#include <immintrin.h>
#include <math.h>
#include <stdint.h>

#ifndef PAGODA_ISA_NS
#error "vec_math.h is for src/ops/cpu/kernels/*.cpp, which are compiled once per ISA"
#endif

namespace pagoda::cpu::PAGODA_ISA_NS {
namespace {

// One-line wrappers, kept as tables so the three ISAs read side by side.
// clang-format off
#if defined(__AVX512F__)

typedef __m512 vf;
constexpr int kLanes = 16;
inline vf vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm512_storeu_ps(p, v); }
inline vf vset(float x) { return _mm512_set1_ps(x); }
inline vf vadd(vf a, vf b) { return _mm512_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm512_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm512_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm512_div_ps(a, b); }
// a * b + c and c - a * b, fused.
inline vf vfmadd(vf a, vf b, vf c) { return _mm512_fmadd_ps(a, b, c); }
inline vf vfnmadd(vf a, vf b, vf c) { return _mm512_fnmadd_ps(a, b, c); }
// Like the instructions: when either operand is NaN the result is b.
inline vf vmax(vf a, vf b) { return _mm512_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm512_min_ps(a, b); }
// Horizontal reductions through memory: once per row, so speed does not matter, and GCC 12's
// _mm512_reduce_* trip -Wuninitialized on their internal placeholders.
inline float vsum(vf v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int i = 0; i < w; ++i) t[i] += t[i + w];
  return t[0];
}
inline float vhmax(vf v) {
  alignas(64) float t[16];
  _mm512_store_ps(t, v);
  for (int w = 8; w >= 1; w /= 2)
    for (int i = 0; i < w; ++i) t[i] = t[i] > t[i + w] ? t[i] : t[i + w];
  return t[0];
}
inline vf vround(vf v) { return _mm512_roundscale_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
// 2^n for integral n in [-126, 127].
inline vf vpow2i(vf n) {
  return _mm512_castsi512_ps(
      _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
}
// x with lanes where x < limit (false for NaN) set to 0.
inline vf vzero_below(vf x, vf value, vf limit) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, limit, _CMP_LT_OQ), value, _mm512_setzero_ps());
}
inline vf vabs(vf x) { return _mm512_abs_ps(x); }
// x with the sign of s.
inline vf vcopysign(vf x, vf s) {
  const __m512i sign = _mm512_set1_epi32(static_cast<int>(0x80000000u));
  return _mm512_castsi512_ps(_mm512_or_si512(
      _mm512_andnot_si512(sign, _mm512_castps_si512(x)), _mm512_and_si512(sign, _mm512_castps_si512(s))));
}
// max(x, 0) with NaN kept (the instruction returns its second operand for NaN).
inline vf vrelu(vf x) { return _mm512_max_ps(_mm512_setzero_ps(), x); }
// Lanes where x < 0 take `neg`, the others (NaN included) `other`.
inline vf vselect_negative(vf x, vf neg, vf other) {
  return _mm512_mask_blend_ps(_mm512_cmp_ps_mask(x, _mm512_setzero_ps(), _CMP_LT_OQ), other, neg);
}

#elif defined(__AVX2__)

typedef __m256 vf;
constexpr int kLanes = 8;
inline vf vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, vf v) { _mm256_storeu_ps(p, v); }
inline vf vset(float x) { return _mm256_set1_ps(x); }
inline vf vadd(vf a, vf b) { return _mm256_add_ps(a, b); }
inline vf vsub(vf a, vf b) { return _mm256_sub_ps(a, b); }
inline vf vmul(vf a, vf b) { return _mm256_mul_ps(a, b); }
inline vf vdiv(vf a, vf b) { return _mm256_div_ps(a, b); }
inline vf vfmadd(vf a, vf b, vf c) { return _mm256_fmadd_ps(a, b, c); }
inline vf vfnmadd(vf a, vf b, vf c) { return _mm256_fnmadd_ps(a, b, c); }
inline vf vmax(vf a, vf b) { return _mm256_max_ps(a, b); }
inline vf vmin(vf a, vf b) { return _mm256_min_ps(a, b); }
inline float vsum(vf v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
inline float vhmax(vf v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}
inline vf vround(vf v) { return _mm256_round_ps(v, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
inline vf vpow2i(vf n) {
  return _mm256_castsi256_ps(
      _mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
}
inline vf vzero_below(vf x, vf value, vf limit) {
  return _mm256_andnot_ps(_mm256_cmp_ps(x, limit, _CMP_LT_OQ), value);
}
inline vf vabs(vf x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
inline vf vcopysign(vf x, vf s) {
  const vf sign = _mm256_set1_ps(-0.0f);
  return _mm256_or_ps(_mm256_andnot_ps(sign, x), _mm256_and_ps(sign, s));
}
inline vf vrelu(vf x) { return _mm256_max_ps(_mm256_setzero_ps(), x); }
inline vf vselect_negative(vf x, vf neg, vf other) {
  return _mm256_blendv_ps(other, neg, _mm256_cmp_ps(x, _mm256_setzero_ps(), _CMP_LT_OQ));
}

#else  // generic: one lane, plain float

typedef float vf;
constexpr int kLanes = 1;
inline vf vload(const float* p) { return *p; }
inline void vstore(float* p, vf v) { *p = v; }
inline vf vset(float x) { return x; }
inline vf vadd(vf a, vf b) { return a + b; }
inline vf vsub(vf a, vf b) { return a - b; }
inline vf vmul(vf a, vf b) { return a * b; }
inline vf vdiv(vf a, vf b) { return a / b; }
inline vf vfmadd(vf a, vf b, vf c) { return a * b + c; }
inline vf vfnmadd(vf a, vf b, vf c) { return c - a * b; }
inline vf vmax(vf a, vf b) { return a > b ? a : b; }
inline vf vmin(vf a, vf b) { return a < b ? a : b; }
inline float vsum(vf v) { return v; }
inline float vhmax(vf v) { return v; }
inline vf vrelu(vf x) { return x < 0.0f ? 0.0f : x; }

#endif
// clang-format on

// ---- Scalar versions, for the generic build and the tails of the vector loops.

inline float sexp(float x) {
  return expf(x);
}
inline float ssigmoid(float x) {
  return 1.0f / (1.0f + expf(-x));
}
inline float sone_plus_erf(float x) {
  return erfcf(-x);
}
inline float smax(float a, float b) {
  return a > b ? a : b;
}

#if defined(__AVX2__) || defined(__AVX512F__)

// e^x: x = n ln2 + r with |r| <= ln2/2 (ln2 split in two constants so n*ln2 is exact enough),
// e^r from a degree-7 polynomial (Cephes expf coefficients), times 2^n built in the exponent bits.
inline vf vexp(vf x) {
  const vf lo = vset(-87.0f);
  // Argument order keeps NaN: vmin/vmax return their second operand when either is NaN.
  const vf xc = vmax(lo, vmin(vset(88.0f), x));
  const vf n = vround(vmul(xc, vset(1.44269504088896341f)));
  vf r = vfnmadd(n, vset(0.693359375f), xc);
  r = vfnmadd(n, vset(-2.12194440e-4f), r);
  vf p = vset(1.9875691500e-4f);
  p = vfmadd(p, r, vset(1.3981999507e-3f));
  p = vfmadd(p, r, vset(8.3334519073e-3f));
  p = vfmadd(p, r, vset(4.1665795894e-2f));
  p = vfmadd(p, r, vset(1.6666665459e-1f));
  p = vfmadd(p, r, vset(5.0000001201e-1f));
  p = vfmadd(p, vmul(r, r), vadd(r, vset(1.0f)));
  return vzero_below(x, vmul(p, vpow2i(n)), lo);
}

inline vf vsigmoid(vf x) {
  return vdiv(vset(1.0f), vadd(vset(1.0f), vexp(vsub(vset(0.0f), x))));
}

// erfc(z) for z >= 0 with relative error < 1.2e-7 everywhere (the Chebyshev fit of Numerical
// Recipes' erfcc): t e^{-z^2 + P(t)}, t = 1 / (1 + z/2). Relative accuracy in the tail is what GELU
// needs: 1 + erf(x) for negative x is erfc(-x), which 1 + erf(x) would compute by cancellation.
inline vf verfc_nonneg(vf z) {
  const vf t = vdiv(vset(1.0f), vfmadd(vset(0.5f), z, vset(1.0f)));
  vf p = vset(0.17087277f);
  p = vfmadd(p, t, vset(-0.82215223f));
  p = vfmadd(p, t, vset(1.48851587f));
  p = vfmadd(p, t, vset(-1.13520398f));
  p = vfmadd(p, t, vset(0.27886807f));
  p = vfmadd(p, t, vset(-0.18628806f));
  p = vfmadd(p, t, vset(0.09678418f));
  p = vfmadd(p, t, vset(0.37409196f));
  p = vfmadd(p, t, vset(1.00002368f));
  p = vfmadd(p, t, vset(-1.26551223f));
  return vmul(t, vexp(vfnmadd(z, z, p)));
}

// erfc(-x) = 1 + erf(x), for any x: erfc(|x|) for negative x, 2 - erfc(|x|) otherwise.
inline vf vone_plus_erf(vf x) {
  const vf e = verfc_nonneg(vabs(x));
  return vselect_negative(x, e, vsub(vset(2.0f), e));
}

#else

inline vf vexp(vf x) {
  return sexp(x);
}
inline vf vsigmoid(vf x) {
  return ssigmoid(x);
}
inline vf vone_plus_erf(vf x) {
  return erfcf(-x);
}

#endif

}  // namespace
}  // namespace pagoda::cpu::PAGODA_ISA_NS
