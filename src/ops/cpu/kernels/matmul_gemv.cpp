// Compiled once per ISA (see ops/cpu/isa.h for the rules this file follows).
#include "ops/cpu/kernels/matmul_gemv.h"

#include <immintrin.h>
#include <string.h>

#include "ops/cpu/kernels/convert.h"

namespace pagoda::cpu::PAGODA_ISA_NS {
namespace {

enum WeightKind { kF32, kBf16, kF16 };

template <WeightKind W>
struct WeightType {
  typedef uint16_t type;
};
template <>
struct WeightType<kF32> {
  typedef float type;
};

// One vector of f32 lanes per ISA: load activations, load weights widened to f32, fused
// multiply-add, horizontal sum. Tile sizes are chosen so that the accumulators, one activation
// vector per tile row and one weight vector fit in the register file without spilling.
#if defined(__AVX512F__)
typedef __m512 Vec;
constexpr int kLanes = 16;
constexpr int kTileRows = 4;        // activation rows per tile
constexpr int kTileCols = 4;        // weight rows per tile (4x4 accumulators + 5 = 21 of 32)
constexpr int kTileColsOneRow = 8;  // weight rows per tile when M == 1
inline Vec vzero() {
  return _mm512_setzero_ps();
}
inline Vec vload(const float* p) {
  return _mm512_loadu_ps(p);
}
inline Vec vload_bf16(const uint16_t* p) {
  const __m256i h = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p));
  return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16));
}
inline Vec vload_f16(const uint16_t* p) {
  return _mm512_cvtph_ps(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)));
}
inline Vec vfma(Vec a, Vec b, Vec c) {
  return _mm512_fmadd_ps(a, b, c);
}
// Not _mm512_reduce_add_ps: GCC 12's version trips -Wuninitialized inside its own header.
inline float vsum(Vec v) {
  const __m256 h = _mm256_add_ps(_mm512_extractf32x8_ps(v, 0), _mm512_extractf32x8_ps(v, 1));
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#elif defined(__AVX2__)
typedef __m256 Vec;
constexpr int kLanes = 8;
// 3x4 accumulators + 3 activations + 1 weight = all 16 registers. Four weight rows at once keep
// enough memory streams in flight; measured faster than 4x2 and 2x4 for M = 4 and 16.
constexpr int kTileRows = 3;
constexpr int kTileCols = 4;
constexpr int kTileColsOneRow = 8;
inline Vec vzero() {
  return _mm256_setzero_ps();
}
inline Vec vload(const float* p) {
  return _mm256_loadu_ps(p);
}
inline Vec vload_bf16(const uint16_t* p) {
  const __m128i h = _mm_loadu_si128(reinterpret_cast<const __m128i*>(p));
  return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16));
}
inline Vec vload_f16(const uint16_t* p) {
  return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
}
inline Vec vfma(Vec a, Vec b, Vec c) {
  return _mm256_fmadd_ps(a, b, c);
}
inline float vsum(Vec v) {
  __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  s = _mm_add_ps(s, _mm_movehl_ps(s, s));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#else
// Baseline x86-64 has SSE2: four lanes, no FMA, no F16C.
typedef __m128 Vec;
constexpr int kLanes = 4;
constexpr int kTileRows = 2;
constexpr int kTileCols = 2;
constexpr int kTileColsOneRow = 4;
inline Vec vzero() {
  return _mm_setzero_ps();
}
inline Vec vload(const float* p) {
  return _mm_loadu_ps(p);
}
inline Vec vload_bf16(const uint16_t* p) {
  const __m128i h = _mm_loadl_epi64(reinterpret_cast<const __m128i*>(p));
  return _mm_castsi128_ps(_mm_unpacklo_epi16(_mm_setzero_si128(), h));
}
inline Vec vload_f16(const uint16_t* p) {
  float f[4];
  f16_to_f32(p, f, 4);
  return _mm_loadu_ps(f);
}
inline Vec vfma(Vec a, Vec b, Vec c) {
  return _mm_add_ps(_mm_mul_ps(a, b), c);
}
inline float vsum(Vec v) {
  __m128 s = _mm_add_ps(v, _mm_movehl_ps(v, v));
  s = _mm_add_ss(s, _mm_shuffle_ps(s, s, 1));
  return _mm_cvtss_f32(s);
}
#endif

template <WeightKind W>
inline Vec vload_weight(const typename WeightType<W>::type* p) {
  if constexpr (W == kF32)
    return vload(p);
  else if constexpr (W == kBf16)
    return vload_bf16(p);
  else
    return vload_f16(p);
}

template <WeightKind W>
inline float scalar_weight(const typename WeightType<W>::type* p) {
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

// MR activation rows times NR weight rows over the whole of K. The activation vectors are loaded
// once per k step and reused for NR weight rows; each weight vector is used for MR rows.
template <WeightKind W, int MR, int NR>
void tile(const float* x, int64_t ldx, const typename WeightType<W>::type* w, int64_t ldw,
          const float* bias, float* out, int64_t ldo, int64_t K) {
  Vec acc[MR][NR];
#pragma GCC unroll 8
  for (int m = 0; m < MR; ++m)
#pragma GCC unroll 8
    for (int n = 0; n < NR; ++n) acc[m][n] = vzero();
  int64_t k = 0;
  for (; k + kLanes <= K; k += kLanes) {
    Vec xv[MR];
#pragma GCC unroll 8
    for (int m = 0; m < MR; ++m) xv[m] = vload(x + m * ldx + k);
#pragma GCC unroll 8
    for (int n = 0; n < NR; ++n) {
      const Vec wv = vload_weight<W>(w + n * ldw + k);
#pragma GCC unroll 8
      for (int m = 0; m < MR; ++m) acc[m][n] = vfma(xv[m], wv, acc[m][n]);
    }
  }
  for (int m = 0; m < MR; ++m) {
    for (int n = 0; n < NR; ++n) {
      float s = vsum(acc[m][n]);
      for (int64_t t = k; t < K; ++t) s += x[m * ldx + t] * scalar_weight<W>(w + n * ldw + t);
      out[m * ldo + n] = (bias ? bias[n] : 0.0f) + s;
    }
  }
}

// All M rows against NR weight rows: full tiles of kTileRows rows, then the remaining rows.
template <WeightKind W, int NR>
void column_block(const float* x, int64_t ldx, const typename WeightType<W>::type* w, int64_t ldw,
                  const float* bias, float* out, int64_t ldo, int64_t M, int64_t K) {
  int64_t m = 0;
  for (; m + kTileRows <= M; m += kTileRows)
    tile<W, kTileRows, NR>(x + m * ldx, ldx, w, ldw, bias, out + m * ldo, ldo, K);
  for (; m < M; ++m) tile<W, 1, NR>(x + m * ldx, ldx, w, ldw, bias, out + m * ldo, ldo, K);
}

template <WeightKind W>
void gemv(const float* x, int64_t ldx, const typename WeightType<W>::type* w, int64_t ldw,
          const float* bias, float* out, int64_t ldo, int64_t M, int64_t N, int64_t K) {
  int64_t n = 0;
  if (M == 1) {
    for (; n + kTileColsOneRow <= N; n += kTileColsOneRow)
      tile<W, 1, kTileColsOneRow>(x, ldx, w + n * ldw, ldw, bias ? bias + n : nullptr, out + n, ldo,
                                  K);
  } else {
    for (; n + kTileCols <= N; n += kTileCols)
      column_block<W, kTileCols>(x, ldx, w + n * ldw, ldw, bias ? bias + n : nullptr, out + n, ldo,
                                 M, K);
  }
  for (; n < N; ++n)
    column_block<W, 1>(x, ldx, w + n * ldw, ldw, bias ? bias + n : nullptr, out + n, ldo, M, K);
}

}  // namespace

void matmul_gemv_f32(const float* x, int64_t ldx, const float* w, int64_t ldw, const float* bias,
                     float* out, int64_t ldo, int64_t M, int64_t N, int64_t K) {
  gemv<kF32>(x, ldx, w, ldw, bias, out, ldo, M, N, K);
}

void matmul_gemv_bf16(const float* x, int64_t ldx, const uint16_t* w, int64_t ldw,
                      const float* bias, float* out, int64_t ldo, int64_t M, int64_t N, int64_t K) {
  gemv<kBf16>(x, ldx, w, ldw, bias, out, ldo, M, N, K);
}

void matmul_gemv_f16(const float* x, int64_t ldx, const uint16_t* w, int64_t ldw, const float* bias,
                     float* out, int64_t ldo, int64_t M, int64_t N, int64_t K) {
  gemv<kF16>(x, ldx, w, ldw, bias, out, ldo, M, N, K);
}

}  // namespace pagoda::cpu::PAGODA_ISA_NS
