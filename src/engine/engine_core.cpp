// EngineCore: requests in, one scheduled model step at a time, delta outputs out.
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <mutex>
#include <unordered_map>

#include "distributed/rank_groups.h"
#include "engine/kv_cache_manager.h"
#include "engine/kv_cache_sizing.h"
#include "engine/model_runner.h"
#include "engine/scheduler.h"
#include "engine/sequence.h"
#include "pagoda/engine.h"
#include "pagoda/error.h"
#include "pagoda/generation_config.h"
#include "pagoda/logging.h"
#include "pagoda/model_config.h"
#include "pagoda/tokenizer.h"

namespace pagoda {
namespace {

double now_seconds() {
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

// vLLM's request defaults from generation_config.json ("auto").
SamplingParams defaults_from(const GenerationConfig& g) {
  SamplingParams p;
  if (g.temperature) p.temperature = *g.temperature;
  if (g.top_p) p.top_p = *g.top_p;
  if (g.top_k) p.top_k = *g.top_k;
  if (g.min_p) p.min_p = *g.min_p;
  if (g.repetition_penalty) p.repetition_penalty = *g.repetition_penalty;
  if (g.max_new_tokens) p.max_tokens = *g.max_new_tokens;
  return p;
}

bool has_tokenizer_files(const std::filesystem::path& dir) {
  return std::filesystem::exists(dir / "tokenizer.json") ||
         (std::filesystem::exists(dir / "vocab.json") &&
          std::filesystem::exists(dir / "merges.txt"));
}

}  // namespace

using engine::Sequence;
using engine::SequenceStatus;

struct EngineCore::Impl {
  // One live request: its shared state and its n sequences.
  struct Entry {
    std::shared_ptr<engine::RequestState> state;
    std::vector<std::unique_ptr<Sequence>> sequences;
  };

  EngineArgs args;
  ModelConfig config;
  GenerationConfig generation_config;
  SamplingParams defaults;
  std::vector<int64_t> eos_token_ids;
  std::shared_ptr<const Tokenizer> tokenizer;
  std::unique_ptr<engine::ModelRunner> runner;
  std::unique_ptr<KVCacheManager> kv_cache;
  std::unique_ptr<engine::Scheduler> scheduler;
  int64_t num_steps = 0;

  std::unordered_map<std::string, Entry> live;

  // Periodic throughput log (vLLM's "Avg prompt throughput ..." line), every 5 s while busy.
  double last_log_time = 0;
  int64_t logged_prompt_tokens = 0, logged_generated_tokens = 0;
  void log_progress(int64_t prompt_tokens, int64_t generated_tokens, double step_seconds,
                    int64_t step_tokens, size_t step_seqs);

  // Filled from any thread, drained by step().
  mutable std::mutex inbox_mutex;
  std::vector<Entry> inbox;
  std::vector<std::string> aborts;
  std::unordered_map<std::string, bool> pending_ids;  // queued in the inbox, not yet live

