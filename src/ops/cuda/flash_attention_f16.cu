// The tensor-core attention kernels for __half (flash_attention.cuh), one file per dtype.
#include "ops/cuda/flash_attention.cuh"

namespace pagoda::cuda::flash {

template void launch_attention<__half, PagedKV<__half>>(const Params&, const PagedKV<__half>&,
                                                        int64_t, bool, dim3, cudaStream_t);
template void launch_attention<__half, RowKV<__half>>(const Params&, const RowKV<__half>&, int64_t,
                                                      bool, dim3, cudaStream_t);
template void launch_combine<__half>(const Params&, int64_t, cudaStream_t);

}  // namespace pagoda::cuda::flash
