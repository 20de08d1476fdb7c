#include "engine/decode_graphs.h"

#include <fmt/format.h>

#include <algorithm>
#include <chrono>

#include "ops/cast.h"
#include "ops/checks.h"
#include "pagoda/error.h"
#include "pagoda/layers/attention.h"
#include "pagoda/logging.h"
#ifdef PAGODA_HAS_CUDA
#include "ops/cuda/cuda_allocator.h"
#include "ops/cuda/graph.h"
#endif

namespace pagoda::engine {

#ifdef PAGODA_HAS_CUDA
struct DecodeGraphs::Graph {
  int64_t size;
  std::unique_ptr<cuda::CapturedGraph> graph;
};
#else
struct DecodeGraphs::Graph {};
#endif

DecodeGraphs::Views DecodeGraphs::views(int64_t size) const {
  const int64_t m = max_size_;
  Views v;
  v.ids = wide_.slice(0, 0, size);
  v.positions = wide_.slice(0, m, m + size);
  v.slots = wide_.slice(0, 2 * m, 2 * m + size);
  v.query_start_loc = narrow_.slice(0, 0, size + 1);
  v.seq_lens = narrow_.slice(0, m + 1, m + 1 + size);
  v.block_tables =
      narrow_.slice(0, 2 * m + 1, 2 * m + 1 + size * max_blocks_).view({size, max_blocks_});
  return v;
}

#ifdef PAGODA_HAS_CUDA

namespace {

// vLLM's capture sizes: 1, 2, 4, then every 8 to 64, every 16 to 128, every 32 beyond.
std::vector<int64_t> ladder(int64_t max_size) {
  std::vector<int64_t> sizes;
  for (int64_t s = 1; s < max_size;) {
    sizes.push_back(s);
    s = s < 8 ? s * 2 : s < 64 ? s + 8 : s < 128 ? s + 16 : s + 32;
  }
  sizes.push_back(max_size);
  return sizes;
}

}  // namespace

DecodeGraphs::DecodeGraphs(Model& model, Device device, int64_t max_num_seqs,
                           int64_t max_blocks_per_seq, int64_t block_size, int64_t vocab_size)
    : device_(device),
      max_size_(std::min<int64_t>(max_num_seqs, 256)),
      max_blocks_(max_blocks_per_seq),
      block_size_(block_size),
      sizes_(ladder(max_size_)) {
  const auto start = std::chrono::steady_clock::now();
  const int64_t m = max_size_;
  wide_host_.assign(static_cast<size_t>(3 * m), 0);
  narrow_host_.assign(static_cast<size_t>(2 * m + 1 + m * max_blocks_), 0);
  wide_ = Tensor::zeros({3 * m}, DType::I64, device);
  narrow_ = Tensor::zeros({static_cast<int64_t>(narrow_host_.size())}, DType::I32, device);
  logits_ = Tensor::empty({m, vocab_size}, DType::F32, device);
  pool_ = cuda::new_private_pool(device.index);

  // Capture from the largest: the smaller graphs then reuse the pool's blocks.
  for (auto it = sizes_.rbegin(); it != sizes_.rend(); ++it) {
    const int64_t size = *it;
    const Views v = views(size);
    // The host view the op front ends check at capture: every row one token at position 0 of
    // the null block, writing nothing. Replays read the device buffers only.
    std::vector<int64_t> query_start_loc(static_cast<size_t>(size + 1));
    for (int64_t i = 0; i <= size; ++i) query_start_loc[static_cast<size_t>(i)] = i;
    const std::vector<int64_t> seq_lens(static_cast<size_t>(size), 1);
    const std::vector<int64_t> slots(static_cast<size_t>(size), -1);
    const std::vector<int32_t> tables(static_cast<size_t>(size * max_blocks_), 0);
    ForwardContext context;
    context.query_start_loc = query_start_loc;
    context.paged = true;
    context.slot_mapping = slots;
    context.seq_lens = seq_lens;
    context.block_tables = tables;
    context.max_blocks_per_seq = max_blocks_;
    context.device_slot_mapping = v.slots;
    context.device_query_start_loc = v.query_start_loc;
    context.device_seq_lens = v.seq_lens;
    context.device_block_tables = v.block_tables;
    context.max_query_len = 1;
    context.max_seq_len = max_blocks_ * block_size_;
    // The staged metadata matches the host view, so the warm-up run is a valid step too.
    for (int64_t i = 0; i < m; ++i) {
      wide_host_[static_cast<size_t>(2 * m + i)] = -1;
      narrow_host_[static_cast<size_t>(m + 1 + i)] = 1;
    }
    for (int64_t i = 0; i <= m; ++i) narrow_host_[static_cast<size_t>(i)] = static_cast<int32_t>(i);
    wide_.copy_from(Tensor::from_blob(wide_host_.data(), {3 * m}, DType::I64));
    narrow_.copy_from(Tensor::from_blob(narrow_host_.data(),
                                        {static_cast<int64_t>(narrow_host_.size())}, DType::I32));
    const auto body = [&] {
      const ops::detail::ScopedTrustedIndices trusted;
      const IntermediateTensors out = model.forward_stage(v.ids, v.positions, context, {});
      Tensor rows = logits_.slice(0, 0, size);
      ops::cast(model.compute_logits(out.at("hidden_states")), rows);
    };
    // One eager run first: cuBLASLt picks its algorithms and kernels load outside the capture.
    body();
    auto g = std::make_unique<Graph>();
    g->size = size;
    g->graph = std::make_unique<cuda::CapturedGraph>(device, pool_, body);
    graphs_.insert(graphs_.begin(), std::move(g));
  }
  log::info("captured {} CUDA graphs for decode batches of 1 to {} sequences in {:.1f} s",
            graphs_.size(), max_size_,
            std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
}

DecodeGraphs::~DecodeGraphs() {
  graphs_.clear();
  if (pool_) cuda::release_private_pool(device_.index, pool_);
}

Tensor DecodeGraphs::run(const StepBatch& batch) {
  const int64_t n = static_cast<int64_t>(batch.seq_lens.size()), m = max_size_;
  const auto it =
      std::find_if(graphs_.begin(), graphs_.end(), [&](const auto& g) { return g->size >= n; });
  PAGODA_ASSERT(it != graphs_.end());
  const int64_t size = (*it)->size;
  for (int64_t i = 0; i < size; ++i) {
    const bool real = i < n;
    const auto u = static_cast<size_t>(i);
    wide_host_[u] = real ? batch.input_ids[u] : 0;
    wide_host_[static_cast<size_t>(m + i)] = real ? batch.positions[u] : 0;
    wide_host_[static_cast<size_t>(2 * m + i)] = real ? batch.slot_mapping[u] : -1;
    narrow_host_[static_cast<size_t>(m + 1 + i)] =
        real ? static_cast<int32_t>(batch.seq_lens[u]) : 1;
    int32_t* row = narrow_host_.data() + 2 * m + 1 + i * max_blocks_;
    std::fill(row, row + max_blocks_, 0);
    if (real) {
      const int32_t* src = batch.block_tables.data() + i * batch.max_blocks_per_seq;
      std::copy(src, src + std::min(batch.max_blocks_per_seq, max_blocks_), row);
    }
  }
  wide_.copy_from(Tensor::from_blob(wide_host_.data(), {3 * m}, DType::I64));
  const int64_t narrow_used = 2 * m + 1 + size * max_blocks_;
  Tensor narrow_part = narrow_.slice(0, 0, narrow_used);
  narrow_part.copy_from(Tensor::from_blob(narrow_host_.data(), {narrow_used}, DType::I32));
  (*it)->graph->replay();
  return logits_.slice(0, 0, n);
}

#else

DecodeGraphs::DecodeGraphs(Model&, Device, int64_t, int64_t, int64_t, int64_t) {
  throw_error(ErrorCode::Unsupported, "CUDA graphs in a build without CUDA",
              "build with the cuda preset");
}
DecodeGraphs::~DecodeGraphs() = default;
Tensor DecodeGraphs::run(const StepBatch&) {
  return Tensor();
}

#endif

bool DecodeGraphs::fits(const StepBatch& batch) const {
  const int64_t n = static_cast<int64_t>(batch.seq_lens.size());
  if (n == 0 || n > max_size_ || batch.num_tokens() != n ||
      static_cast<int64_t>(batch.logit_rows.size()) != n || batch.max_blocks_per_seq > max_blocks_)
    return false;
  for (int64_t i = 0; i < n; ++i)
    if (batch.logit_rows[static_cast<size_t>(i)] != i) return false;
  return true;
}

}  // namespace pagoda::engine
