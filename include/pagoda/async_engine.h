// An engine loop on its own thread, for servers: any thread submits a request and reads its
// outputs from a stream, while the loop thread steps the EngineCore (vLLM's AsyncLLM, in-process).
#pragma once

#include <condition_variable>
#include <deque>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "pagoda/engine.h"

namespace pagoda {

// The outputs of one request, in order. Written by the engine loop, read by one consumer thread.
class RequestStream {
 public:
  explicit RequestStream(std::string request_id) : request_id_(std::move(request_id)) {}

  // The next delta output, blocking until one arrives; nullopt once the final output was read.
  // Rethrows an error the engine hit while running this request (the request is then gone).
  std::optional<RequestOutput> next();
  const std::string& request_id() const { return request_id_; }
  // Waits up to `seconds` for next() to have something (an output, an error or the end) and
  // says whether it has; next() then does not block.
  bool wait_for(double seconds);

  // Engine side.
  void push(RequestOutput output);
  void fail(std::exception_ptr error);

 private:
  std::string request_id_;
  std::mutex mutex_;
  std::condition_variable ready_;
  std::deque<RequestOutput> queue_;
  std::exception_ptr error_;
  bool finished_ = false;  // the final output was queued
  bool drained_ = false;   // ... and read
};

class AsyncEngine {
 public:
  // Builds the EngineCore (loading the model) and starts the loop thread.
  explicit AsyncEngine(const EngineArgs& args);
  // Aborts what is running and joins the loop thread.
  ~AsyncEngine();
  AsyncEngine(const AsyncEngine&) = delete;
  AsyncEngine& operator=(const AsyncEngine&) = delete;

  // Validates and queues the request (a bad request throws pagoda::Error here, on the caller's
  // thread, and touches nothing else); its outputs arrive on the returned stream.
  std::shared_ptr<RequestStream> generate(EngineRequest request);
  // Ends a request wherever it is; its stream gets a final output with finish_reason "abort".
  void abort(const std::string& request_id);

  // The core, for read-only queries (model config, tokenizer, default sampling params). Its
  // stats() is not safe to call while the loop steps: use stats() below.
  const EngineCore& core() const { return *core_; }

  // The engine's numbers as of the last step (taken by the loop thread; safe from any thread).
  EngineStats stats() const;
  // Requests whose final output has not been pushed yet.
  size_t num_live_requests() const;
  // Waits until no request is live or `timeout_seconds` pass; returns whether none is live.
  bool wait_until_idle(double timeout_seconds);

 private:
  void loop();

  std::unique_ptr<EngineCore> core_;
  mutable std::mutex mutex_;
  std::condition_variable work_;
  std::condition_variable idle_;
  EngineStats stats_;
  std::map<std::string, std::shared_ptr<RequestStream>> streams_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace pagoda
