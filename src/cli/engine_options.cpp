#include "cli/engine_options.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <csignal>
#include <cstdlib>
#include <thread>

#include "cli/default_model.h"
#include "pagoda/distributed.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda::cli {

int64_t parse_memory_size(const std::string& text, const std::string& option) {
  const auto fail = [&] {
    throw Error(ErrorCode::InvalidArgument,
                fmt::format("{} '{}' is not a memory size", option, text),
                fmt::format("write a size such as {} 4GiB, 512MiB or 1073741824 (bytes)", option));
  };
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    fail();
  }
  std::string unit = text.substr(used);
  double scale = 1;
  if (unit.empty() || unit == "B")
    scale = 1;
  else if (unit == "K" || unit == "KiB" || unit == "KB")
    scale = 1024.0;
  else if (unit == "M" || unit == "MiB" || unit == "MB")
    scale = 1024.0 * 1024;
  else if (unit == "G" || unit == "GiB" || unit == "GB")
    scale = 1024.0 * 1024 * 1024;
  else if (unit == "T" || unit == "TiB" || unit == "TB")
    scale = 1024.0 * 1024 * 1024 * 1024;
  else
    fail();
  if (!(value > 0) || !std::isfinite(value)) fail();
  return static_cast<int64_t>(value * scale);
}

void EngineOptions::add_to(CLI::App& app) {
  app.add_option("MODEL", args.model,
                 "a Hugging Face model directory (default: the shipped models/kjv-llama)");
  app.add_option("--tokenizer", args.tokenizer, "tokenizer directory (default: the model's)");
  app.add_flag("--skip-tokenizer-init", args.skip_tokenizer_init,
               "load no tokenizer: prompts are token ids, outputs token ids");
  app.add_option("--device", args.device, "cpu, cuda or cuda:N (cuda needs the cuda build)")
      ->capture_default_str();
  app.add_option("--dtype", args.dtype, "auto, bfloat16, float16 or float32")
      ->capture_default_str();
  app.add_option("--hf-overrides", args.hf_overrides, "JSON merged into config.json");
  app.add_option("--load-format", args.load_format,
                 "auto (the safetensors weights) or dummy (random weights, for benchmarks)")
      ->capture_default_str();
  app.add_option("--max-model-len", args.max_model_len,
                 "context length (default: from config.json)");
  app.add_option("--block-size", args.block_size, "tokens per KV-cache block")
      ->capture_default_str();
  app.add_option("--kv-cache-memory", kv_cache_memory,
                 "KV-cache size, e.g. 4GiB (default: a fraction of the free memory)");
  app.add_option("--kv-cache-memory-fraction", args.kv_cache_memory_fraction,
                 "fraction of the free memory for the KV cache")
      ->capture_default_str();
  app.add_option("--gpu-memory-utilization", args.gpu_memory_utilization,
                 "on a GPU: fraction of its memory for weights, activations and KV cache")
      ->capture_default_str();
  app.add_flag("--enforce-eager", args.enforce_eager,
               "on a GPU: no CUDA graphs, every step launched op by op");
  app.add_option("--num-kv-blocks", args.num_kv_blocks, "fix the number of KV-cache blocks");
  app.add_flag("--no-enable-prefix-caching", no_prefix_caching, "turn prefix caching off");
  app.add_option("--max-num-batched-tokens", args.max_num_batched_tokens,
                 "token budget of one step")
      ->capture_default_str();
  app.add_option("--max-num-seqs", args.max_num_seqs, "sequences per step")->capture_default_str();
  app.add_option("--long-prefill-token-threshold", args.long_prefill_token_threshold,
                 "most tokens of one prompt per step (0: no limit)");
  app.add_option("--generation-config", args.generation_config,
                 "auto (defaults from generation_config.json) or vllm")
      ->capture_default_str();
  app.add_option("--tensor-parallel-size", args.tensor_parallel_size,
                 "ranks each layer is split over (one process per rank)")
      ->capture_default_str();
  app.add_option("--pipeline-parallel-size", args.pipeline_parallel_size,
                 "pipeline stages the layers are split over (one process per rank)")
      ->capture_default_str();
  app.add_option("--distributed-executor-backend", args.distributed_executor_backend,
                 "who starts the ranks: mp (Pagoda, on this host) or mpi (mpirun); default mpi "
                 "under mpirun, else mp on GPUs")
      ->check(CLI::IsMember({"mp", "mpi"}));
  app.add_option("--threads", threads,
                 "CPU threads (default: all cores, shared by the ranks on one host; also "
                 "PAGODA_NUM_THREADS)");
}