  explicit Impl(const EngineArgs& a);
  // config.json, generation_config.json and the tokenizer: everything but the weights.
  void load_model_files();
  Entry make_entry(EngineRequest request);
  void admit(Entry entry);
  void abort(const std::string& id, std::vector<RequestOutput>& outputs);
  void process_token(Sequence& s, const SampledToken& sampled);
  void finish(Sequence& s, const std::string& reason, std::optional<int64_t> stop_token,
              std::optional<std::string> stop_string);
  RequestOutput delta_output(Entry& entry);
  std::string token_text(int32_t token) const;
};

EngineCore::Impl::Impl(const EngineArgs& a) : args(a) {
  args.validate();
  const Device device = Device::parse(args.device);
  // Collective in a multi-process engine: every rank asks for its groups first.
  const distributed::RankGroups groups = distributed::rank_groups(
      static_cast<int>(args.tensor_parallel_size), static_cast<int>(args.pipeline_parallel_size),
      device, args.distributed_executor_backend);
  PAGODA_CHECK(groups.world->rank() == 0, InvalidArgument,
               fmt::format("an engine (LLM, EngineCore or AsyncEngine) was built on world rank {} "
                           "of {}",
                           groups.world->rank(), groups.world->size()),
               "build the engine on rank 0 only; every other rank calls "
               "pagoda::run_engine_worker(args) (docs/distributed.md)");
  try {
    load_model_files();
  } catch (const Error& e) {
    // The other ranks wait for Start: tell them why it will not come.
    engine::ModelRunner::abort_workers(groups, e);
    throw;
  }
  runner = std::make_unique<engine::ModelRunner>(config, args, groups);

  // The ranks sharing this machine share its free memory (CPU ranks under one mpirun host).
  EngineArgs sizing = args;
  sizing.kv_cache_memory_fraction /= runner->ranks_sharing_memory();
  if (!device.is_cpu() && !args.kv_cache_memory_bytes && !args.num_kv_blocks) {
    sizing.kv_cache_memory_bytes = engine::gpu_kv_cache_budget(device, args.gpu_memory_utilization,
                                                               runner->max_device_bytes_in_use());
    log::info("KV cache budget on {}: {:.0f} MiB (gpu_memory_utilization {})", device.to_string(),
              static_cast<double>(*sizing.kv_cache_memory_bytes) / (1 << 20),
              args.gpu_memory_utilization);
  }
  const engine::KVCachePlan plan =
      engine::plan_kv_cache(sizing, runner->kv_cache_bytes_per_token(), config.max_model_len);
  KVCacheConfig kv;
  kv.num_blocks = plan.num_blocks;
  kv.block_size = args.block_size;
  kv.enable_prefix_caching = args.enable_prefix_caching;
  kv.sliding_window = runner->uniform_sliding_window();
  kv_cache = std::make_unique<KVCacheManager>(kv);
  runner->allocate_kv_cache(plan.num_blocks, args.block_size);
  log::info("KV cache: {} blocks of {} tokens, {} tokens ({:.1f} MiB; {}), prefix caching {}",
            plan.num_blocks - 1, args.block_size, plan.capacity_tokens,
            static_cast<double>(plan.bytes) / (1 << 20), plan.origin,
            args.enable_prefix_caching ? "on" : "off");

  engine::SchedulerConfig sc;
  sc.max_num_batched_tokens = args.max_num_batched_tokens;
  sc.max_num_seqs = args.max_num_seqs;
  sc.long_prefill_token_threshold = args.long_prefill_token_threshold;
  sc.max_model_len = config.max_model_len;
  scheduler = std::make_unique<engine::Scheduler>(sc, *kv_cache);
}

void EngineCore::Impl::load_model_files() {
  const std::filesystem::path dir(args.model);
  ModelConfigOptions options;
  options.dtype = args.dtype;
  options.hf_overrides = args.hf_overrides;
  options.max_model_len = args.max_model_len;
  config = ModelConfig::from_model_dir(dir, options);
  generation_config = GenerationConfig::from_model_dir(dir);
  if (args.generation_config == "auto") defaults = defaults_from(generation_config);

  if (!args.skip_tokenizer_init) {
    const std::filesystem::path tok_dir =
        args.tokenizer.empty() ? dir : std::filesystem::path(args.tokenizer);
    PAGODA_CHECK(has_tokenizer_files(tok_dir), NotFound,
                 fmt::format("no tokenizer in {} (looked for tokenizer.json, or vocab.json with "
                             "merges.txt)",
                             tok_dir.string()),
                 "pass --tokenizer DIR, or --skip-tokenizer-init to work on token ids only");
    tokenizer = Tokenizer::from_directory(tok_dir);
  }
  eos_token_ids = generation_config.all_eos_token_ids(config.eos_token_ids);
  if (tokenizer && tokenizer->eos_token_id() &&
      std::find(eos_token_ids.begin(), eos_token_ids.end(), *tokenizer->eos_token_id()) ==
          eos_token_ids.end())
    eos_token_ids.push_back(*tokenizer->eos_token_id());
}

EngineCore::Impl::Entry EngineCore::Impl::make_entry(EngineRequest request) {
  const std::string& id = request.request_id;
  PAGODA_CHECK(!id.empty(), InvalidArgument, "a request has an empty request_id",
               "give every request a unique id");
  auto state = std::make_shared<engine::RequestState>();
  state->request_id = id;
  if (request.prompt.text) {
    PAGODA_CHECK(tokenizer != nullptr, InvalidArgument,
                 fmt::format("request '{}' has a text prompt but the engine has no tokenizer", id),
                 "pass prompt token ids, or start the engine without skip_tokenizer_init");
    state->prompt_text = *request.prompt.text;
    state->prompt_token_ids =
        tokenizer->encode(*request.prompt.text, request.prompt.add_special_tokens);
  } else {
    state->prompt_token_ids = std::move(request.prompt.token_ids);
  }
  const auto& ids = state->prompt_token_ids;
  PAGODA_CHECK(!ids.empty(), InvalidArgument, fmt::format("request '{}' has an empty prompt", id),
               "give at least one prompt token");
  PAGODA_CHECK(static_cast<int64_t>(ids.size()) <= config.max_model_len, InvalidArgument,
               fmt::format("request '{}': the prompt has {} tokens, more than max_model_len {}", id,
                           ids.size(), config.max_model_len),
               "shorten the prompt or raise --max-model-len");
  for (size_t i = 0; i < ids.size(); ++i)
    PAGODA_CHECK(ids[i] >= 0 && ids[i] < config.vocab_size, InvalidArgument,
                 fmt::format("request '{}': prompt token {} at position {} is outside the "
                             "vocabulary [0, {})",
                             id, ids[i], i, config.vocab_size),
                 "use token ids of this model's tokenizer");
  request.params.validate(config.vocab_size);
  PAGODA_CHECK(tokenizer != nullptr || request.params.stop.empty(), InvalidArgument,
               fmt::format("request '{}' has stop strings but the engine has no tokenizer", id),
               "use stop_token_ids, or start the engine with a tokenizer");
  state->params = std::move(request.params);
  state->cache_salt = std::move(request.cache_salt);
  state->metrics.arrival_time = now_seconds();
  state->num_unfinished = state->params.n;

  Entry entry;
  entry.state = state;
  for (int64_t i = 0; i < state->params.n; ++i) {
    auto s = std::make_unique<Sequence>(state, i,
                                        state->params.n == 1 ? id : fmt::format("{}#{}", id, i));
    s->stop_checker.configure(state->params, eos_token_ids, config.max_model_len);
    if (state->params.min_tokens > 0) {
      if (!state->params.ignore_eos)
        for (int64_t e : eos_token_ids) s->min_tokens_blocked.push_back(static_cast<int32_t>(e));
      for (int64_t e : state->params.stop_token_ids)
        s->min_tokens_blocked.push_back(static_cast<int32_t>(e));
    }
    if (tokenizer)
      s->detokenizer = std::make_unique<IncrementalDetokenizer>(tokenizer, s->prompt_token_ids(),
                                                                state->params.skip_special_tokens);
    entry.sequences.push_back(std::move(s));
  }
  return entry;
}

void EngineCore::Impl::admit(Entry entry) {
  for (auto& s : entry.sequences) scheduler->add(s.get());
  const std::string id = entry.state->request_id;
  live.emplace(id, std::move(entry));
}

void EngineCore::Impl::finish(Sequence& s, const std::string& reason,
                              std::optional<int64_t> stop_token,
                              std::optional<std::string> stop_string) {
  if (s.status == SequenceStatus::kFinished) return;
  if (s.detokenizer && reason == "length") s.output.text += s.detokenizer->flush();
  s.output.finish_reason = reason;
  s.output.stop_token = stop_token;
  s.output.stop_string = std::move(stop_string);
  scheduler->remove(&s);
  if (--s.request().num_unfinished == 0) s.request().metrics.finished_time = now_seconds();
}

void EngineCore::Impl::abort(const std::string& id, std::vector<RequestOutput>& outputs) {
  auto it = live.find(id);
  if (it == live.end()) return;
  for (auto& s : it->second.sequences) finish(*s, "abort", std::nullopt, std::nullopt);
  outputs.push_back(delta_output(it->second));
  live.erase(it);
}

std::string EngineCore::Impl::token_text(int32_t token) const {
  if (!tokenizer) return {};
  const int32_t one[1] = {token};
  return tokenizer->decode(one, false);
}

void EngineCore::Impl::process_token(Sequence& s, const SampledToken& sampled) {
  const SamplingParams& params = s.params();
  s.append_token(sampled.token);
  s.output.token_ids.push_back(sampled.token);
  if (s.request().metrics.first_token_time == 0)
    s.request().metrics.first_token_time = now_seconds();
  if (params.logprobs) {
    PositionLogprobs position;
    position.push_back({sampled.token, sampled.logprob, sampled.rank, token_text(sampled.token)});
    for (const TokenLogprob& t : sampled.top)
      position.push_back({t.token, t.logprob, t.rank, token_text(t.token)});
    s.output.logprobs.push_back(std::move(position));
    s.output.cumulative_logprob = s.output.cumulative_logprob.value_or(0.0) + sampled.logprob;
  }
  const auto decision =
      s.stop_checker.check_token(sampled.token, s.num_output_tokens(), s.num_tokens());
  // A stop token (EOS or stop_token_ids) ends the sequence without its text, as in vLLM.
  const bool stopped_by_token = decision && decision->finish_reason == "stop";
  if (s.detokenizer && !(stopped_by_token && s.stop_checker.hides_stop_token_text())) {
    const std::string piece = s.detokenizer->push(sampled.token);
    s.output.text += piece;
    if (!decision)
      if (auto stop = s.stop_checker.check_text(s.output.text, piece.size(), s.num_output_tokens()))
        return finish(s, "stop", std::nullopt, std::move(*stop));
  }
  if (decision) finish(s, decision->finish_reason, decision->stop_token, decision->stop_string);
}

RequestOutput EngineCore::Impl::delta_output(Entry& entry) {
  engine::RequestState& state = *entry.state;
  RequestOutput out;
  out.request_id = state.request_id;
  // The prompt travels in the request's first output only: copying it into every delta would
  // cost O(prompt) per request per step.
  if (!state.prompt_reported) {
    out.prompt_token_ids = state.prompt_token_ids;
    out.prompt = state.prompt_text;
    state.prompt_reported = true;
  }
  out.metrics = state.metrics;
  if (state.params.prompt_logprobs && !state.prompt_logprobs_reported &&
      static_cast<int64_t>(state.prompt_logprobs.size()) + 1 >=
          static_cast<int64_t>(state.prompt_token_ids.size())) {
    out.prompt_logprobs = state.prompt_logprobs;
    state.prompt_logprobs_reported = true;
  }
  for (auto& sp : entry.sequences) {
    Sequence& s = *sp;
    const bool finished = s.status == SequenceStatus::kFinished;
    const size_t text_end = s.stop_checker.releasable_bytes(s.output.text, finished);
    const bool new_tokens = s.reported_tokens < s.output.token_ids.size();
    const bool new_text = text_end > s.reported_text;
    const bool report_final = finished && !s.final_reported;
    if (!new_tokens && !new_text && !report_final) continue;
    CompletionOutput c;
    c.index = s.index();
    c.token_ids.assign(s.output.token_ids.begin() + static_cast<int64_t>(s.reported_tokens),
                       s.output.token_ids.end());
    if (text_end > s.reported_text)
      c.text = s.output.text.substr(s.reported_text, text_end - s.reported_text);
    c.logprobs.assign(s.output.logprobs.begin() + static_cast<int64_t>(s.reported_logprobs),
                      s.output.logprobs.end());
    c.cumulative_logprob = s.output.cumulative_logprob;
    c.finish_reason = s.output.finish_reason;
    c.stop_token = s.output.stop_token;
    c.stop_string = s.output.stop_string;
    s.reported_tokens = s.output.token_ids.size();
    s.reported_text = std::max(s.reported_text, text_end);
    s.reported_logprobs = s.output.logprobs.size();
    if (finished) s.final_reported = true;
    out.outputs.push_back(std::move(c));
  }
  out.finished = state.num_unfinished == 0;
  return out;
}

void EngineCore::Impl::log_progress(int64_t prompt_tokens, int64_t generated_tokens,
                                    double step_seconds, int64_t step_tokens, size_t step_seqs) {
  log::debug("step {}: {} sequences, {} tokens, {:.1f} ms", num_steps, step_seqs, step_tokens,
             step_seconds * 1e3);
  logged_prompt_tokens += prompt_tokens;
  logged_generated_tokens += generated_tokens;
  const double now = now_seconds();
  if (last_log_time == 0) last_log_time = now;
  const double elapsed = now - last_log_time;
  if (elapsed < 5.0) return;
  log::info(
      "avg prompt throughput: {:.1f} tokens/s, avg generation throughput: {:.1f} tokens/s, "
      "running: {} reqs, waiting: {} reqs, KV cache usage: {:.1f}%, prefix cache hit rate: {:.1f}%",
      static_cast<double>(logged_prompt_tokens) / elapsed,
      static_cast<double>(logged_generated_tokens) / elapsed, scheduler->num_running(),
      scheduler->num_waiting(), kv_cache->usage() * 100,
      kv_cache->stats().queries > 0 ? 100.0 * static_cast<double>(kv_cache->stats().hits) /
                                          static_cast<double>(kv_cache->stats().queries)
                                    : 0.0);
  last_log_time = now;
  logged_prompt_tokens = logged_generated_tokens = 0;
}

EngineCore::EngineCore(const EngineArgs& args) : impl_(std::make_unique<Impl>(args)) {}
EngineCore::~EngineCore() = default;

void EngineCore::add_request(EngineRequest request) {
  {
    std::lock_guard lock(impl_->inbox_mutex);
    PAGODA_CHECK(!impl_->pending_ids.contains(request.request_id), InvalidArgument,
                 fmt::format("request id '{}' is already in use", request.request_id),
                 "give every live request a unique id");
  }
  Impl::Entry entry = impl_->make_entry(std::move(request));
  std::lock_guard lock(impl_->inbox_mutex);
  const std::string& id = entry.state->request_id;
  PAGODA_CHECK(!impl_->pending_ids.contains(id), InvalidArgument,
               fmt::format("request id '{}' is already in use", id),
               "give every live request a unique id");
  impl_->pending_ids.emplace(id, true);
  impl_->inbox.push_back(std::move(entry));
}

void EngineCore::abort_request(const std::string& request_id) {
  std::lock_guard lock(impl_->inbox_mutex);
  impl_->aborts.push_back(request_id);
}

std::vector<RequestOutput> EngineCore::step() {
  Impl& m = *impl_;
  std::vector<RequestOutput> outputs;
  {
    std::vector<Impl::Entry> added;
    std::vector<std::string> aborted;
    {
      std::lock_guard lock(m.inbox_mutex);
      added.swap(m.inbox);
      aborted.swap(m.aborts);
    }
    for (auto& e : added) m.admit(std::move(e));
    for (const auto& id : aborted) {
      m.abort(id, outputs);
      std::lock_guard lock(m.inbox_mutex);
      m.pending_ids.erase(id);
    }
  }

  const engine::SchedulerOutput& step = m.scheduler->schedule();
  if (step.empty()) return outputs;
  engine::StepResult result;
  const double step_start = now_seconds();
  m.runner->execute(step, *m.kv_cache, result);
  int64_t step_prompt_tokens = 0, step_generated = 0;
  for (const auto& item : step.scheduled) {
    const int64_t prompt_left =
        item.sequence->num_prompt_tokens() - item.sequence->num_computed_tokens;
    step_prompt_tokens += std::clamp<int64_t>(prompt_left, 0, item.num_new_tokens);
    step_generated += item.samples ? 1 : 0;
  }
  m.log_progress(step_prompt_tokens, step_generated, now_seconds() - step_start, step.num_tokens,
                 step.scheduled.size());
  m.scheduler->on_step_done(step);
  ++m.num_steps;

  std::vector<engine::RequestState*> touched;
  for (size_t i = 0; i < step.scheduled.size(); ++i) {
    const engine::ScheduledSequence& item = step.scheduled[i];
    Sequence& s = *item.sequence;
    engine::RequestState& state = s.request();
    // Prompt logprobs come from the first sample's sequence, once per position (a preempted
    // sequence recomputes positions it already reported).
    if (s.index() == 0 && !result.prompt_logprobs[i].empty()) {
      const int64_t first = s.num_computed_tokens - item.num_new_tokens;
      for (size_t k = 0; k < result.prompt_logprobs[i].size(); ++k) {
        const int64_t position = first + static_cast<int64_t>(k);
        if (position != static_cast<int64_t>(state.prompt_logprobs.size())) continue;
        const SampledToken& t = result.prompt_logprobs[i][k];
        PositionLogprobs p;
        p.push_back({t.token, t.logprob, t.rank, m.token_text(t.token)});
        for (const TokenLogprob& top : t.top)
          p.push_back({top.token, top.logprob, top.rank, m.token_text(top.token)});
        state.prompt_logprobs.push_back(std::move(p));
      }
    }
    if (item.samples) m.process_token(s, result.sampled[i]);
    if (std::find(touched.begin(), touched.end(), &state) == touched.end())
      touched.push_back(&state);
  }
  for (engine::RequestState* state : touched) {
    auto it = m.live.find(state->request_id);
    if (it == m.live.end()) continue;
    RequestOutput out = m.delta_output(it->second);
    const bool finished = out.finished;
    if (!out.outputs.empty() || finished || !out.prompt_logprobs.empty())
      outputs.push_back(std::move(out));
    if (finished) {
      // Erasing the entry destroys the request state: take its id first.
      const std::string id = state->request_id;
      m.live.erase(it);
      std::lock_guard lock(m.inbox_mutex);
      m.pending_ids.erase(id);
    }
  }
  return outputs;
}

bool EngineCore::has_unfinished_requests() const {
  std::lock_guard lock(impl_->inbox_mutex);
  return !impl_->live.empty() || !impl_->inbox.empty();
}

EngineStats EngineCore::stats() const {
  EngineStats s;
  s.num_running = impl_->scheduler->num_running();
  s.num_waiting = impl_->scheduler->num_waiting();
  s.num_kv_blocks = impl_->kv_cache->num_blocks() - 1;
  s.num_free_kv_blocks = impl_->kv_cache->num_free_blocks();
  s.block_size = impl_->kv_cache->block_size();
  s.kv_cache_usage = impl_->kv_cache->usage();
  const auto prefix = impl_->kv_cache->stats();
  s.prefix_cache_queries = prefix.queries;
  s.prefix_cache_hits = prefix.hits;
  s.num_preemptions = impl_->scheduler->num_preemptions();
  s.num_steps = impl_->num_steps;
  return s;
}

const ModelConfig& EngineCore::model_config() const {
  return impl_->config;
}
std::shared_ptr<const Tokenizer> EngineCore::tokenizer() const {
  return impl_->tokenizer;
}
const SamplingParams& EngineCore::default_sampling_params() const {
  return impl_->defaults;
}
const EngineArgs& EngineCore::args() const {
  return impl_->args;
}

}  // namespace pagoda
