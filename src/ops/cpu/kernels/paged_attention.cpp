// Compiled once per ISA (see ops/cpu/isa.h for the rules this file follows).
#include "ops/cpu/kernels/paged_attention.h"

#include <immintrin.h>
#include <math.h>
#include <string.h>

#include "ops/cpu/kernels/convert.h"
#include "ops/cpu/kernels/vec_math.h"

namespace pagoda::cpu::PAGODA_ISA_NS {
namespace {

enum ValueKind { kF32, kBf16, kF16 };

template <ValueKind W>
struct ValueType {
  typedef uint16_t type;
};
template <>
struct ValueType<kF32> {
  typedef float type;
};

// Register tile of the P @ V loop: kRows query rows times kVecs value vectors of accumulators,
// plus kVecs value vectors and one broadcast probability. Each value vector (widened from 16 bits
// once) feeds kRows FMAs; a decode group of 4 query heads per KV head is exactly one tile.
#if defined(__AVX512F__)
constexpr int kRows = 4;
constexpr int kVecs = 4;  // 16 accumulators + 4 + 1 = 21 of 32 registers; head_size 64 in one go
inline vf vload_bf16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline vf vload_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
#elif defined(__AVX2__)
constexpr int kRows = 4;
constexpr int kVecs = 2;  // 8 accumulators + 2 + 1 = 11 of 16 registers
inline vf vload_bf16(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline vf vload_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
#else
constexpr int kRows = 4;
constexpr int kVecs = 2;
inline vf vload_bf16(const uint16_t* p) {
  const uint32_t u = static_cast<uint32_t>(*p) << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}
inline vf vload_f16(const uint16_t* p) {
  float f;
  f16_to_f32(p, &f, 1);
  return f;
}
#endif

template <ValueKind W>
inline vf vload_value(const typename ValueType<W>::type* p) {
  if constexpr (W == kF32)
    return vload(p);
  else if constexpr (W == kBf16)
    return vload_bf16(p);
  else
    return vload_f16(p);
}

template <ValueKind W>
inline float scalar_value(const typename ValueType<W>::type* p) {
  if constexpr (W == kF32) {
    return *p;
  } else if constexpr (W == kBf16) {
    const uint32_t u = static_cast<uint32_t>(*p) << 16;
    float f;
    memcpy(&f, &u, 4);
    return f;
  } else {
    float f;
    f16_to_f32(p, &f, 1);
    return f;
  }
}

// MR query rows times R value vectors (columns [0, R * kLanes) of v and acc) over all n values.
template <ValueKind W, int MR, int R>
void pv_tile(const float* p, int64_t ldp, const typename ValueType<W>::type* v, int64_t ldv,
             float* acc, int64_t ldacc, int64_t n) {
  vf a[MR][R];
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) a[m][r] = vload(acc + m * ldacc + r * kLanes);
  for (int64_t j = 0; j < n; ++j) {
    vf x[R];
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) x[r] = vload_value<W>(v + j * ldv + r * kLanes);
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) {
      const vf pm = vset(p[m * ldp + j]);
#pragma GCC unroll 8
      for (int r = 0; r < R; ++r) a[m][r] = vfmadd(pm, x[r], a[m][r]);
    }
  }
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int r = 0; r < R; ++r) vstore(acc + m * ldacc + r * kLanes, a[m][r]);
}

// All M rows for one chunk of R value vectors.
template <ValueKind W, int R>
void pv_rows(const float* p, int64_t ldp, const typename ValueType<W>::type* v, int64_t ldv,
             float* acc, int64_t ldacc, int64_t M, int64_t n) {
  int64_t m = 0;
  for (; m + kRows <= M; m += kRows)
    pv_tile<W, kRows, R>(p + m * ldp, ldp, v, ldv, acc + m * ldacc, ldacc, n);
  for (; m + 2 <= M; m += 2) pv_tile<W, 2, R>(p + m * ldp, ldp, v, ldv, acc + m * ldacc, ldacc, n);
  for (; m < M; ++m) pv_tile<W, 1, R>(p + m * ldp, ldp, v, ldv, acc + m * ldacc, ldacc, n);
}

