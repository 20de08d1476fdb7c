#include "ops/cpu/matmul_blas.h"

#include <cblas.h>
#include <oneapi/dnnl/dnnl.h>

#include <string>

#include "pagoda/error.h"

// oneDNN from Debian runs on OpenMP (libgomp). Its thread count is the calling thread's OpenMP
// setting; declared here rather than through <omp.h> so Pagoda itself is not built with -fopenmp.
extern "C" void omp_set_num_threads(int num_threads);
extern "C" int omp_get_max_threads(void);

namespace pagoda::cpu {

std::string_view blas_library_name(BlasLibrary library) {
  switch (library) {
    case BlasLibrary::OpenBlas:
      return "openblas";
    case BlasLibrary::OneDnn:
      return "onednn";
  }
  return "unknown";
}

std::optional<BlasLibrary> parse_blas_library(std::string_view name) {
  if (name == "openblas") return BlasLibrary::OpenBlas;
  if (name == "onednn" || name == "dnnl") return BlasLibrary::OneDnn;
  return std::nullopt;
}

void sgemm_nt(BlasLibrary library, int threads, int64_t M, int64_t N, int64_t K, const float* a,
              int64_t lda, const float* b, int64_t ldb, float beta, float* c, int64_t ldc) {
  if (M == 0 || N == 0) return;
  if (library == BlasLibrary::OpenBlas) {
    // The OpenBLAS thread count is process-wide; set it only when it changes (rarely: Pagoda
    // uses one setting per process unless a benchmark switches).
    if (openblas_get_num_threads() != threads) openblas_set_num_threads(threads);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, static_cast<blasint>(M),
                static_cast<blasint>(N), static_cast<blasint>(K), 1.0f, a,
                static_cast<blasint>(lda), b, static_cast<blasint>(ldb), beta, c,
                static_cast<blasint>(ldc));
    return;
  }
  // The OpenMP thread count is per calling thread, so workers of Pagoda's pool can each ask for 1.
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
  const dnnl_status_t status = dnnl_sgemm('N', 'T', M, N, K, 1.0f, a, lda, b, ldb, beta, c, ldc);
  PAGODA_CHECK(status == dnnl_success, Internal,
               "oneDNN dnnl_sgemm failed with status " + std::to_string(static_cast<int>(status)) +
                   " for M=" + std::to_string(M) + " N=" + std::to_string(N) +
                   " K=" + std::to_string(K),
               "report this as a Pagoda bug; set PAGODA_MATMUL_BACKEND=openblas to work around it");
}

}  // namespace pagoda::cpu
