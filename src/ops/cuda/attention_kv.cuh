// Where the attention kernels find key and value rows: the paged cache through a sequence's block
// table, or the token rows of a non-paged prefill. Both give the address of token j's row (all KV
// heads, num_kv_heads * head_size contiguous values) of sequence s, whose first query row is
// `start`.
#pragma once

#include <cstdint>

namespace pagoda::cuda {

// Keys and values of the paged cache: token j of sequence s through its block-table row.
template <class T>
struct PagedKV {
  const T* key_cache;
  const T* value_cache;
  const int32_t* block_tables;
  int64_t max_blocks, block_size, row;  // row: num_kv_heads * head_size
  __device__ int64_t offset(int s, int64_t j) const {
    const int64_t block = block_tables[s * max_blocks + j / block_size];
    return (block * block_size + j % block_size) * row;
  }
  __device__ const T* key(int s, int64_t /*start*/, int64_t j) const {
    return key_cache + offset(s, j);
  }
  __device__ const T* value(int s, int64_t /*start*/, int64_t j) const {
    return value_cache + offset(s, j);
  }
  // Any readable address (the source of zero-byte copies for keys past the range).
  __device__ const T* any() const { return key_cache; }
};

// Keys and values as token rows of the batch (non-paged prefill): token j of the sequence whose
// first row is `start`.
template <class T>
struct RowKV {
  const T* k;
  const T* v;
  int64_t k_stride, v_stride;
  __device__ const T* key(int, int64_t start, int64_t j) const {
    return k + (start + j) * k_stride;
  }
  __device__ const T* value(int, int64_t start, int64_t j) const {
    return v + (start + j) * v_stride;
  }
  __device__ const T* any() const { return k; }
};

}  // namespace pagoda::cuda
