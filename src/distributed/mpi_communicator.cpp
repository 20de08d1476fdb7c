// Collectives over MPI. Half-precision tensors are summed in f32 (MPI has no bf16 type); every
// call's return code is checked (the communicators use MPI_ERRORS_RETURN) and turned into a
// pagoda::Error with MPI's own message.
#include "distributed/mpi_communicator.h"

#include <fmt/format.h>
#include <mpi.h>

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <mutex>

#include "distributed/host_blocks.h"
#include "ops/cast.h"
#include "pagoda/error.h"

namespace pagoda::distributed {
namespace {

void check_mpi(int code, const char* what) {
  if (code == MPI_SUCCESS) return;
  char message[MPI_MAX_ERROR_STRING] = {};
  int length = 0;
  MPI_Error_string(code, message, &length);
  throw Error(ErrorCode::Internal, fmt::format("MPI {} failed: {}", what, message),
              "check that every rank runs the same model and arguments, and mpirun's own messages");
}

// Finalizes MPI at exit if this process started it (static destruction).
struct MpiLifetime {
  bool started = false;
  ~MpiLifetime() {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (started && !finalized) MPI_Finalize();
  }
};

void start_mpi() {
  static MpiLifetime lifetime;
  static std::once_flag once;
  std::call_once(once, [] {
    int initialized = 0;
    MPI_Initialized(&initialized);
    if (initialized) return;
    // The engine calls MPI from one thread at a time, but not always the thread that started it
    // (the server's engine loop), so ask for MPI_THREAD_MULTIPLE and accept SERIALIZED.
    int provided = 0;
    const int code = MPI_Init_thread(nullptr, nullptr, MPI_THREAD_MULTIPLE, &provided);
    PAGODA_CHECK(code == MPI_SUCCESS, Unsupported, "MPI could not start (MPI_Init_thread failed)",
                 "launch Pagoda with mpirun -np N, and check that Open MPI is installed "
                 "(apt install openmpi-bin)");
    lifetime.started = true;
    PAGODA_CHECK(provided >= MPI_THREAD_SERIALIZED, Unsupported,
                 fmt::format("this MPI library gives thread level {}; Pagoda needs "
                             "MPI_THREAD_SERIALIZED or better",
                             provided),
                 "use Debian's Open MPI (openmpi-bin, libopenmpi-dev)");
  });
}

// Big messages go in pieces: MPI counts are int.
constexpr int64_t kChunkBytes = int64_t{1} << 30;

template <class Fn>
void for_each_chunk(int64_t bytes, Fn&& fn) {
  for (int64_t off = 0; off < bytes; off += kChunkBytes)
    fn(off, static_cast<int>(std::min(kChunkBytes, bytes - off)));
}

void require_contiguous(const char* op, const Tensor& t) {
  PAGODA_CHECK(t.defined() && t.is_contiguous() && t.device().is_cpu(), InvalidArgument,
               fmt::format("MPI {} of {}: needs a defined, contiguous CPU tensor", op,
                           t.defined() ? t.to_string() : std::string("an undefined tensor")),
               "pass a contiguous CPU tensor (clone() a view first)");
}

class MpiCommunicator final : public Communicator {
 public:
  explicit MpiCommunicator(MPI_Comm comm) : comm_(comm) {
    check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "Comm_set_errhandler");
    check_mpi(MPI_Comm_rank(comm_, &rank_), "Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "Comm_size");
  }
  ~MpiCommunicator() override {
    int finalized = 0;
    MPI_Finalized(&finalized);
    if (!finalized) MPI_Comm_free(&comm_);
  }
  MPI_Comm comm() const { return comm_; }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(Tensor& tensor) override {
    require_contiguous("all_reduce_sum", tensor);
    if (tensor.dtype() == DType::F32) {
      reduce_f32(tensor.mutable_data_as<float>(), tensor.numel());
      return;
    }
    PAGODA_CHECK(tensor.dtype() == DType::BF16 || tensor.dtype() == DType::F16, InvalidArgument,
                 fmt::format("all_reduce_sum of a {} tensor", dtype_name(tensor.dtype())),
                 "all-reduce f32, bf16 or f16 tensors");
    Tensor wide = Tensor::empty(tensor.shape(), DType::F32);
    ops::cast(tensor, wide);
    reduce_f32(wide.mutable_data_as<float>(), wide.numel());
    ops::cast(wide, tensor);
  }

  void all_gather(const Tensor& input, Tensor& output, int dim) override {
    const int d = normalize_gather_dim("MPI all_gather", input, dim);
    check_gather_output("MPI all_gather", input, output, d, size_);
    const Tensor in = input.is_contiguous() ? input : input.clone();
    const bool direct = d == 0 && output.is_contiguous();
    Tensor stacked = direct ? output : Tensor::empty({size_ * in.numel()}, in.dtype());
    stack_blocks(in, stacked, kEveryRank);
    if (!direct) scatter_blocks(stacked, output, d, in.shape(), size_);
  }

