#include "engine/step_protocol.h"

#include <fmt/format.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>

#include "pagoda/error.h"

namespace pagoda::engine {

void send_message(Communicator& world, const Message& message) {
  int64_t header[3] = {static_cast<int64_t>(message.kind), message.a, message.b};
  Tensor t = Tensor::from_blob(header, {3}, DType::I64);
  world.broadcast(t, 0);
}

Message receive_message(Communicator& world) {
  int64_t header[3] = {0, 0, 0};
  Tensor t = Tensor::from_blob(header, {3}, DType::I64);
  world.broadcast(t, 0);
  PAGODA_CHECK(header[0] >= static_cast<int64_t>(MessageKind::Start) &&
                   header[0] <= static_cast<int64_t>(MessageKind::Shutdown),
               Internal, fmt::format("rank 0 sent an unknown message kind {}", header[0]),
               "every rank must run the same Pagoda build");
  return {static_cast<MessageKind>(header[0]), header[1], header[2]};
}

std::string encode_worker_args(const EngineArgs& args) {
  nlohmann::json j;
  j["model"] = args.model;
  j["dtype"] = args.dtype;
  j["hf_overrides"] = args.hf_overrides;
  j["load_format"] = args.load_format;
  j["device"] = args.device;
  j["seed"] = args.seed;
  j["max_model_len"] = args.max_model_len ? nlohmann::json(*args.max_model_len) : nlohmann::json();
  j["tensor_parallel_size"] = args.tensor_parallel_size;
  j["pipeline_parallel_size"] = args.pipeline_parallel_size;
  return j.dump();
}

EngineArgs decode_worker_args(const std::string& payload, EngineArgs base) {
  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  PAGODA_CHECK(j.is_object(), Internal, "rank 0 sent engine arguments that are not a JSON object",
               "every rank must run the same Pagoda build");
  try {
    base.model = j.at("model").get<std::string>();
    base.dtype = j.at("dtype").get<std::string>();
    base.hf_overrides = j.at("hf_overrides").get<std::string>();
    base.load_format = j.at("load_format").get<std::string>();
    base.device = j.at("device").get<std::string>();
    base.seed = j.at("seed").get<uint64_t>();
    base.max_model_len = j.at("max_model_len").is_null()
                             ? std::nullopt
                             : std::optional<int64_t>(j.at("max_model_len").get<int64_t>());
    const auto tp = j.at("tensor_parallel_size").get<int64_t>();
    const auto pp = j.at("pipeline_parallel_size").get<int64_t>();
    PAGODA_CHECK(
        tp == base.tensor_parallel_size && pp == base.pipeline_parallel_size, InvalidArgument,
        fmt::format(
            "rank 0 runs tensor_parallel_size {} x pipeline_parallel_size {}, this rank {} x {}",
            tp, pp, base.tensor_parallel_size, base.pipeline_parallel_size),
        "give every rank the same parallel sizes");
  } catch (const nlohmann::json::exception& e) {
    throw Error(ErrorCode::Internal,
                fmt::format("rank 0 sent incomplete engine arguments: {}", e.what()),
                "every rank must run the same Pagoda build");
  }
  return base;
}

std::string encode_error(const Error& error) {
  return nlohmann::json{
      {"code", static_cast<int>(error.code())}, {"problem", error.problem()}, {"fix", error.fix()}}
      .dump();
}

Error decode_error(const std::string& payload, const std::string& prefix) {
  const nlohmann::json j = nlohmann::json::parse(payload, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object() || !j.contains("code") || !j.contains("problem") || !j.contains("fix"))
    return Error(ErrorCode::Internal, prefix + "an error arrived garbled",
                 "every rank must run the same Pagoda build");
  return Error(static_cast<ErrorCode>(j["code"].get<int>()),
               prefix + j["problem"].get<std::string>(), j["fix"].get<std::string>());
}

std::string model_fingerprint(const ModelConfig& c, const std::string& model_dir) {
  std::ifstream in(std::filesystem::path(model_dir) / "config.json", std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return fmt::format(
      "{} with {} layers, hidden {}, {} heads, {} KV heads, vocabulary {}, {} (config.json hash "
      "{:016x})",
      c.architectures.empty() ? std::string("?") : c.architectures[0], c.num_hidden_layers,
      c.hidden_size, c.num_attention_heads, c.num_kv_heads, c.vocab_size, dtype_name(c.dtype),
      std::hash<std::string>{}(bytes.str()));
}

void agree_on_model(Communicator& world, const std::string& fingerprint) {
  std::string rank0 = fingerprint;
  broadcast_bytes(world, rank0, 0);
  std::optional<Error> mismatch;
  if (rank0 != fingerprint)
    mismatch = Error(ErrorCode::InvalidArgument,
                     fmt::format("this rank loaded {}, but rank 0 loaded {}", fingerprint, rank0),
                     "give every host the same model files at the same path");
  agree_on_startup(world, mismatch ? &*mismatch : nullptr);
}

void agree_on_startup(Communicator& world, const Error* error) {
  const std::vector<int64_t> failed = all_gather_values(world, error == nullptr ? 0 : 1);
  int first = -1;
  for (size_t r = 0; r < failed.size() && first < 0; ++r)
    if (failed[r] != 0) first = static_cast<int>(r);
  if (first < 0) return;
  std::string payload = world.rank() == first ? encode_error(*error) : std::string();
  broadcast_bytes(world, payload, first);
  throw decode_error(payload, world.size() > 1 ? fmt::format("rank {}: ", first) : std::string());
}

}  // namespace pagoda::engine
