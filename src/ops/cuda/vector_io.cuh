// Vectorised access for the memory-bound CUDA kernels: a pack of N elements loaded and stored as
// one (or several) 16-byte accesses, the host-side test that every row of a tensor starts on such
// a boundary, and a row-wise elementwise launcher shared by cast, add and scale.
#pragma once

#include <cstdint>
#include <initializer_list>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/kernel_utils.cuh"
#include "pagoda/tensor.h"

namespace pagoda::cuda {

// N elements of T aligned to their size, capped at 16 bytes (the widest single access).
template <class T, int N>
struct alignas(sizeof(T) * N < 16 ? sizeof(T) * N : 16) Pack {
  T v[N];
};

template <class T, int N>
constexpr size_t pack_alignment() {
  return alignof(Pack<T, N>);
}

// True when every row of t (all dimensions but the last indexing rows) starts at an address that
// is a multiple of `bytes`.
inline bool rows_aligned(const Tensor& t, size_t bytes) {
  if (reinterpret_cast<uintptr_t>(t.data()) % bytes != 0) return false;
  for (int d = 0; d + 1 < t.dim(); ++d)
    if (t.size(d) > 1 && (static_cast<size_t>(t.stride(d)) * t.itemsize()) % bytes != 0)
      return false;
  return true;
}

// Rows and columns an elementwise kernel walks: contiguous tensors collapse to one row of
// numel() elements (so vector access does not stop at every row end); otherwise the leading
// dimensions index rows. A 0-d tensor is one row of one element.
struct MapShape {
  int64_t rows = 1;
  int64_t cols = 1;
  bool flat = true;
};

inline MapShape map_shape(std::initializer_list<const Tensor*> tensors) {
  const Tensor& first = **tensors.begin();
  MapShape s;
  bool contiguous = true;
  for (const Tensor* t : tensors) contiguous = contiguous && t->is_contiguous();
  if (contiguous || first.dim() == 0) {
    s.cols = first.numel();
    return s;
  }
  s.flat = false;
  s.cols = first.size(first.dim() - 1);
  s.rows = s.cols == 0 ? 0 : first.numel() / s.cols;
  return s;
}

inline RowLayout map_layout(const Tensor& t, const MapShape& s) {
  return s.flat ? RowLayout{} : row_layout(t);
}

// True when every row map_shape gave starts on a multiple of `bytes`.
inline bool map_aligned(const Tensor& t, const MapShape& s, size_t bytes) {
  return s.flat ? reinterpret_cast<uintptr_t>(t.data()) % bytes == 0 : rows_aligned(t, bytes);
}

// out[i] = f(in[i]) over every row; kVec: each row starts pack-aligned for both, and the first
// cols / N * N elements move N at a time.
template <int N, bool kVec, class S, class D, class F>
__global__ void map_kernel(const S* in, RowLayout il, D* out, RowLayout ol, int64_t rows,
                           int64_t cols, F f) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = kVec ? cols / N : 0;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const S* ir = in + il.offset(r);
    D* orow = out + ol.offset(r);
    if constexpr (kVec) {
      for (int64_t i = start; i < packs; i += step) {
        const Pack<S, N> p = reinterpret_cast<const Pack<S, N>*>(ir)[i];
        Pack<D, N> q;
#pragma unroll
        for (int k = 0; k < N; ++k) q.v[k] = f(p.v[k]);
        reinterpret_cast<Pack<D, N>*>(orow)[i] = q;
      }
    }
    for (int64_t i = packs * N + start; i < cols; i += step) orow[i] = f(ir[i]);
  }
}

// out[i] = f(a[i], b[i]), as map_kernel.
template <int N, bool kVec, class T, class F>
__global__ void zip_kernel(const T* a, RowLayout al, const T* b, RowLayout bl, T* out, RowLayout ol,
                           int64_t rows, int64_t cols, F f) {
  const int64_t step = static_cast<int64_t>(gridDim.x) * blockDim.x;
  const int64_t start = static_cast<int64_t>(blockIdx.x) * blockDim.x + threadIdx.x;
  const int64_t packs = kVec ? cols / N : 0;
  for (int64_t r = blockIdx.y; r < rows; r += gridDim.y) {
    const T* ar = a + al.offset(r);
    const T* br = b + bl.offset(r);
    T* orow = out + ol.offset(r);
    if constexpr (kVec) {
      for (int64_t i = start; i < packs; i += step) {
        const Pack<T, N> p = reinterpret_cast<const Pack<T, N>*>(ar)[i];
        const Pack<T, N> q = reinterpret_cast<const Pack<T, N>*>(br)[i];
        Pack<T, N> o;
#pragma unroll
        for (int k = 0; k < N; ++k) o.v[k] = f(p.v[k], q.v[k]);
        reinterpret_cast<Pack<T, N>*>(orow)[i] = o;
      }
    }
    for (int64_t i = packs * N + start; i < cols; i += step) orow[i] = f(ar[i], br[i]);
  }
}

constexpr int kMapThreads = 256;

// Grid for rows x (work items per row), at most 65535 rows of blocks (the kernels loop over the
// rest) and enough column blocks to fill the GPU on a single long row.
inline dim3 map_grid(int64_t rows, int64_t items_per_row) {
  int64_t x = (items_per_row + kMapThreads - 1) / kMapThreads;
  if (x < 1) x = 1;
  if (x > 2048) x = 2048;
  const int64_t y = rows < 65535 ? rows : 65535;
  return dim3(static_cast<unsigned>(x), static_cast<unsigned>(y));
}

}  // namespace pagoda::cuda
