// What the tensor- and pipeline-parallel engine tests share, whether the ranks are threads of one
// process (parallel_engine_test.cpp) or processes under mpirun (mpi_engine_test.cpp): the
// transformers fixtures of every registered architecture, the engine arguments, and one greedy
// run, which world rank 0 drives while the other ranks serve it with run_engine_worker().
#pragma once

#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "pagoda/distributed.h"
#include "pagoda/engine.h"
#include "pagoda/safetensors.h"

namespace pagoda::testing {

struct ParallelFixture {
  std::string name;          // tests/fixtures/hf/<name>
  std::string architecture;  // what its config.json resolves to
};

// Every registered architecture with a transformers fixture.
inline std::vector<ParallelFixture> parallel_fixtures() {
  return {
      {"llama", "LlamaForCausalLM"}, {"qwen2", "Qwen2ForCausalLM"}, {"qwen3", "Qwen3ForCausalLM"}};
}

// PAGODA_SOURCE_DIR names the checkout where the tests run elsewhere than they were built (the
// GPU machine).
inline std::filesystem::path hf_fixture_dir(const std::string& name) {
  const char* source = std::getenv("PAGODA_SOURCE_DIR");
  const std::filesystem::path fixtures = source ? std::filesystem::path(source) / "tests/fixtures"
                                                : std::filesystem::path(PAGODA_FIXTURES_DIR);
  return fixtures / "hf" / name;
}

// The fixture's four prompts.
inline std::vector<std::vector<int32_t>> fixture_prompts(const std::string& name) {
  const SafetensorsFile expected(hf_fixture_dir(name) / "expected.safetensors");
  std::vector<std::vector<int32_t>> prompts;
  for (int p = 0; p < 4; ++p) {
    const Tensor ids = expected.get("prompt." + std::to_string(p) + ".input_ids");
    prompts.emplace_back(ids.data_as<int64_t>(), ids.data_as<int64_t>() + ids.numel());
  }
  return prompts;
}

// f32 weights, token ids in and out, a small fixed KV pool with 4-token blocks (so that sequences
// span several blocks) and a token budget that chunks the prompts.
inline EngineArgs parallel_args(const std::string& name, int tp, int pp) {
  EngineArgs args;
  args.model = hf_fixture_dir(name).string();
  args.skip_tokenizer_init = true;
  args.dtype = "float32";
  args.max_model_len = 64;
  args.block_size = 4;
  args.num_kv_blocks = 128;
  args.max_num_batched_tokens = 48;
  args.tensor_parallel_size = tp;
  args.pipeline_parallel_size = pp;
  return args;
}

// Rank 0: 16 greedy tokens for every prompt, batched in one engine. Other ranks: serve the engine
// and return nothing.
inline std::vector<std::vector<int32_t>> greedy_tokens(
    const EngineArgs& args, int world_rank, const std::vector<std::vector<int32_t>>& prompts) {
  if (world_rank != 0) {
    run_engine_worker(args);
    return {};
  }
  LLM llm(args);
  SamplingParams params;
  params.temperature = 0;
  params.max_tokens = 16;
  params.ignore_eos = true;
  std::vector<Prompt> inputs;
  for (const auto& p : prompts) inputs.push_back(Prompt::from_tokens(p));
  std::vector<std::vector<int32_t>> out;
  for (const RequestOutput& r : llm.generate(inputs, {params}))
    out.push_back(r.outputs.at(0).token_ids);
  return out;
}

}  // namespace pagoda::testing
