// Token sampling on CUDA (ops/sample_tokens.h), the CPU sampler's choice (engine/sampler.cpp)
// moved to the device so that only the ids come back. Four kernels, one block per row:
//   1. apply_edits: bias, the min_tokens mask and the penalties, one thread per edited token;
//   2. prepare: temperature in place and the argmax (greedy rows end here, as do rows with NaN,
//      +inf or nothing but -inf), and the number of tokens min_p keeps;
//   3. for rows with top_k or top_p only: the row sorted in rank order (larger logit first, lower
//      id first among equals) by CUB's radix sort, then `select` finds the last kept token of that
//      order: the k-th (with its ties), cut further to the shortest run whose mass reaches top_p;
//   4. draw: inverse CDF over the kept tokens in id order, as the CPU sampler draws, so the same
//      logits and the same uniform pick the same token up to the summation order's rounding.
// Every sum is a fixed tree or a fixed sequence (no atomics), so a seed repeats its tokens.
#include <climits>
#include <cstring>
#include <cub/device/device_radix_sort.cuh>
#include <string>
#include <vector>

#include "ops/cuda/cuda_runtime.h"
#include "ops/cuda/ops.h"
#include "ops/cuda/order_key.cuh"
#include "ops/sample_tokens.h"
#include "pagoda/error.h"

