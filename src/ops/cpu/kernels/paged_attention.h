// Inner loops of CPU paged attention (online softmax and the probability-weighted sum of value
// rows), one copy per ISA (see ops/cpu/isa.h). The q . k scores come from kernels/matmul_gemv.h.
#pragma once

#include <stdint.h>

#include "ops/cpu/isa.h"

PAGODA_DECLARE_CPU_KERNELS(
    // One step of the online softmax for one query row over a tile of n scores s[0, n), of which
    // only [lo, hi) are visible to the query. Caps the visible scores (s = cap * tanh(s / cap))
    // when cap > 0, raises *row_max to their max, replaces them by exp(s - new max) and the
    // invisible ones by 0, adds the visible ones to *row_sum after rescaling it, and rescales the
    // accumulated output row acc[0, D) by the same factor exp(old max - new max). With lo >= hi
    // the row only gets zeros and nothing else changes. *row_max starts at -inf, *row_sum at 0.
    void attention_softmax_step(float* s, int64_t n, int64_t lo, int64_t hi, float cap,
                                float* row_max, float* row_sum, float* acc, int64_t D);
    // acc[m * ldacc + d] += sum_{j < n} p[m * ldp + j] * v[j * ldv + d] for m < M, d < D: the
    // probabilities of M query rows times n value rows (f32, or bf16 / IEEE f16 bit patterns).
    // Each value vector is loaded once per group of a few query rows and used for all of them.
    void attention_pv_f32(const float* p, int64_t ldp, const float* v, int64_t ldv, float* acc,
                          int64_t ldacc, int64_t M, int64_t n, int64_t D);
    void attention_pv_bf16(const float* p, int64_t ldp, const uint16_t* v, int64_t ldv, float* acc,
                           int64_t ldacc, int64_t M, int64_t n, int64_t D);
    void attention_pv_f16(const float* p, int64_t ldp, const uint16_t* v, int64_t ldv, float* acc,
                          int64_t ldacc, int64_t M, int64_t n, int64_t D);)
