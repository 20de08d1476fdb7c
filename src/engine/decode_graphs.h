// Decode steps on a GPU replayed from CUDA graphs (vLLM's CUDA-graph runner): one graph per batch
// size of a ladder (1, 2, 4, 8, 16, 24, ... up to max_num_seqs), each a whole forward pass and the
// logits of its rows, captured once with the KV cache bound. A decode batch of n sequences runs
// in the smallest graph of at least n, the padding rows writing nothing to the cache. The
// batch's metadata is copied into persistent device buffers the graphs read, so a step costs two
// small uploads, one graph launch and the logits' download.
#pragma once

#include <cstdint>
#include <memory>
#include <vector>

#include "engine/step_batch.h"
#include "pagoda/model.h"
#include "pagoda/tensor.h"

namespace pagoda::engine {

class DecodeGraphs {
 public:
  // Captures the graphs of `model` (bound to its KV cache, on `device`). Throws pagoda::Error
  // when a capture fails; the caller then runs eagerly.
  DecodeGraphs(Model& model, Device device, int64_t max_num_seqs, int64_t max_blocks_per_seq,
               int64_t block_size, int64_t vocab_size);
  ~DecodeGraphs();

  // True when the batch is decode only (one new token per sequence, the logits of every row in
  // order) and fits the largest graph.
  bool fits(const StepBatch& batch) const;
  // Runs a batch that fits; returns its logits [num_seqs, vocab] f32 on the device, valid until
  // the next run.
  Tensor run(const StepBatch& batch);

  const std::vector<int64_t>& sizes() const { return sizes_; }

 private:
  struct Graph;
  // The persistent buffers' views for a batch of `size` rows.
  struct Views {
    Tensor ids, positions, slots, query_start_loc, seq_lens, block_tables;
  };
  Views views(int64_t size) const;

  Device device_;
  int64_t max_size_, max_blocks_, block_size_;
  std::vector<int64_t> sizes_;
  int pool_ = 0;
  // Host staging and device buffers: i64 [ids | positions | slots] of max_size_ each; i32
  // [query_start_loc (max_size_ + 1) | seq_lens (max_size_) | block tables (max_size_ rows)].
  std::vector<int64_t> wide_host_;
  std::vector<int32_t> narrow_host_;
  Tensor wide_, narrow_, logits_;
  std::vector<std::unique_ptr<Graph>> graphs_;  // one per size, in order
};

}  // namespace pagoda::engine