namespace pagoda::cuda {
namespace {

using ops::LogitEdit;
using ops::SampleRowParams;

constexpr int kThreads = 1024;
constexpr int kWarps = kThreads / 32;
// Rows sorted per radix-sort call: bounds the scratch to 24 bytes x 16 rows x vocab.
constexpr int kRowsPerSort = 16;

// What the prepare pass learns about a row, for the later ones.
struct RowState {
  float max_logit;    // after the temperature
  int32_t best;       // the argmax
  int32_t kept;       // tokens min_p keeps (none of them -inf); counted only for sorted rows
  int32_t done;       // the id is chosen already
  uint32_t edge_key;  // the last kept token in rank order: its order key and id
  int32_t edge_id;
};

struct Sum {
  template <class T>
  __device__ T operator()(T a, T b) const {
    return a + b;
  }
};
struct Min {
  __device__ int operator()(int a, int b) const { return a < b ? a : b; }
};
struct KeyMax {
  __device__ unsigned long long operator()(unsigned long long a, unsigned long long b) const {
    return key_max(a, b);
  }
};

// Reduction over the block (kThreads threads) in a fixed tree; every thread gets the result.
template <class T, class Op>
__device__ T block_reduce(T v, Op op) {
  __shared__ T partial[kWarps];
  for (int offset = 16; offset > 0; offset >>= 1)
    v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  __syncthreads();  // `partial` may still be read by a previous call
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  v = partial[lane];
  for (int offset = 16; offset > 0; offset >>= 1)
    v = op(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

__device__ __forceinline__ double warp_inclusive_sum(double v) {
  const int lane = threadIdx.x & 31;
  for (int offset = 1; offset < 32; offset <<= 1) {
    const double other = __shfl_up_sync(0xffffffffu, v, offset);
    if (lane >= offset) v += other;
  }
  return v;
}

// Inclusive prefix sum over the block in thread order; *total gets the block's sum.
__device__ double block_inclusive_sum(double v, double* total) {
  __shared__ double warp_sums[kWarps];
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  v = warp_inclusive_sum(v);
  __syncthreads();
  if (lane == 31) warp_sums[warp] = v;
  __syncthreads();
  const double before = warp_inclusive_sum(warp_sums[lane]);  // every warp scans the 32 sums
  *total = __shfl_sync(0xffffffffu, before, 31);
  const double offset = __shfl_sync(0xffffffffu, before, warp) - warp_sums[warp];
  return v + offset;
}

__device__ __forceinline__ bool kept(float v, float max_logit, float min_p_log) {
  return v > -INFINITY && __fsub_rn(v, max_logit) >= min_p_log;
}

// The CPU sampler's weight: exp(logit - max) in f32.
__device__ __forceinline__ double weight_of(float v, float max_logit) {
  return static_cast<double>(expf(__fsub_rn(v, max_logit)));
}

__global__ void apply_edits_kernel(float* logits, int64_t row_stride, const LogitEdit* edits,
                                   int count, const SampleRowParams* params) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= count) return;
  const LogitEdit e = edits[i];
  float* x = logits + e.row * row_stride + e.token;
  float v = __fadd_rn(*x, e.bias);
  if (e.blocked) v = -INFINITY;
  if (e.repeat) {
    const float rep = params[e.row].repetition;
    v = v > 0.0f ? __fdiv_rn(v, rep) : __fmul_rn(v, rep);
  }
  v = __fsub_rn(v, e.frequency);
  v = __fsub_rn(v, e.presence);
  *x = v;
}

__global__ void __launch_bounds__(kThreads)
    prepare_kernel(float* logits, int64_t row_stride, int vocab, const SampleRowParams* params,
                   RowState* states, int64_t* out) {
  const int row = blockIdx.x;
  float* x = logits + row * row_stride;
  const SampleRowParams p = params[row];
  const bool scale = !p.greedy && p.temperature != 1.0f;
  unsigned long long best = 0;
  for (int i = threadIdx.x; i < vocab; i += kThreads) {
    float v = x[i];
    if (scale) {
      v = __fdiv_rn(v, p.temperature);
      x[i] = v;
    }
    best = key_max(best, argmax_key(v, static_cast<uint32_t>(i)));
  }
  best = block_reduce(best, KeyMax{});  // its barriers publish the block's writes
  const auto best_index = static_cast<int32_t>(index_of_argmax_key(best));
  const float m = x[best_index];
  const bool done = p.greedy || !isfinite(m);
  int kept_count = 0;
  if (!done && (p.top_k > 0 || p.top_p < 1.0)) {
    for (int i = threadIdx.x; i < vocab; i += kThreads) kept_count += kept(x[i], m, p.min_p_log);
    kept_count = block_reduce(kept_count, Sum{});
  }
  if (threadIdx.x == 0) {
    states[row] = RowState{m, best_index, kept_count, done ? 1 : 0, 0u, INT_MAX};
    if (done) out[row] = best_index;
  }
}

// Keys for the radix sort of the rows sort_rows[first..): the row's position in the pass above
// the complement of the value's order key, so that an ascending stable sort gives each row in
// rank order.
__global__ void sort_keys_kernel(const float* logits, int64_t row_stride, int vocab,
                                 const int32_t* sort_rows, int first, unsigned long long* keys,
                                 int32_t* ids) {
  const int local = blockIdx.y;
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i >= vocab) return;
  const float v = logits[sort_rows[first + local] * row_stride + i];
  const uint32_t rank = v != v ? 0u : ~order_key(v);  // NaN only in rows already done
  const int64_t at = static_cast<int64_t>(local) * vocab + i;
  keys[at] = (static_cast<unsigned long long>(local) << 32) | rank;
  ids[at] = i;
}

__global__ void __launch_bounds__(kThreads)
    select_kernel(const unsigned long long* keys, const int32_t* ids, int vocab,
                  const int32_t* sort_rows, int first, const SampleRowParams* params,
                  RowState* states) {
  const int local = blockIdx.x;
  const int row = sort_rows[first + local];
  const RowState st = states[row];
  if (st.done) return;
  const SampleRowParams p = params[row];
  const unsigned long long* k = keys + static_cast<int64_t>(local) * vocab;
  const int32_t* id = ids + static_cast<int64_t>(local) * vocab;
  const auto rank_of = [&](int j) { return static_cast<uint32_t>(k[j]); };
  const auto value_at = [&](int j) { return value_of_key(~rank_of(j)); };

  // min_p keeps a leading run of the rank order; top_k shortens it to the k-th and its ties.
  int n = st.kept;
  if (p.top_k > 0 && n > p.top_k) {
    const uint32_t kth = rank_of(p.top_k - 1);
    int lo = p.top_k, hi = n;  // the first rank after the k-th's ties
    while (lo < hi) {
      const int mid = (lo + hi) / 2;
      if (rank_of(mid) == kth)
        lo = mid + 1;
      else
        hi = mid;
    }
    n = lo;
  }
  int edge = n - 1;
  if (p.top_p < 1.0) {
    double total = 0.0;
    for (int j = threadIdx.x; j < n; j += kThreads) total += weight_of(value_at(j), st.max_logit);
    total = block_reduce(total, Sum{});
    const double limit = p.top_p * total;
    double carry = 0.0;
    for (int base = 0; base < n; base += kThreads) {
      const int j = base + static_cast<int>(threadIdx.x);
      const double w = j < n ? weight_of(value_at(j), st.max_logit) : 0.0;
      double tile = 0.0;
      const double running = carry + block_inclusive_sum(w, &tile);
      const int hit = block_reduce(j < n && running >= limit ? j : INT_MAX, Min{});
      if (hit != INT_MAX) {
        edge = hit;
        break;
      }
      carry += tile;
    }
  }
  if (threadIdx.x == 0) {
    states[row].edge_key = order_key(value_at(edge));
    states[row].edge_id = id[edge];
  }
}

__global__ void __launch_bounds__(kThreads)
    draw_kernel(const float* logits, int64_t row_stride, int vocab, const SampleRowParams* params,
                const RowState* states, int64_t* out) {
  const int row = blockIdx.x;
  const RowState st = states[row];
  if (st.done) return;
  const SampleRowParams p = params[row];
  const float* x = logits + row * row_stride;
  const auto weight = [&](int i) -> double {
    const float v = x[i];
    if (!kept(v, st.max_logit, p.min_p_log)) return 0.0;
    const uint32_t key = order_key(v);
    if (key < st.edge_key || (key == st.edge_key && i > st.edge_id)) return 0.0;
    return weight_of(v, st.max_logit);
  };
  // Each warp owns a run of ids, read 32 at a time; the block finds the warp whose share of the
  // running mass holds u * total, and that warp walks its run to the token.
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
  const int span = ((vocab + kWarps - 1) / kWarps + 31) / 32 * 32;
  const int begin = warp * span, end = min(vocab, begin + span);
  double sum = 0.0;
  int last = -1;
  for (int i = begin + lane; i < end; i += 32) {
    const double w = weight(i);
    sum += w;
    if (w > 0.0) last = i;
  }
  for (int offset = 16; offset > 0; offset >>= 1) {
    sum += __shfl_xor_sync(0xffffffffu, sum, offset);
    last = max(last, __shfl_xor_sync(0xffffffffu, last, offset));
  }
  __shared__ double prefix[kWarps + 1];
  __shared__ int lasts[kWarps];
  __shared__ int chosen;
  if (lane == 0) {
    prefix[warp + 1] = sum;
    lasts[warp] = last;
  }
  __syncthreads();
  if (threadIdx.x == 0) {
    prefix[0] = 0.0;
    for (int w = 0; w < kWarps; ++w) prefix[w + 1] += prefix[w];
    int overall = st.best;
    for (int w = 0; w < kWarps; ++w) overall = lasts[w] >= 0 ? lasts[w] : overall;
    chosen = overall;  // u * total rounded up to the total: the last kept token, as on the CPU
  }
  __syncthreads();
  const double target = p.uniform * prefix[kWarps];
  if (prefix[warp] <= target && target < prefix[warp + 1]) {
    double running = prefix[warp];
    int found = -1;
    for (int base = begin; base < end && found < 0; base += 32) {
      const int i = base + lane;
      const double w = i < end ? weight(i) : 0.0;
      const double incl = warp_inclusive_sum(w);
      const unsigned hit = __ballot_sync(0xffffffffu, w > 0.0 && running + incl > target);
      if (hit != 0) found = base + __ffs(hit) - 1;
      running += __shfl_sync(0xffffffffu, incl, 31);
    }
    if (lane == 0) chosen = found >= 0 ? found : lasts[warp];
  }
  __syncthreads();
  if (threadIdx.x == 0) out[row] = chosen;
}

// The step's records in one host-to-device copy (each copy waits for the stream): the row
// parameters, the edits and the rows to sort, each part 16-byte aligned.
struct Uploaded {
  Tensor buffer;
  const SampleRowParams* params;
  const LogitEdit* edits;
  const int32_t* sort_rows;
};

size_t aligned16(size_t bytes) {
  return (bytes + 15) / 16 * 16;
}

Uploaded upload(std::span<const SampleRowParams> rows, std::span<const LogitEdit> edits,
                std::span<const int32_t> sort_rows, Device device) {
  const size_t rows_bytes = aligned16(rows.size_bytes()),
               edits_bytes = aligned16(edits.size_bytes());
  std::vector<uint8_t> bytes(rows_bytes + edits_bytes + aligned16(sort_rows.size_bytes()) + 16);
  std::memcpy(bytes.data(), rows.data(), rows.size_bytes());
  if (!edits.empty()) std::memcpy(bytes.data() + rows_bytes, edits.data(), edits.size_bytes());
  if (!sort_rows.empty())
    std::memcpy(bytes.data() + rows_bytes + edits_bytes, sort_rows.data(), sort_rows.size_bytes());
  Uploaded u;
  u.buffer =
      Tensor::from_blob(bytes.data(), {static_cast<int64_t>(bytes.size())}, DType::U8).to(device);
  const auto* base = static_cast<const uint8_t*>(u.buffer.data());
  u.params = reinterpret_cast<const SampleRowParams*>(base);
  u.edits = reinterpret_cast<const LogitEdit*>(base + rows_bytes);
  u.sort_rows = reinterpret_cast<const int32_t*>(base + rows_bytes + edits_bytes);
  return u;
}

int bits_for(int values) {
  int bits = 0;
  while ((1 << bits) < values) ++bits;
  return bits;
}

}  // namespace

