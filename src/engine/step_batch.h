// The flat batch of one engine step as every rank needs it: token ids, positions, the paged KV
// cache's view (slot mapping, sequence lengths, block tables) and the rows whose logits rank 0
// samples from. Rank 0 builds it from the scheduler's output; in a multi-process engine it travels
// to the other ranks as one int64 buffer.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "pagoda/layers/attention.h"

namespace pagoda::engine {

struct StepBatch {
  std::vector<int64_t> input_ids, positions, slot_mapping, query_start_loc, seq_lens;
  std::vector<int32_t> block_tables;  // num_seqs rows of max_blocks_per_seq
  int64_t max_blocks_per_seq = 0;
  // Hidden-state rows whose logits are computed: the sampled rows, then the prompt-logprob rows.
  std::vector<int64_t> logit_rows;

  int64_t num_tokens() const { return static_cast<int64_t>(input_ids.size()); }
  // Empties every field, keeping capacity.
  void clear();
  // The attention layers' view of the batch; points into this StepBatch.
  ForwardContext context() const;

  // One buffer: a header of the field lengths, then the fields.
  void pack(std::vector<int64_t>& out) const;
  // The inverse of pack(); pagoda::Error if the buffer is not one pack() wrote.
  void unpack(std::span<const int64_t> packed);
};

}  // namespace pagoda::engine
