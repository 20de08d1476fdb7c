#include "engine/scheduler.h"

#include <algorithm>

#include "pagoda/error.h"

namespace pagoda::engine {

Scheduler::Scheduler(const SchedulerConfig& config, KVCacheManager& kv_cache)
    : config_(config), kv_cache_(kv_cache) {}

void Scheduler::add(Sequence* sequence) {
  sequence->status = SequenceStatus::kWaiting;
  waiting_.push_back(sequence);
}

KVRequest Scheduler::kv_view(const Sequence& s) const {
  KVRequest r;
  r.request_id = s.id();
  r.token_ids = s.token_ids();
  r.num_computed_tokens = s.num_computed_tokens;
  r.cache_salt = s.request().cache_salt;
  // Prompt logprobs need the logits of every prompt position, so nothing may come from the cache.
  r.skip_prefix_cache = s.params().prompt_logprobs.has_value();
  return r;
}

int64_t Scheduler::tokens_to_schedule(const Sequence& s, int64_t num_computed,
                                      int64_t budget) const {
  int64_t n = s.num_tokens() - num_computed;
  if (config_.long_prefill_token_threshold > 0)
    n = std::min(n, config_.long_prefill_token_threshold);
  n = std::min(n, budget);
  // Never past the context: a sequence at max_model_len has been stopped by the stop checker.
  n = std::min(n, config_.max_model_len - num_computed);
  return std::max<int64_t>(n, 0);
}

void Scheduler::preempt(Sequence* s) {
  kv_cache_.free(s->id());
  s->num_computed_tokens = 0;
  s->status = SequenceStatus::kWaiting;
  ++s->num_preemptions;
  ++s->request().metrics.num_preemptions;
  ++num_preemptions_;
  waiting_.push_front(s);
  output_.preempted.push_back(s);
}

const SchedulerOutput& Scheduler::schedule() {
  output_.scheduled.clear();
  output_.preempted.clear();
  output_.num_tokens = 0;
  int64_t budget = config_.max_num_batched_tokens;

  // Running sequences, oldest first; preempt from the back when blocks run out.
  for (size_t i = 0; i < running_.size() && budget > 0;) {
    Sequence* s = running_[i];
    const int64_t n = tokens_to_schedule(*s, s->num_computed_tokens, budget);
    if (n == 0) {
      ++i;
      continue;
    }
    kv_cache_.remove_skipped_blocks(s->id(), s->num_computed_tokens);
    bool allocated = kv_cache_.allocate_slots(kv_view(*s), n);
    while (!allocated) {
      Sequence* victim = running_.back();
      running_.pop_back();
      preempt(victim);
      if (victim == s) break;
      allocated = kv_cache_.allocate_slots(kv_view(*s), n);
    }
    if (!allocated) break;  // s itself was preempted: it was the last running sequence
    output_.scheduled.push_back({s, n, s->num_computed_tokens + n == s->num_tokens()});
    output_.num_tokens += n;
    budget -= n;
    ++i;
  }

  // Waiting sequences, first come first served, unless this step had to preempt.
  if (output_.preempted.empty()) {
    while (!waiting_.empty() && budget > 0 &&
           static_cast<int64_t>(running_.size()) < config_.max_num_seqs) {
      Sequence* s = waiting_.front();
      PAGODA_ASSERT(s->num_computed_tokens == 0);
      const PrefixCacheHit hit = kv_cache_.find_cached_prefix(kv_view(*s));
      const int64_t n = tokens_to_schedule(*s, hit.num_tokens, budget);
      if (n == 0) break;
      if (!kv_cache_.allocate_slots(kv_view(*s), n, hit)) break;
      waiting_.pop_front();
      s->num_computed_tokens = hit.num_tokens;
      if (s->num_preemptions == 0) s->request().metrics.num_cached_tokens += hit.num_tokens;
      s->status = SequenceStatus::kRunning;
      running_.push_back(s);
      output_.scheduled.push_back({s, n, s->num_computed_tokens + n == s->num_tokens()});
      output_.num_tokens += n;
      budget -= n;
    }
  }
  return output_;
}

void Scheduler::on_step_done(const SchedulerOutput& output) {
  for (const ScheduledSequence& item : output.scheduled)
    item.sequence->num_computed_tokens += item.num_new_tokens;
}

void Scheduler::remove(Sequence* sequence) {
  kv_cache_.free(sequence->id());
  if (auto it = std::find(running_.begin(), running_.end(), sequence); it != running_.end())
    running_.erase(it);
  if (auto it = std::find(waiting_.begin(), waiting_.end(), sequence); it != waiting_.end())
    waiting_.erase(it);
  sequence->status = SequenceStatus::kFinished;
}

}  // namespace pagoda::engine