void sample_tokens(Tensor& logits, std::span<const SampleRowParams> rows,
                   std::span<const LogitEdit> edits, Tensor& out) {
  const Device device = logits.device();
  cudaStream_t stream = use_device(device);
  const int num_rows = static_cast<int>(logits.size(0));
  const int vocab = static_cast<int>(logits.size(1));
  const int64_t row_stride = logits.stride(0);
  float* x = logits.mutable_data_as<float>();
  int64_t* ids_out = out.mutable_data_as<int64_t>();

  std::vector<int32_t> sort_rows;
  for (int r = 0; r < num_rows; ++r)
    if (!rows[r].greedy && (rows[r].top_k > 0 || rows[r].top_p < 1.0)) sort_rows.push_back(r);
  const Uploaded uploaded = upload(rows, edits, sort_rows, device);
  const SampleRowParams* p = uploaded.params;
  Tensor states =
      Tensor::empty({static_cast<int64_t>(sizeof(RowState)) * num_rows}, DType::U8, device);
  auto* st = static_cast<RowState*>(states.mutable_data());

  if (!edits.empty()) {
    const int count = static_cast<int>(edits.size());
    apply_edits_kernel<<<(count + 255) / 256, 256, 0, stream>>>(x, row_stride, uploaded.edits,
                                                                count, p);
    check_launch("sample_tokens (edits)");
  }
  prepare_kernel<<<num_rows, kThreads, 0, stream>>>(x, row_stride, vocab, p, st, ids_out);
  check_launch("sample_tokens (prepare)");

  if (!sort_rows.empty()) {
    const int32_t* sr = uploaded.sort_rows;
    const int per_pass = std::min<int>(kRowsPerSort, static_cast<int>(sort_rows.size()));
    const int64_t items = static_cast<int64_t>(per_pass) * vocab;
    Tensor keys_in = Tensor::empty({items}, DType::I64, device);
    Tensor keys_out = Tensor::empty({items}, DType::I64, device);
    Tensor ids_in = Tensor::empty({items}, DType::I32, device);
    Tensor ids_sorted = Tensor::empty({items}, DType::I32, device);
    auto* ki = static_cast<unsigned long long*>(keys_in.mutable_data());
    auto* ko = static_cast<unsigned long long*>(keys_out.mutable_data());
    auto* ii = ids_in.mutable_data_as<int32_t>();
    auto* io = ids_sorted.mutable_data_as<int32_t>();
    size_t temp_bytes = 0;
    check(cub::DeviceRadixSort::SortPairs(nullptr, temp_bytes, ki, ko, ii, io, items, 0,
                                          32 + bits_for(per_pass), stream),
          "sample_tokens: radix sort size query");
    Tensor temp =
        Tensor::empty({static_cast<int64_t>(std::max<size_t>(temp_bytes, 1))}, DType::U8, device);
    for (int first = 0; first < static_cast<int>(sort_rows.size()); first += per_pass) {
      const int n = std::min(per_pass, static_cast<int>(sort_rows.size()) - first);
      sort_keys_kernel<<<dim3((vocab + kThreads - 1) / kThreads, n), kThreads, 0, stream>>>(
          x, row_stride, vocab, sr, first, ki, ii);
      check_launch("sample_tokens (sort keys)");
      check(cub::DeviceRadixSort::SortPairs(temp.mutable_data(), temp_bytes, ki, ko, ii, io,
                                            static_cast<int64_t>(n) * vocab, 0, 32 + bits_for(n),
                                            stream),
            "sample_tokens: radix sort");
      select_kernel<<<n, kThreads, 0, stream>>>(ko, io, vocab, sr, first, p, st);
      check_launch("sample_tokens (select)");
    }
  }
  draw_kernel<<<num_rows, kThreads, 0, stream>>>(x, row_stride, vocab, p, st, ids_out);
  check_launch("sample_tokens (draw)");
}

}  // namespace pagoda::cuda
