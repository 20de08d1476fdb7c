#include "pagoda/engine_args.h"

#include <fmt/format.h>

#include "pagoda/device.h"
#include "pagoda/error.h"

namespace pagoda {

void EngineArgs::validate() const {
  PAGODA_CHECK(!model.empty(), InvalidArgument, "no model directory was given",
               "pass the path of a Hugging Face model directory (config.json, *.safetensors)");
  PAGODA_CHECK(block_size > 0 && block_size <= 1024, InvalidArgument,
               fmt::format("block_size is {}; expected 1 to 1024 tokens", block_size),
               "use the default 16, or a power of two such as 32");
  PAGODA_CHECK(
      !kv_cache_memory_bytes || *kv_cache_memory_bytes > 0, InvalidArgument,
      fmt::format("kv_cache_memory is {} bytes; expected > 0", kv_cache_memory_bytes.value_or(0)),
      "pass a size such as 4GiB");
  PAGODA_CHECK(kv_cache_memory_fraction > 0 && kv_cache_memory_fraction <= 1, InvalidArgument,
               fmt::format("kv_cache_memory_fraction is {}; expected a fraction in (0, 1]",
                           kv_cache_memory_fraction),
               "pass e.g. 0.5 for half the free memory");
  PAGODA_CHECK(gpu_memory_utilization > 0 && gpu_memory_utilization <= 1, InvalidArgument,
               fmt::format("gpu_memory_utilization is {}; expected a fraction in (0, 1]",
                           gpu_memory_utilization),
               "pass e.g. 0.9 for 90% of the GPU's memory");
  Device::parse(device);
  PAGODA_CHECK(!num_kv_blocks || *num_kv_blocks >= 2, InvalidArgument,
               fmt::format("num_kv_blocks is {}; expected at least 2 (one is reserved)",
                           num_kv_blocks.value_or(0)),
               "leave it unset to size the pool from memory");
  PAGODA_CHECK(max_num_batched_tokens > 0, InvalidArgument,
               fmt::format("max_num_batched_tokens is {}; expected > 0", max_num_batched_tokens),
               "use e.g. 2048");
  PAGODA_CHECK(max_num_seqs > 0, InvalidArgument,
               fmt::format("max_num_seqs is {}; expected > 0", max_num_seqs), "use e.g. 256");
  PAGODA_CHECK(long_prefill_token_threshold >= 0, InvalidArgument,
               fmt::format("long_prefill_token_threshold is {}; expected >= 0 (0: no limit)",
                           long_prefill_token_threshold),
               "pass 0 or a token count");
  PAGODA_CHECK(tensor_parallel_size >= 1 && tensor_parallel_size <= 1024, InvalidArgument,
               fmt::format("tensor_parallel_size is {}; expected 1 to 1024", tensor_parallel_size),
               "pass the number of ranks to split each layer over, e.g. 2");
  PAGODA_CHECK(pipeline_parallel_size >= 1 && pipeline_parallel_size <= 1024, InvalidArgument,
               fmt::format("pipeline_parallel_size is {}; expected 1 to 1024", pipeline_parallel_size),
               "pass the number of pipeline stages, e.g. 2");
  PAGODA_CHECK(distributed_executor_backend.empty() || distributed_executor_backend == "mp" ||
                   distributed_executor_backend == "mpi",
               InvalidArgument,
               fmt::format("distributed_executor_backend is '{}'; expected 'mp' or 'mpi'",
                           distributed_executor_backend),
               "'mp' starts one process per rank on this host, 'mpi' runs under mpirun");
  PAGODA_CHECK(load_format == "auto" || load_format == "dummy", InvalidArgument,
               fmt::format("load_format is '{}'; expected 'auto' or 'dummy'", load_format),
               "'auto' loads the safetensors checkpoint, 'dummy' makes random weights");
  PAGODA_CHECK(
      generation_config == "auto" || generation_config == "vllm", InvalidArgument,
      fmt::format("generation_config is '{}'; expected 'auto' or 'vllm'", generation_config),
      "'auto' uses the model's generation_config.json defaults, 'vllm' ignores them");
}

}  // namespace pagoda
