// Linear layers with tensor parallelism built in, as vLLM's layers/linear.py.
//
// Every layer computes y = x W^T + b on this rank's shard. W is [out_local, in_local] (the
// checkpoint layout), parameters are "<prefix>.weight" and "<prefix>.bias", and each parameter's
// loader takes exactly this rank's slice of the checkpoint tensor. tp = 1 is the special case.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

#include "pagoda/layers/parameter.h"
#include "pagoda/model.h"

namespace pagoda {

class LinearBase {
 public:
  virtual ~LinearBase() = default;
  // x: [T, input_size_per_partition] -> [T, output_size_per_partition] (the full output for
  // replicated layers, and for column layers with gather_output; reduced over ranks for row layers).
  virtual Tensor forward(const Tensor& x) const;

  int64_t input_size() const { return input_size_; }    // the whole layer's
  int64_t output_size() const { return output_size_; }  // the whole layer's
  int64_t input_size_per_partition() const { return input_per_rank_; }
  int64_t output_size_per_partition() const { return output_per_rank_; }
  const Tensor& weight() const { return weight_; }
  const Tensor& bias() const { return bias_; }  // undefined when the layer has none
  const std::string& prefix() const { return prefix_; }

 protected:
  LinearBase(const ModelInitContext& ctx, int64_t input_size, int64_t output_size, int64_t input_per_rank,
             int64_t output_per_rank);
  // Registers "<prefix>.weight" [output_per_rank, input_per_rank] and, when `bias`,
  // "<prefix>.bias" [output_per_rank or output_size (row layers)], with the given loaders.
  void create_weights(bool bias, WeightLoader weight_loader, WeightLoader bias_loader,
                      int64_t bias_size);
  // x W^T (+ b when add_bias) into a new [T, output_per_rank] tensor of the model dtype.
  Tensor apply(const Tensor& x, bool add_bias) const;

  ModelInitContext ctx_;
  std::string prefix_;
  int64_t input_size_, output_size_, input_per_rank_, output_per_rank_;
  Tensor weight_, bias_;
};

// The same weight on every rank.
class ReplicatedLinear : public LinearBase {
 public:
  ReplicatedLinear(const ModelInitContext& ctx, int64_t input_size, int64_t output_size, bool bias);
};

// Output dimension split across ranks: rank r holds rows [r*out/tp, (r+1)*out/tp) of W.
class ColumnParallelLinear : public LinearBase {
 public:
  // output_size must divide by tp. gather_output: all-gather the shards so every rank gets the
  // whole output.
  ColumnParallelLinear(const ModelInitContext& ctx, int64_t input_size, int64_t output_size, bool bias,
                       bool gather_output = false);
  Tensor forward(const Tensor& x) const override;

 protected:
  // For subclasses that create their own weights with their own loaders.
  ColumnParallelLinear(const ModelInitContext& ctx, int64_t input_size, int64_t output_size,
                       int64_t output_per_rank);
  bool gather_output_ = false;
};

// Several column-parallel outputs fused into one product (gate_proj and up_proj ->
// gate_up_proj): each part is split across ranks, and this rank's weight is [part0/tp ; part1/tp ;
// ...]. Loader shard ids are "0", "1", ... (the part) or "" (already fused on disk, as Phi-3's
// gate_up_proj: split by output_sizes).
class MergedColumnParallelLinear : public ColumnParallelLinear {
 public:
  MergedColumnParallelLinear(const ModelInitContext& ctx, int64_t input_size,
                             std::vector<int64_t> output_sizes, bool bias);
  const std::vector<int64_t>& output_sizes() const { return output_sizes_; }

 private:
  std::vector<int64_t> output_sizes_;
};

// Query, key and value projections fused. Query heads are split across ranks; key/value heads
// too when tp <= total_kv_heads, otherwise each rank holds one KV head, replicated over
// tp / total_kv_heads ranks. This rank's weight is [q_heads*head ; kv_heads*head ; kv_heads*head].
// Loader shard ids "q", "k", "v", or "" for a fused qkv tensor on disk (split by total sizes).
class QKVParallelLinear : public ColumnParallelLinear {
 public:
  QKVParallelLinear(const ModelInitContext& ctx, int64_t hidden_size, int64_t head_size,
                    int64_t total_num_heads, int64_t total_num_kv_heads, bool bias);
  int64_t head_size() const { return head_size_; }
  int64_t num_heads() const { return num_heads_; }        // this rank's
  int64_t num_kv_heads() const { return num_kv_heads_; }  // this rank's
  int64_t q_size() const { return num_heads_ * head_size_; }
  int64_t kv_size() const { return num_kv_heads_ * head_size_; }

 private:
  int64_t head_size_, total_num_heads_, total_num_kv_heads_, num_heads_, num_kv_heads_;
};

// Input dimension split across ranks: rank r holds columns [r*in/tp, (r+1)*in/tp) of W; the
// partial products are summed over ranks (all-reduce) when reduce_results. The bias is added once,
// after the reduction (so on exactly one rank's share).
class RowParallelLinear : public LinearBase {
 public:
  RowParallelLinear(const ModelInitContext& ctx, int64_t input_size, int64_t output_size, bool bias,
                    bool input_is_parallel = true, bool reduce_results = true);
  Tensor forward(const Tensor& x) const override;

 private:
  bool input_is_parallel_, reduce_results_;
};

}  // namespace pagoda
