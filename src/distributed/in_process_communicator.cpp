// Ranks as threads of one process, meeting at a shared std::barrier. Used to test tensor
// parallelism at tp = 2, 4, 8 on one machine, and to run it on one CPU host without MPI.
#include <fmt/format.h>

#include <barrier>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <map>
#include <mutex>

#include "pagoda/communicator.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

float load_as_float(const void* p, DType dtype, int64_t i) {
  switch (dtype) {
    case DType::F32:
      return static_cast<const float*>(p)[i];
    case DType::BF16:
      return static_cast<float>(static_cast<const bf16*>(p)[i]);
    case DType::F16:
      return static_cast<float>(static_cast<const f16*>(p)[i]);
    default:
      PAGODA_ASSERT(false);
  }
}

void store_float(void* p, DType dtype, int64_t i, float v) {
  switch (dtype) {
    case DType::F32:
      static_cast<float*>(p)[i] = v;
      break;
    case DType::BF16:
      static_cast<bf16*>(p)[i] = bf16(v);
      break;
    case DType::F16:
      static_cast<f16*>(p)[i] = f16(v);
      break;
    default:
      PAGODA_ASSERT(false);
  }
}

struct Group {
  explicit Group(int n)
      : size(n), sync(n), slots(static_cast<size_t>(n)), failed(static_cast<size_t>(n)) {}
  int size;
  std::barrier<> sync;
  std::vector<const Tensor*> slots;  // each rank's argument during a collective
  std::vector<char> failed;          // each rank's verdict on its own arguments
  // Point to point: tensors in flight from (src, dst), copied at send so the sender may go on.
  std::mutex mail_mutex;
  std::condition_variable mail_ready;
  std::map<std::pair<int, int>, std::deque<Tensor>> mailboxes;
};

class InProcessCommunicator final : public Communicator {
 public:
  InProcessCommunicator(std::shared_ptr<Group> group, int rank)
      : group_(std::move(group)), rank_(rank) {}
  int rank() const override { return rank_; }
  int size() const override { return group_->size; }
  void barrier() override { group_->sync.arrive_and_wait(); }

  void all_reduce_sum(Tensor& tensor) override {
    PAGODA_CHECK(tensor.dtype() == DType::F32 || tensor.dtype() == DType::BF16 ||
                     tensor.dtype() == DType::F16,
                 InvalidArgument,
                 fmt::format("all_reduce_sum of a {} tensor", dtype_name(tensor.dtype())),
                 "all-reduce f32, bf16 or f16 tensors");
    PAGODA_CHECK(tensor.is_contiguous(), InvalidArgument,
                 "all_reduce_sum of a non-contiguous tensor", "make the tensor contiguous first");
    publish(tensor);
    const std::string mismatch = shape_mismatch(tensor, "all_reduce_sum");
    // Each rank sums its own share of the elements over all ranks, in rank order, into a
    // scratch copy; after the barrier every rank copies the whole result. Summing in rank order
    // makes every rank's result bitwise identical.
    const int64_t n = tensor.numel();
    const int64_t per_rank = (n + size() - 1) / size();
    const int64_t begin = std::min(n, per_rank * rank_);
    const int64_t end = std::min(n, begin + per_rank);
    if (rank_ == 0 && mismatch.empty())
      result_ = std::make_shared<std::vector<float>>(static_cast<size_t>(n));
    // Every rank finishes reading the others' arguments before any rank throws and frees its own.
    group_->sync.arrive_and_wait();
    if (!mismatch.empty())
      throw_error(ErrorCode::InvalidArgument, mismatch,
                  "every rank must pass a tensor of the same shape and dtype");
    auto* shared = static_cast<InProcessCommunicator*>(peer(0));
    std::vector<float>& out = *shared->result_;
    for (int64_t i = begin; i < end; ++i) {
      float sum = 0.0f;
      for (int r = 0; r < size(); ++r)
        sum += load_as_float(group_->slots[r]->data(), tensor.dtype(), i);
      out[static_cast<size_t>(i)] = sum;
    }
    group_->sync.arrive_and_wait();
    void* dst = tensor.mutable_data();
    for (int64_t i = 0; i < n; ++i)
      store_float(dst, tensor.dtype(), i, out[static_cast<size_t>(i)]);
    group_->sync.arrive_and_wait();  // nobody leaves while others still read the slots
  }

