// The tensor-core attention kernels for __nv_bfloat16 (flash_attention.cuh), one file per dtype.
#include "ops/cuda/flash_attention.cuh"

namespace pagoda::cuda::flash {

template void launch_attention<__nv_bfloat16, PagedKV<__nv_bfloat16>>(const Params&,
                                                                      const PagedKV<__nv_bfloat16>&,
                                                                      int64_t, bool, dim3,
                                                                      cudaStream_t);
template void launch_attention<__nv_bfloat16, RowKV<__nv_bfloat16>>(const Params&,
                                                                    const RowKV<__nv_bfloat16>&,
                                                                    int64_t, bool, dim3,
                                                                    cudaStream_t);
template void launch_combine<__nv_bfloat16>(const Params&, int64_t, cudaStream_t);

}  // namespace pagoda::cuda::flash
