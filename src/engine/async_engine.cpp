#include "pagoda/async_engine.h"

#include <chrono>

#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda {

std::optional<RequestOutput> RequestStream::next() {
  std::unique_lock lock(mutex_);
  ready_.wait(lock, [&] { return !queue_.empty() || error_ || finished_; });
  if (!queue_.empty()) {
    RequestOutput out = std::move(queue_.front());
    queue_.pop_front();
    if (queue_.empty() && finished_) drained_ = true;
    return out;
  }
  if (error_) std::rethrow_exception(error_);
  drained_ = true;
  return std::nullopt;
}

bool RequestStream::wait_for(double seconds) {
  std::unique_lock lock(mutex_);
  return ready_.wait_for(lock, std::chrono::duration<double>(seconds), [&] {
    return !queue_.empty() || error_ || finished_;
  });
}

void RequestStream::push(RequestOutput output) {
  std::lock_guard lock(mutex_);
  if (output.finished) finished_ = true;
  queue_.push_back(std::move(output));
  ready_.notify_all();
}

void RequestStream::fail(std::exception_ptr error) {
  std::lock_guard lock(mutex_);
  error_ = std::move(error);
  finished_ = true;
  ready_.notify_all();
}

AsyncEngine::AsyncEngine(const EngineArgs& args)
    : core_(std::make_unique<EngineCore>(args)), stats_(core_->stats()), thread_([this] { loop(); }) {}

EngineStats AsyncEngine::stats() const {
  std::lock_guard lock(mutex_);
  return stats_;
}

size_t AsyncEngine::num_live_requests() const {
  std::lock_guard lock(mutex_);
  return streams_.size();
}

bool AsyncEngine::wait_until_idle(double timeout_seconds) {
  std::unique_lock lock(mutex_);
  return idle_.wait_for(lock, std::chrono::duration<double>(timeout_seconds),
                        [&] { return streams_.empty(); });
}

AsyncEngine::~AsyncEngine() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    work_.notify_all();
  }
  thread_.join();
}

std::shared_ptr<RequestStream> AsyncEngine::generate(EngineRequest request) {
  auto stream = std::make_shared<RequestStream>(request.request_id);
  std::lock_guard lock(mutex_);
  // Validation throws before anything is registered; the stream exists before the loop can
  // produce an output for it.
  core_->add_request(std::move(request));
  streams_[stream->request_id()] = stream;
  work_.notify_all();
  return stream;
}

void AsyncEngine::abort(const std::string& request_id) {
  core_->abort_request(request_id);
  std::lock_guard lock(mutex_);
  work_.notify_all();
}

void AsyncEngine::loop() {
  while (true) {
    {
      std::unique_lock lock(mutex_);
      work_.wait(lock, [&] { return stopping_ || core_->has_unfinished_requests(); });
      if (stopping_) break;
    }
    std::vector<RequestOutput> outputs;
    try {
      outputs = core_->step();
    } catch (...) {
      // A failed step (a bug, or memory) must not hang the clients: every live request ends
      // with the error, and the engine goes on with the next ones.
      log::error("engine step failed; ending the running requests");
      const std::exception_ptr error = std::current_exception();
      std::lock_guard lock(mutex_);
      for (auto& [id, stream] : streams_) {
        core_->abort_request(id);
        stream->fail(error);
      }
      streams_.clear();
      idle_.notify_all();
      continue;
    }
    std::lock_guard lock(mutex_);
    for (RequestOutput& out : outputs) {
      auto it = streams_.find(out.request_id);
      if (it == streams_.end()) continue;
      const bool finished = out.finished;
      it->second->push(std::move(out));
      if (finished) streams_.erase(it);
    }
    stats_ = core_->stats();
    if (streams_.empty()) idle_.notify_all();
  }
  // Shutting down: wake every reader.
  std::lock_guard lock(mutex_);
  for (auto& [id, stream] : streams_)
    stream->fail(std::make_exception_ptr(
        Error(ErrorCode::Internal, "the engine shut down before request '" + id + "' finished",
              "keep the AsyncEngine alive until its streams are read")));
  streams_.clear();
  idle_.notify_all();
}

}  // namespace pagoda