  void all_gather(const Tensor& input, Tensor& output, int dim) override {
    publish(input);
    std::string problem = shape_mismatch(input, "all_gather");
    const int d = dim < 0 ? dim + input.dim() : dim;
    Shape expected = input.shape();
    if (problem.empty() && (d < 0 || d >= input.dim()))
      problem = fmt::format("all_gather along dimension {} of a rank-{} tensor", dim, input.dim());
    if (problem.empty()) {
      expected[d] *= size();
      if (!(output.shape() == expected) || output.dtype() != input.dtype())
        problem = fmt::format("all_gather output is {} but {} of {} is needed", output.to_string(),
                              expected.to_string(), dtype_name(input.dtype()));
    }
    // One rank's bad output must stop every rank, or the others would wait for it forever.
    if (any_rank_failed(!problem.empty()))
      throw_error(
          ErrorCode::InvalidArgument,
          problem.empty() ? std::string("all_gather: another rank passed a bad argument") : problem,
          "every rank passes the same shape and dtype, the output is the input times the group "
          "size along an existing gather dimension");
    const int64_t part = input.size(d);
    for (int r = 0; r < size(); ++r) {
      Tensor dst = output.slice(d, r * part, (r + 1) * part);
      dst.copy_from(*group_->slots[r]);
    }
    group_->sync.arrive_and_wait();
  }

  void gather(const Tensor& input, Tensor& output, int dim, int root) override {
    check_peer("gather", root);
    publish(input);
    std::string problem = shape_mismatch(input, "gather");
    const int d = dim < 0 ? dim + input.dim() : dim;
    if (problem.empty() && (d < 0 || d >= input.dim()))
      problem = fmt::format("gather along dimension {} of a rank-{} tensor", dim, input.dim());
    if (problem.empty() && rank_ == root) {
      Shape expected = input.shape();
      expected[d] *= size();
      if (!output.defined() || !(output.shape() == expected) || output.dtype() != input.dtype())
        problem = fmt::format("gather output is {} but {} of {} is needed",
                              output.defined() ? output.to_string() : std::string("undefined"),
                              expected.to_string(), dtype_name(input.dtype()));
    }
    if (any_rank_failed(!problem.empty()))
      throw_error(
          ErrorCode::InvalidArgument,
          problem.empty() ? std::string("gather: another rank passed a bad argument") : problem,
          "every rank passes the same shape and dtype; the root's output is the input times "
          "the group size along the gather dimension");
    if (rank_ == root) {
      const int64_t part = input.size(d);
      for (int r = 0; r < size(); ++r) {
        Tensor dst = output.slice(d, r * part, (r + 1) * part);
        dst.copy_from(*group_->slots[static_cast<size_t>(r)]);
      }
    }
    group_->sync.arrive_and_wait();
  }

  void broadcast(Tensor& tensor, int root) override {
    check_peer("broadcast", root);
    publish(tensor);
    const std::string problem = shape_mismatch(tensor, "broadcast");
    if (any_rank_failed(!problem.empty()))
      throw_error(
          ErrorCode::InvalidArgument,
          problem.empty() ? std::string("broadcast: another rank passed a bad argument") : problem,
          "every rank passes a tensor of the root's shape and dtype");
    if (rank_ != root) tensor.copy_from(*group_->slots[static_cast<size_t>(root)]);
    group_->sync.arrive_and_wait();
  }

