// How rank 0 of a multi-process engine drives the other ranks: every message is a broadcast over
// the world group, a three-number header (kind, two arguments) followed, for some kinds, by a
// payload. The other ranks loop on receive_message() in run_engine_worker().
//
//   Start            payload: the engine arguments the workers need (JSON)
//   Abort            payload: why rank 0 could not start; the workers fail with it
//   AllocateKVCache  a = number of blocks, b = block size
//   Step             a = length of the packed StepBatch that follows
//   Shutdown         rank 0's engine is gone; the workers return
//
// Start-up failures are agreed on (agree_on_startup) so that every rank fails together with the
// failing rank's message instead of waiting for a peer that has already given up.
#pragma once

#include <cstdint>
#include <string>

#include "pagoda/communicator.h"
#include "pagoda/engine_args.h"
#include "pagoda/error.h"
#include "pagoda/model_config.h"

namespace pagoda::engine {

enum class MessageKind : int64_t {
  Start = 1,
  Abort = 2,
  AllocateKVCache = 3,
  Step = 4,
  Shutdown = 5
};

struct Message {
  MessageKind kind = MessageKind::Shutdown;
  int64_t a = 0, b = 0;
};

// Rank 0: sends `message` to every rank.
void send_message(Communicator& world, const Message& message);
// Ranks > 0: the next message from rank 0.
Message receive_message(Communicator& world);

// The engine arguments workers take from rank 0 (model, dtype, overrides, load format, seed,
// context length), as the Start payload.
std::string encode_worker_args(const EngineArgs& args);
// Those arguments over `base` (the worker's own, for its parallel sizes).
EngineArgs decode_worker_args(const std::string& payload, EngineArgs base);

// Collective over the world: every rank passes its own start-up error (nullptr for none). When
// any rank failed, every rank throws the first failing rank's pagoda::Error (its code, problem
// prefixed with the rank, and fix).
void agree_on_startup(Communicator& world, const Error* error);

// What a rank loaded, for agree_on_model: the architecture, the shapes that decide the split, the
// dtype and a hash of config.json's bytes.
std::string model_fingerprint(const ModelConfig& config, const std::string& model_dir);
// Collective over the world: every rank must have loaded the model rank 0 did (the same path may
// hold different files on different hosts). Throws pagoda::Error on every rank otherwise.
void agree_on_model(Communicator& world, const std::string& fingerprint);

// Rank 0's Abort message: encodes an error for the wire, and back.
std::string encode_error(const Error& error);
Error decode_error(const std::string& payload, const std::string& prefix);

}  // namespace pagoda::engine
