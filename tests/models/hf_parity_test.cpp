// Hugging Face parity: tiny random-weight checkpoints made by transformers' own model classes
// (tools/make_hf_fixtures.py, tests/fixtures/hf) give the same fp32 logits (1e-4 relative) and
// the same 16-token greedy continuations in Pagoda, at tensor-parallel sizes 1, 2 and 4 (ranks
// run as threads of an in-process group).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "common/hf_fixtures.h"
#include "common/run_ranks.h"
#include "pagoda/layers/attention.h"
#include "pagoda/layers/parameter.h"
#include "pagoda/model_config.h"
#include "pagoda/model_registry.h"
#include "pagoda/safetensors.h"

using namespace pagoda;
using namespace pagoda::testing;

namespace {

struct ParityCase {
  std::string fixture;
  std::string architecture;
  int tp;
};

// One rank's model with everything it was built from.
struct RankModel {
  ParameterSet parameters;
  AttentionRegistry attention;
  std::unique_ptr<Model> model;
};

class HfParity : public ::testing::TestWithParam<ParityCase> {};

TEST_P(HfParity, LogitsAndGreedyTokensMatchTransformers) {
  const ParityCase& c = GetParam();
  const auto dir = hf_fixture_dir(c.fixture);
  ModelConfigOptions options;
  options.dtype = "float32";
  const ModelConfig config = ModelConfig::from_model_dir(dir, options);
  const ResolvedModel resolved = ModelRegistry::global().resolve(config.architectures);
  ASSERT_EQ(resolved.architecture, c.architecture);
  const SafetensorsCheckpoint checkpoint(dir);
  const SafetensorsFile expected(dir / "expected.safetensors");

  std::vector<std::string> failures(static_cast<size_t>(c.tp));
  std::vector<double> worst(static_cast<size_t>(c.tp), 0.0);
  pagoda::testing::run_ranks(c.tp, [&](int rank, Communicator& comm) {
    try {
      RankModel m;
      ModelInitContext ctx;
      ctx.config = &config;
      ctx.parallel = ParallelState::from(comm);
      ctx.parameters = &m.parameters;
      ctx.attention = &m.attention;
      ctx.dtype = DType::F32;
      m.model = resolved.factory(ctx);
      CheckpointWeights weights(checkpoint);
      m.model->load_weights(weights);
      for (int p = 0; p < 4; ++p) {
        const std::string key = "prompt." + std::to_string(p);
        const Tensor ids = expected.get(key + ".input_ids").clone();
        const double err = relative_error(run_logits(*m.model, ids), expected.get(key + ".logits"));
        worst[static_cast<size_t>(rank)] = std::max(worst[static_cast<size_t>(rank)], err);
        if (err > 1e-4)
          failures[static_cast<size_t>(rank)] +=
              key + ": logits relative error " + std::to_string(err) + "\n";
        // Greedy: append the argmax of the last position, re-running the whole sequence.
        const Tensor want = expected.get(key + ".greedy");
        std::vector<int64_t> seq(ids.data_as<int64_t>(), ids.data_as<int64_t>() + ids.numel());
        for (int64_t step = 0; step < want.numel(); ++step) {
          Tensor cur =
              Tensor::from_blob(seq.data(), {static_cast<int64_t>(seq.size())}, DType::I64);
          const Tensor logits = run_logits(*m.model, cur);
          const int64_t next = argmax_row(logits, logits.size(0) - 1);
          if (next != want.data_as<int64_t>()[step]) {
            failures[static_cast<size_t>(rank)] +=
                key + ": greedy token " + std::to_string(step) + " is " + std::to_string(next) +
                ", transformers gave " + std::to_string(want.data_as<int64_t>()[step]) + "\n";
            break;
          }
          seq.push_back(next);
        }
      }
    } catch (const std::exception& e) {
      failures[static_cast<size_t>(rank)] += std::string("exception: ") + e.what() + "\n";
    }
  });
  std::printf("%s tp=%d: worst logits relative error %.3g (bound 1e-4)\n", c.fixture.c_str(), c.tp,
              *std::max_element(worst.begin(), worst.end()));
  for (int rank = 0; rank < c.tp; ++rank)
    EXPECT_TRUE(failures[static_cast<size_t>(rank)].empty()) << "rank " << rank << ":\n"
                                                             << failures[static_cast<size_t>(rank)];
}

std::vector<ParityCase> cases() {
  std::vector<ParityCase> out;
  for (int tp : {1, 2, 4}) {
    out.push_back({"llama", "LlamaForCausalLM", tp});
    out.push_back({"qwen2", "Qwen2ForCausalLM", tp});
    out.push_back({"qwen3", "Qwen3ForCausalLM", tp});
  }
  return out;
}

INSTANTIATE_TEST_SUITE_P(Fixtures, HfParity, ::testing::ValuesIn(cases()), [](const auto& info) {
  return info.param.fixture + "_tp" + std::to_string(info.param.tp);
});

}  // namespace