  void send(const Tensor& tensor, int dst) override {
    check_peer("send", dst);
    PAGODA_CHECK(dst != rank_, InvalidArgument, fmt::format("rank {} sends to itself", rank_),
                 "send to another rank of the group");
    std::lock_guard lock(group_->mail_mutex);
    group_->mailboxes[{rank_, dst}].push_back(tensor.clone());
    group_->mail_ready.notify_all();
  }

  void recv(Tensor& tensor, int src) override {
    check_peer("recv", src);
    PAGODA_CHECK(src != rank_, InvalidArgument, fmt::format("rank {} receives from itself", rank_),
                 "receive from another rank of the group");
    Tensor got;
    {
      std::unique_lock lock(group_->mail_mutex);
      auto& box = group_->mailboxes[{src, rank_}];
      group_->mail_ready.wait(lock, [&] { return !box.empty(); });
      got = std::move(box.front());
      box.pop_front();
    }
    PAGODA_CHECK(got.shape() == tensor.shape() && got.dtype() == tensor.dtype(), InvalidArgument,
                 fmt::format("recv: rank {} sent {} but rank {} expected {}", src, got.to_string(),
                             rank_, tensor.to_string()),
                 "send and receive tensors of the same shape and dtype");
    tensor.copy_from(got);
  }

 private:
  void check_peer(const char* op, int peer_rank) const {
    PAGODA_CHECK(peer_rank >= 0 && peer_rank < size(), InvalidArgument,
                 fmt::format("{} names rank {} in a group of {}", op, peer_rank, size()),
                 "name a rank of the group");
  }
  // Makes this rank's argument visible to the others and waits until every rank has done so.
  void publish(const Tensor& t) {
    group_->slots[static_cast<size_t>(rank_)] = &t;
    group_->sync.arrive_and_wait();
  }
  // Shares each rank's verdict; true on every rank when any rank failed. Also a barrier: after it,
  // nobody still reads another rank's arguments, so a failing rank may throw and free them.
  bool any_rank_failed(bool mine) {
    group_->failed[static_cast<size_t>(rank_)] = mine;
    group_->sync.arrive_and_wait();
    bool any = false;
    for (char f : group_->failed) any = any || f;
    if (any) group_->sync.arrive_and_wait();  // all have read the verdicts before any moves on
    return any;
  }

  // "" when every rank passed the shape and dtype this rank did. Every rank sees the same
  // arguments, so every rank reaches the same verdict and none is left waiting at a barrier.
  std::string shape_mismatch(const Tensor& t, const char* op) {
    for (int r = 0; r < size(); ++r) {
      const Tensor* other = group_->slots[static_cast<size_t>(r)];
      if (!(other->shape() == t.shape()) || other->dtype() != t.dtype())
        return fmt::format("{}: rank {} passed {} but rank {} passed {}", op, rank_, t.to_string(),
                           r, other->to_string());
    }
    return "";
  }
  Communicator* peer(int r) { return peers_->at(static_cast<size_t>(r)); }

  friend std::vector<std::unique_ptr<Communicator>> pagoda::make_in_process_group(int);
  std::shared_ptr<Group> group_;
  int rank_;
  std::shared_ptr<std::vector<Communicator*>> peers_;
  std::shared_ptr<std::vector<float>> result_;  // rank 0's scratch, shared during all_reduce
};

}  // namespace

std::vector<std::unique_ptr<Communicator>> make_in_process_group(int size) {
  PAGODA_CHECK(size >= 1, InvalidArgument, fmt::format("an in-process group of {} ranks", size),
               "use at least one rank");
  auto group = std::make_shared<Group>(size);
  auto peers = std::make_shared<std::vector<Communicator*>>();
  std::vector<std::unique_ptr<Communicator>> out;
  for (int r = 0; r < size; ++r) {
    auto c = std::make_unique<InProcessCommunicator>(group, r);
    c->peers_ = peers;
    peers->push_back(c.get());
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace pagoda
