// f32 matrix products through a BLAS library: OpenBLAS or oneDNN, both from Debian.
//
// Pagoda decides how many threads a BLAS call may use, so that the library's own threads (an
// OpenBLAS pthread pool, oneDNN's OpenMP team) never compete with Pagoda's thread pool for cores.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace pagoda::cpu {

enum class BlasLibrary { OpenBlas, OneDnn };

std::string_view blas_library_name(BlasLibrary library);
// "openblas" / "onednn" (also "dnnl"); nullopt otherwise.
std::optional<BlasLibrary> parse_blas_library(std::string_view name);

// Row-major c[M,N] = a[M,K] @ b[N,K]^T + beta * c, with leading dimensions lda, ldb, ldc.
// `threads` is how many threads the library may use for this call; 1 runs it on the calling
// thread only, which is what a caller inside a Pagoda parallel_for wants.
void sgemm_nt(BlasLibrary library, int threads, int64_t M, int64_t N, int64_t K, const float* a,
              int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc);

}  // namespace pagoda::cpu
