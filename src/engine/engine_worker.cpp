// The loop of world ranks > 0 in a multi-process engine: build this rank's share of the model when
// rank 0 starts, then run every step it sends until it shuts down (see engine/step_protocol.h).
#include <fmt/format.h>

#include <memory>
#include <optional>

#include "distributed/rank_groups.h"
#include "engine/kv_cache_sizing.h"
#include "engine/model_worker.h"
#include "engine/step_protocol.h"
#include "pagoda/distributed.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "pagoda/model_config.h"

namespace pagoda {

void run_engine_worker(const EngineArgs& own_args) {
  using namespace engine;
  const distributed::RankGroups groups = distributed::rank_groups(
      static_cast<int>(own_args.tensor_parallel_size),
      static_cast<int>(own_args.pipeline_parallel_size), Device::parse(own_args.device),
      own_args.distributed_executor_backend);
  Communicator& world = *groups.world;
  PAGODA_CHECK(world.rank() != 0, InvalidArgument, "run_engine_worker was called on world rank 0",
               "build the engine (LLM, EngineCore, AsyncEngine) on rank 0 and call "
               "run_engine_worker on the others");

  std::unique_ptr<ModelConfig> config;
  std::unique_ptr<ModelWorker> worker;
  StepBatch batch;
  std::vector<int64_t> packed;
  while (true) {
    const Message message = receive_message(world);
    switch (message.kind) {
      case MessageKind::Abort: {
        std::string payload;
        broadcast_bytes(world, payload, 0);
        throw decode_error(payload, "rank 0 could not start the engine: ");
      }
      case MessageKind::Start: {
        std::string payload;
        broadcast_bytes(world, payload, 0);
        std::optional<Error> failure;
        EngineArgs args = own_args;
        try {
          args = decode_worker_args(payload, own_args);
          ModelConfigOptions options;
          options.dtype = args.dtype;
          options.hf_overrides = args.hf_overrides;
          options.max_model_len = args.max_model_len;
          worker.reset();
          config = std::make_unique<ModelConfig>(ModelConfig::from_model_dir(args.model, options));
          worker = std::make_unique<ModelWorker>(*config, args.model, args.seed,
                                                 args.load_format == "dummy", LoadProgress(),
                                                 groups, WorkerOptions::from(args, groups));
        } catch (const Error& e) {
          failure = e;
        }
        agree_on_startup(world, failure ? &*failure : nullptr);
        agree_on_model(world, model_fingerprint(*config, args.model));
        // The runner's cache sizing, collectively (see ModelRunner's constructor).
        all_gather_values(world, worker->kv_cache_bytes_per_token());
        all_gather_values(world, worker->sliding_window_code());
        all_gather_values(world, device_bytes_in_use(groups.device));
        break;
      }
      case MessageKind::AllocateKVCache:
        PAGODA_CHECK(worker != nullptr, Internal,
                     "rank 0 allocated a KV cache before starting the engine",
                     "every rank must run the same Pagoda build");
        worker->allocate_kv_cache(message.a, message.b);
        break;
      case MessageKind::Step: {
        PAGODA_CHECK(worker != nullptr, Internal, "rank 0 sent a step before starting the engine",
                     "every rank must run the same Pagoda build");
        packed.resize(static_cast<size_t>(message.a));
        Tensor payload = Tensor::from_blob(packed.data(), {message.a}, DType::I64);
        world.broadcast(payload, 0);
        batch.unpack(packed);
        worker->execute(batch);
        break;
      }
      case MessageKind::Shutdown:
        log::debug("rank {}: the engine on rank 0 shut down", world.rank());
        return;
    }
  }
}

}  // namespace pagoda