template <ValueKind W>
void pv(const float* p, int64_t ldp, const typename ValueType<W>::type* v, int64_t ldv, float* acc,
        int64_t ldacc, int64_t M, int64_t n, int64_t D) {
  int64_t d = 0;
  for (; d + kVecs * kLanes <= D; d += kVecs * kLanes)
    pv_rows<W, kVecs>(p, ldp, v + d, ldv, acc + d, ldacc, M, n);
  for (; d + kLanes <= D; d += kLanes) pv_rows<W, 1>(p, ldp, v + d, ldv, acc + d, ldacc, M, n);
  for (; d < D; ++d) {  // head sizes that are not a multiple of the vector width
    for (int64_t m = 0; m < M; ++m) {
      float s = acc[m * ldacc + d];
      for (int64_t j = 0; j < n; ++j) s += p[m * ldp + j] * scalar_value<W>(v + j * ldv + d);
      acc[m * ldacc + d] = s;
    }
  }
}

}  // namespace

void attention_softmax_step(float* s, int64_t n, int64_t lo, int64_t hi, float cap, float* row_max,
                            float* row_sum, float* acc, int64_t D) {
  if (lo >= hi) {
    memset(s, 0, static_cast<size_t>(n) * sizeof(float));
    return;
  }
  memset(s, 0, static_cast<size_t>(lo) * sizeof(float));
  memset(s + hi, 0, static_cast<size_t>(n - hi) * sizeof(float));
  float* x = s + lo;
  const int64_t len = hi - lo;
  if (cap > 0.0f)  // Gemma 2 only; tanhf is accurate to an ulp where a vector formula is not
    for (int64_t i = 0; i < len; ++i) x[i] = cap * tanhf(x[i] / cap);

  int64_t i = 0;
  vf vmx = vset(-INFINITY);
  for (; i + kLanes <= len; i += kLanes) vmx = vmax(vmx, vload(x + i));
  float mx = vhmax(vmx);
  for (; i < len; ++i) mx = smax(mx, x[i]);
  mx = smax(*row_max, mx);
  // The first tile a row sees has nothing accumulated yet (and -inf - -inf would be NaN).
  const float correction = *row_max == -INFINITY ? 0.0f : sexp(*row_max - mx);

  const vf vm = vset(mx);
  vf vs = vset(0.0f);
  for (i = 0; i + kLanes <= len; i += kLanes) {
    const vf e = vexp(vsub(vload(x + i), vm));
    vstore(x + i, e);
    vs = vadd(vs, e);
  }
  float sum = vsum(vs);
  for (; i < len; ++i) {
    x[i] = sexp(x[i] - mx);
    sum += x[i];
  }
  *row_sum = *row_sum * correction + sum;
  *row_max = mx;
  if (correction != 1.0f) {
    const vf vc = vset(correction);
    int64_t d = 0;
    for (; d + kLanes <= D; d += kLanes) vstore(acc + d, vmul(vload(acc + d), vc));
    for (; d < D; ++d) acc[d] *= correction;
  }
}

void attention_pv_f32(const float* p, int64_t ldp, const float* v, int64_t ldv, float* acc,
                      int64_t ldacc, int64_t M, int64_t n, int64_t D) {
  pv<kF32>(p, ldp, v, ldv, acc, ldacc, M, n, D);
}

void attention_pv_bf16(const float* p, int64_t ldp, const uint16_t* v, int64_t ldv, float* acc,
                       int64_t ldacc, int64_t M, int64_t n, int64_t D) {
  pv<kBf16>(p, ldp, v, ldv, acc, ldacc, M, n, D);
}

void attention_pv_f16(const float* p, int64_t ldp, const uint16_t* v, int64_t ldv, float* acc,
                      int64_t ldacc, int64_t M, int64_t n, int64_t D) {
  pv<kF16>(p, ldp, v, ldv, acc, ldacc, M, n, D);
}

}  // namespace pagoda::cpu::PAGODA_ISA_NS