  void gather(const Tensor& input, Tensor& output, int dim, int root) override {
    check_peer("gather", root);
    gather_blocks("MPI gather", input, output, dim, rank_ == root, size_,
                  [&](const Tensor& in, Tensor& stacked) { stack_blocks(in, stacked, root); });
  }

  void broadcast(Tensor& tensor, int root) override {
    check_peer("broadcast", root);
    require_contiguous("broadcast", tensor);
    auto* data = static_cast<char*>(rank_ == root ? const_cast<void*>(tensor.data())
                                                  : tensor.mutable_data());
    for_each_chunk(static_cast<int64_t>(tensor.nbytes()), [&](int64_t off, int count) {
      check_mpi(MPI_Bcast(data + off, count, MPI_BYTE, root, comm_), "Bcast");
    });
  }

  void send(const Tensor& tensor, int dst) override {
    check_peer("send", dst);
    const Tensor t = tensor.is_contiguous() ? tensor : tensor.clone();
    for_each_chunk(static_cast<int64_t>(t.nbytes()), [&](int64_t off, int count) {
      check_mpi(
          MPI_Send(static_cast<const char*>(t.data()) + off, count, MPI_BYTE, dst, kTag, comm_),
          "Send");
    });
  }

  void recv(Tensor& tensor, int src) override {
    check_peer("recv", src);
    require_contiguous("recv", tensor);
    auto* data = static_cast<char*>(tensor.mutable_data());
    for_each_chunk(static_cast<int64_t>(tensor.nbytes()), [&](int64_t off, int count) {
      MPI_Status status;
      check_mpi(MPI_Recv(data + off, count, MPI_BYTE, src, kTag, comm_, &status), "Recv");
      int got = 0;
      MPI_Get_count(&status, MPI_BYTE, &got);
      PAGODA_CHECK(
          got == count, Internal,
          fmt::format("MPI recv from rank {}: {} bytes arrived, {} expected", src, got, count),
          "every rank must run the same model and batch; this is a bug if they do");
    });
  }

  void barrier() override { check_mpi(MPI_Barrier(comm_), "Barrier"); }

 private:
  static constexpr int kTag = 7;
  static constexpr int kEveryRank = -1;

  // Every rank's contiguous `in`, one block per rank in rank order, into `stacked` on `root` (or
  // on every rank for kEveryRank). Gathered blocks are activations and logits, far below MPI's
  // int count limit; a larger one is refused rather than split.
  void stack_blocks(const Tensor& in, Tensor& stacked, int root) {
    PAGODA_CHECK(in.nbytes() <= static_cast<size_t>(INT_MAX), Unsupported,
                 fmt::format("MPI gather of {} ({} bytes per rank, more than MPI's int count)",
                             in.to_string(), in.nbytes()),
                 "gather fewer rows at a time");
    const int count = static_cast<int>(in.nbytes());
    void* out = stacked.defined() ? stacked.mutable_data() : nullptr;
    if (root == kEveryRank)
      check_mpi(MPI_Allgather(in.data(), count, MPI_BYTE, out, count, MPI_BYTE, comm_),
                "Allgather");
    else
      check_mpi(MPI_Gather(in.data(), count, MPI_BYTE, out, count, MPI_BYTE, root, comm_),
                "Gather");
  }

  void reduce_f32(float* data, int64_t n) {
    constexpr int64_t kChunk = INT_MAX / 2;
    for (int64_t off = 0; off < n; off += kChunk)
      check_mpi(MPI_Allreduce(MPI_IN_PLACE, data + off, static_cast<int>(std::min(kChunk, n - off)),
                              MPI_FLOAT, MPI_SUM, comm_),
                "Allreduce");
  }
  void check_peer(const char* op, int peer) const {
    PAGODA_CHECK(peer >= 0 && peer < size_, InvalidArgument,
                 fmt::format("MPI {} names rank {} in a group of {}", op, peer, size_),
                 "name a rank of the group");
  }

  MPI_Comm comm_;
  int rank_ = 0, size_ = 1;
};

}  // namespace

std::unique_ptr<Communicator> mpi_world() {
  start_mpi();
  MPI_Comm comm;
  check_mpi(MPI_Comm_dup(MPI_COMM_WORLD, &comm), "Comm_dup");
  return std::make_unique<MpiCommunicator>(comm);
}

std::unique_ptr<Communicator> mpi_split(Communicator& parent, int color, int key) {
  auto* mpi = dynamic_cast<MpiCommunicator*>(&parent);
  PAGODA_CHECK(mpi != nullptr, InvalidArgument, "mpi_split of a communicator that is not MPI's",
               "split the communicator mpi_world() returned");
  MPI_Comm comm;
  check_mpi(MPI_Comm_split(mpi->comm(), color, key, &comm), "Comm_split");
  return std::make_unique<MpiCommunicator>(comm);
}

}  // namespace pagoda::distributed
