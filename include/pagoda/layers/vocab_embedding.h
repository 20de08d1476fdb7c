// Token embedding and LM head split over tensor-parallel ranks by vocabulary rows, as vLLM's
// VocabParallelEmbedding / ParallelLMHead.
#pragma once

#include <cstdint>

#include "pagoda/layers/parameter.h"
#include "pagoda/model.h"

namespace pagoda {

// The vocabulary is padded to a multiple of `padding_size` (64) and split evenly: rank r holds
// rows [r*padded/tp, (r+1)*padded/tp). Parameter "<prefix>.weight" [padded/tp, dim]; its loader
// copies this rank's rows of the checkpoint's [vocab, dim] tensor and zero-fills padding rows.
class VocabParallelEmbedding {
 public:
  VocabParallelEmbedding(const ModelInitContext& ctx, int64_t num_embeddings, int64_t embedding_dim,
                         int64_t padding_size = 64);
  virtual ~VocabParallelEmbedding() = default;

  // ids [T] (i32/i64) -> [T, dim]: ids outside this rank's rows give zeros, then the ranks'
  // results are summed (all-reduce), so every rank gets every row. An id outside [0, vocab) is
  // an error naming it.
  Tensor forward(const Tensor& ids) const;

  int64_t num_embeddings() const { return num_embeddings_; }  // the checkpoint's vocab size
  int64_t num_embeddings_padded() const { return padded_; }
  int64_t embedding_dim() const { return dim_; }
  int64_t vocab_start() const { return start_; }  // this rank's first row
  int64_t vocab_end() const { return end_; }      // one past this rank's last real row
  const Tensor& weight() const { return weight_; }

 protected:
  // ParallelLMHead tied to an embedding: shares its weight, registers nothing.
  VocabParallelEmbedding(const ModelInitContext& ctx, const VocabParallelEmbedding& shared);

  ModelInitContext ctx_;
  int64_t num_embeddings_, dim_, padded_, per_rank_, start_, end_;
  Tensor weight_;
};

// The output projection to vocabulary logits, split like the embedding. Untied: its own
// "<prefix>.weight". Tied (tie_word_embeddings): the embedding's weight, and no parameter.
class ParallelLMHead : public VocabParallelEmbedding {
 public:
  ParallelLMHead(const ModelInitContext& ctx, int64_t num_embeddings, int64_t embedding_dim,
                 int64_t padding_size = 64);
  ParallelLMHead(const ModelInitContext& ctx, const VocabParallelEmbedding& tied_to);
  bool tied() const { return tied_; }

 private:
  bool tied_ = false;
};

}  // namespace pagoda
