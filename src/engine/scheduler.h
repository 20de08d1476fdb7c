// The scheduler: one step at a time, spend a token budget with no prefill or decode phase. Every
// sequence has num_computed_tokens catching up with its tokens (prompt + generated); a step gives
// each a share of the budget, so a long prompt is computed in chunks next to running decodes
// (vLLM v1's scheduler, vllm/v1/core/sched/scheduler.py).
//
// Order: running sequences first, in admission order; when the KV pool runs out, the sequence
// admitted last is preempted (its blocks freed, its KV recomputed later) and goes back to the
// front of the waiting queue. Waiting sequences are admitted first come, first served, after a
// prefix-cache lookup, while the budget, max_num_seqs and free blocks allow, and only in steps
// that preempted nothing.
#pragma once

#include <cstdint>
#include <deque>
#include <vector>

#include "engine/kv_cache_manager.h"
#include "engine/sequence.h"

namespace pagoda::engine {

struct SchedulerConfig {
  int64_t max_num_batched_tokens = 2048;
  int64_t max_num_seqs = 256;
  int64_t long_prefill_token_threshold = 0;  // 0: no per-sequence cap
  int64_t max_model_len = 0;
};

struct ScheduledSequence {
  Sequence* sequence = nullptr;
  int64_t num_new_tokens = 0;  // tokens computed this step, from sequence->num_computed_tokens
  // True when this step computes the sequence's last known token, so its logits give the next.
  bool samples = false;
};

struct SchedulerOutput {
  std::vector<ScheduledSequence> scheduled;
  int64_t num_tokens = 0;
  std::vector<Sequence*> preempted;
  bool empty() const { return scheduled.empty(); }
};

class Scheduler {
 public:
  Scheduler(const SchedulerConfig& config, KVCacheManager& kv_cache);

  // Queues a sequence (status kWaiting, nothing computed).
  void add(Sequence* sequence);
  // Builds the next step. The returned pointers stay valid until finish/remove.
  const SchedulerOutput& schedule();
  // After the model ran the step: advances num_computed_tokens of every scheduled sequence.
  void on_step_done(const SchedulerOutput& output);
  // Removes a sequence wherever it is (finished or aborted) and frees its KV blocks.
  void remove(Sequence* sequence);

  int64_t num_waiting() const { return static_cast<int64_t>(waiting_.size()); }
  int64_t num_running() const { return static_cast<int64_t>(running_.size()); }
  int64_t num_preemptions() const { return num_preemptions_; }
  bool has_work() const { return !waiting_.empty() || !running_.empty(); }

 private:
  KVRequest kv_view(const Sequence& s) const;
  // Tokens of `s` to compute this step when num_computed of them are in the cache.
  int64_t tokens_to_schedule(const Sequence& s, int64_t num_computed, int64_t budget) const;
  void preempt(Sequence* s);

  SchedulerConfig config_;
  KVCacheManager& kv_cache_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;
  SchedulerOutput output_;  // reused every step
  int64_t num_preemptions_ = 0;
};

}  // namespace pagoda::engine
