// What an engine is built from: the model and how much of the machine it may use. Names and
// defaults follow vLLM's engine arguments (`vllm serve --help`) where vLLM has the argument.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>

namespace pagoda {

struct EngineArgs {
  // A Hugging Face model directory (config.json, *.safetensors, tokenizer files).
  std::string model;
  // The tokenizer's directory; empty: the model directory.
  std::string tokenizer;
  // Run on token ids only: no tokenizer is loaded (text prompts and stop strings are refused).
  bool skip_tokenizer_init = false;
  // "auto", "bfloat16", "float16" or "float32" (see ModelConfigOptions::dtype).
  std::string dtype = "auto";
  // JSON object merged into config.json (vLLM's --hf-overrides).
  std::string hf_overrides;
  // "auto": weights from the model directory's safetensors; "dummy": random weights of the right
  // shapes (vLLM's --load-format dummy), for benchmarks and tests with only a config.json.
  std::string load_format = "auto";
  // Where the model runs: "cpu" (the default), "cuda" or "cuda:N" (a CUDA build).
  std::string device = "cpu";
  // The context length; nullopt: from config.json.
  std::optional<int64_t> max_model_len;

  // KV cache: tokens per block, and the memory the pool may take. kv_cache_memory_bytes wins;
  // otherwise kv_cache_memory_fraction of the memory available after the weights are loaded.
  // num_kv_blocks fixes the pool size outright (tests, preemption experiments).
  int64_t block_size = 16;
  std::optional<int64_t> kv_cache_memory_bytes;
  double kv_cache_memory_fraction = 0.5;
  // On a GPU: the share of the GPU's whole memory the engine may use (weights, activations and
  // KV cache together), as vLLM's gpu_memory_utilization. kv_cache_memory_fraction is for the CPU.
  double gpu_memory_utilization = 0.9;
  // On a GPU: run decode steps eagerly rather than from captured CUDA graphs (vLLM's
  // enforce_eager), e.g. to rule the graphs out when debugging.
  bool enforce_eager = false;
  std::optional<int64_t> num_kv_blocks;
  bool enable_prefix_caching = true;

  // Scheduler: tokens computed per step and sequences per step. Prompts longer than the budget
  // are computed in chunks (vLLM's chunked prefill, always on here: there is no prefill phase).
  int64_t max_num_batched_tokens = 2048;
  int64_t max_num_seqs = 256;
  // A prompt takes at most this many tokens of one step's budget (0: no limit), so that long
  // prompts do not stall running decodes (vLLM's long_prefill_token_threshold).
  int64_t long_prefill_token_threshold = 0;

  // Parallelism: ranks per pipeline stage (weights and heads split across them) and pipeline
  // stages (layers split across them). More than one rank in all runs one process per rank
  // (see pagoda/distributed.h).
  int64_t tensor_parallel_size = 1;
  int64_t pipeline_parallel_size = 1;
  // Who starts those processes: "mpi" (mpirun, on one host or several), "mp" (Pagoda, on this
  // host: it runs this program again once per other rank), or "" for mpi under mpirun and mp
  // for GPU engines otherwise (vLLM's --distributed-executor-backend).
  std::string distributed_executor_backend;

  // Seeds the generator of requests that carry no seed of their own.
  uint64_t seed = 0;
  // "auto": request defaults from the model's generation_config.json (vLLM's default); "vllm":
  // ignore it.
  std::string generation_config = "auto";

  // Called while the weights load, after each checkpoint tensor: (tensors loaded, total). For
  // progress bars (`pagoda serve`); not called for dummy weights.
  std::function<void(int64_t, int64_t)> load_progress;

  // Throws pagoda::Error(InvalidArgument) naming the first argument out of range.
  void validate() const;
};

}  // namespace pagoda