EngineArgs EngineOptions::resolve() {
  EngineArgs out = args;
  out.model = model_or_default(args.model);
  if (!kv_cache_memory.empty())
    out.kv_cache_memory_bytes = parse_memory_size(kv_cache_memory, "--kv-cache-memory");
  out.enable_prefix_caching = !no_prefix_caching;
  PAGODA_CHECK(threads >= 0, InvalidArgument, fmt::format("--threads {} is negative", threads),
               "pass a thread count, or leave it out for all cores");
  if (threads > 0) setenv("PAGODA_NUM_THREADS", std::to_string(threads).c_str(), 1);
  // Ranks on one host share its cores: one thread per core in all, not per rank.
  // Outside mpirun every rank is on this host: rank 0 here, and the ones Pagoda starts.
  const LauncherInfo launcher = launcher_info();
  const int64_t local_ranks = launcher.world_size > 1
                                  ? launcher.local_size
                                  : args.tensor_parallel_size * args.pipeline_parallel_size;
  if (threads == 0 && local_ranks > 1 && std::getenv("PAGODA_NUM_THREADS") == nullptr) {
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const unsigned share = std::max(1u, cores / static_cast<unsigned>(local_ranks));
    setenv("PAGODA_NUM_THREADS", std::to_string(share).c_str(), 1);
  }
  out.validate();
  return out;
}

bool serve_as_worker(const EngineArgs& args) {
  const LauncherInfo launcher = launcher_info();
  const int64_t ranks = args.tensor_parallel_size * args.pipeline_parallel_size;
  PAGODA_CHECK(launcher.world_size == 1 || launcher.world_size == ranks, InvalidArgument,
               fmt::format("mpirun started {} processes, but tensor_parallel_size {} x "
                           "pipeline_parallel_size {} is {} rank(s)",
                           launcher.world_size, args.tensor_parallel_size,
                           args.pipeline_parallel_size, ranks),
               fmt::format("run mpirun -np {}, or pass --tensor-parallel-size and "
                           "--pipeline-parallel-size whose product is {}",
                           ranks, launcher.world_size));
  if (launcher.world_rank == 0) return false;
  // The workers' logs would repeat rank 0's: only warnings and errors, unless asked.
  if (std::getenv("PAGODA_LOG_LEVEL") == nullptr) set_log_level(LogLevel::Warn);
  // Ctrl-C in a terminal reaches every rank of the process group; rank 0 decides when the engine
  // stops (a server drains its requests first) and then tells the workers, so they ignore it.
  std::signal(SIGINT, SIG_IGN);
  run_engine_worker(args);
  return true;
}

void SamplingOptions::add_to(CLI::App& app) {
  app.add_option("--max-tokens", max_tokens, "tokens to generate per sequence");
  app.add_option("--temperature", temperature, "0 for greedy");
  app.add_option("--top-p", top_p, "nucleus sampling threshold");
  app.add_option("--top-k", top_k, "sample from the k most likely tokens (0: all)");
  app.add_option("--min-p", min_p, "drop tokens below min_p x the most likely's probability");
  app.add_option("--presence-penalty", presence_penalty);
  app.add_option("--frequency-penalty", frequency_penalty);
  app.add_option("--repetition-penalty", repetition_penalty);
  app.add_option("--seed", seed, "per-request seed (reproducible sampling)");
  app.add_option("-n,--n", n, "sequences per prompt");
  app.add_option("--min-tokens", min_tokens, "no EOS or stop before this many tokens");
  app.add_option("--stop", stop, "stop string (repeatable)");
  app.add_option("--stop-token-ids", stop_token_ids, "stop token id (repeatable)")->delimiter(',');
  app.add_flag("--ignore-eos", ignore_eos, "keep generating past EOS");
  app.add_option("--logprobs", logprobs, "return the top-N logprobs of every generated token");
  app.add_option("--prompt-logprobs", prompt_logprobs,
                 "return the top-N logprobs of every prompt token");
}

SamplingParams SamplingOptions::resolve(SamplingParams p) const {
  if (max_tokens) p.max_tokens = *max_tokens;
  if (temperature) p.temperature = *temperature;
  if (top_p) p.top_p = *top_p;
  if (top_k) p.top_k = *top_k;
  if (min_p) p.min_p = *min_p;
  if (presence_penalty) p.presence_penalty = *presence_penalty;
  if (frequency_penalty) p.frequency_penalty = *frequency_penalty;
  if (repetition_penalty) p.repetition_penalty = *repetition_penalty;
  if (seed) p.seed = static_cast<uint64_t>(*seed);
  if (n) p.n = *n;
  if (min_tokens) p.min_tokens = *min_tokens;
  if (logprobs) p.logprobs = *logprobs;
  if (prompt_logprobs) p.prompt_logprobs = *prompt_logprobs;
  if (!stop.empty()) p.stop = stop;
  if (!stop_token_ids.empty()) p.stop_token_ids = stop_token_ids;
  if (ignore_eos) p.ignore_eos = true;
  p.validate();
  return p;
}

}  // namespace pagoda::cli
