// Collectives over NCCL on CUDA tensors. f32, bf16 and f16 are reduced by NCCL in their own type;
// gathers along a dimension other than 0 land in a staging buffer first and are then copied into
// the output's column blocks with one 2-D copy per rank.
#include "distributed/nccl_communicator.h"

#include <fmt/format.h>
#include <nccl.h>

#include <cstring>
#include <string>

#include "ops/cuda/cuda_runtime.h"
#include "pagoda/error.h"

namespace pagoda::distributed {
namespace {

void check_nccl(ncclResult_t result, const char* what) {
  if (result == ncclSuccess) return;
  throw Error(ErrorCode::Internal,
              fmt::format("NCCL {} failed: {}", what, ncclGetErrorString(result)),
              "check NCCL_DEBUG=WARN output; every rank needs its own GPU and the same model");
}

ncclDataType_t nccl_type(DType dtype) {
  switch (dtype) {
    case DType::F32:
      return ncclFloat32;
    case DType::BF16:
      return ncclBfloat16;
    case DType::F16:
      return ncclFloat16;
    case DType::I64:
      return ncclInt64;
    case DType::I32:
      return ncclInt32;
    case DType::U8:
      return ncclUint8;
    case DType::I8:
      return ncclInt8;
    default:
      throw Error(ErrorCode::Unsupported,
                  fmt::format("NCCL cannot move {} tensors", dtype_name(dtype)),
                  "communicate f32, bf16, f16 or integer tensors");
  }
}

class NcclCommunicator final : public Communicator {
 public:
  NcclCommunicator(ncclComm_t comm, int rank, int size, Device device)
      : comm_(comm), rank_(rank), size_(size), device_(device) {}
  ~NcclCommunicator() override { ncclCommDestroy(comm_); }
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(Tensor& tensor) override {
    check_tensor("all_reduce_sum", tensor);
    PAGODA_CHECK(tensor.dtype() == DType::F32 || tensor.dtype() == DType::BF16 ||
                     tensor.dtype() == DType::F16,
                 InvalidArgument,
                 fmt::format("all_reduce_sum of a {} tensor", dtype_name(tensor.dtype())),
                 "all-reduce f32, bf16 or f16 tensors");
    void* data = tensor.mutable_data();
    check_nccl(ncclAllReduce(data, data, static_cast<size_t>(tensor.numel()),
                             nccl_type(tensor.dtype()), ncclSum, comm_, stream()),
               "AllReduce");
  }

  void all_gather(const Tensor& input, Tensor& output, int dim) override {
    check_tensor("all_gather", input);
    const int d = check_gather_output("all_gather", input, output, dim);
    const bool direct = d == 0;
    Tensor stacked =
        direct ? output : Tensor::empty({size_ * input.numel()}, input.dtype(), device_);
    check_nccl(
        ncclAllGather(input.data(), stacked.mutable_data(), static_cast<size_t>(input.numel()),
                      nccl_type(input.dtype()), comm_, stream()),
        "AllGather");
    if (!direct) unstack(stacked, input, output, d);
  }

  void gather(const Tensor& input, Tensor& output, int dim, int root) override {
    check_tensor("gather", input);
    check_peer("gather", root);
    const int d = rank_ == root ? check_gather_output("gather", input, output, dim) : 0;
    Tensor stacked =
        rank_ == root ? Tensor::empty({size_ * input.numel()}, input.dtype(), device_) : Tensor();
    const size_t count = static_cast<size_t>(input.numel());
    const ncclDataType_t type = nccl_type(input.dtype());
    // NCCL has no gather: the root receives from every rank inside one group call.
    check_nccl(ncclGroupStart(), "GroupStart");
    if (rank_ == root)
      for (int r = 0; r < size_; ++r)
        check_nccl(ncclRecv(static_cast<char*>(stacked.mutable_data()) + r * input.nbytes(), count,
                            type, r, comm_, stream()),
                   "Recv");
    check_nccl(ncclSend(input.data(), count, type, root, comm_, stream()), "Send");
    check_nccl(ncclGroupEnd(), "GroupEnd");
    if (rank_ == root) unstack(stacked, input, output, d);
  }

  void broadcast(Tensor& tensor, int root) override {
    check_tensor("broadcast", tensor);
    check_peer("broadcast", root);
    void* data = rank_ == root ? const_cast<void*>(tensor.data()) : tensor.mutable_data();
    check_nccl(ncclBroadcast(data, data, static_cast<size_t>(tensor.numel()),
                             nccl_type(tensor.dtype()), root, comm_, stream()),
               "Broadcast");
  }

  void send(const Tensor& tensor, int dst) override {
    check_tensor("send", tensor);
    check_peer("send", dst);
    check_nccl(ncclSend(tensor.data(), static_cast<size_t>(tensor.numel()),
                        nccl_type(tensor.dtype()), dst, comm_, stream()),
               "Send");
  }

  void recv(Tensor& tensor, int src) override {
    check_tensor("recv", tensor);
    check_peer("recv", src);
    check_nccl(ncclRecv(tensor.mutable_data(), static_cast<size_t>(tensor.numel()),
                        nccl_type(tensor.dtype()), src, comm_, stream()),
               "Recv");
  }

  void barrier() override {
    // A one-element all-reduce, then the host waits for it: every rank has arrived.
    Tensor one = Tensor::empty({1}, DType::F32, device_);
    check_nccl(
        ncclAllReduce(one.data(), one.mutable_data(), 1, ncclFloat32, ncclSum, comm_, stream()),
        "AllReduce");
    cuda::synchronize(device_);
  }

 private:
  cudaStream_t stream() const { return cuda::use_device(device_); }

  void check_tensor(const char* op, const Tensor& t) const {
    PAGODA_CHECK(t.defined() && t.is_contiguous() && t.device() == device_, InvalidArgument,
                 fmt::format("NCCL {} of {}: needs a contiguous tensor on {}", op,
                             t.defined() ? t.to_string() + " on " + t.device().to_string()
                                         : std::string("undefined"),
                             device_.to_string()),
                 "move the tensor to this rank's GPU and make it contiguous");
  }
  void check_peer(const char* op, int peer) const {
    PAGODA_CHECK(peer >= 0 && peer < size_, InvalidArgument,
                 fmt::format("NCCL {} names rank {} in a group of {}", op, peer, size_),
                 "name a rank of the group");
  }
  int check_gather_output(const char* op, const Tensor& input, const Tensor& output,
                          int dim) const {
    const int d = dim < 0 ? dim + input.dim() : dim;
    PAGODA_CHECK(
        d >= 0 && d < input.dim(), InvalidArgument,
        fmt::format("NCCL {} along dimension {} of a rank-{} tensor", op, dim, input.dim()),
        "gather along an existing dimension");
    Shape expected = input.shape();
    expected[d] *= size_;
    PAGODA_CHECK(output.defined() && output.shape() == expected &&
                     output.dtype() == input.dtype() && output.device() == device_,
                 InvalidArgument,
                 fmt::format("NCCL {}: output is {} but {} of {} on {} is needed", op,
                             output.defined() ? output.to_string() : std::string("undefined"),
                             expected.to_string(), dtype_name(input.dtype()), device_.to_string()),
                 "size the output as the input times the group size along the gather dimension");
    // Each rank's block is [outer, part * inner] with the output's row pitch: one 2-D copy.
    PAGODA_CHECK(output.is_contiguous(), Unsupported,
                 fmt::format("NCCL {} along dimension {} into a strided output", op, d),
                 "gather into a contiguous output");
    return d;
  }
  // Copies rank blocks [size, input...] into the output along dimension d (contiguous output).
  void unstack(const Tensor& stacked, const Tensor& input, Tensor& output, int d) const {
    int64_t outer = 1, inner = 1;
    for (int i = 0; i < d; ++i) outer *= input.size(i);
    for (int i = d + 1; i < input.dim(); ++i) inner *= input.size(i);
    const size_t item = input.itemsize();
    const size_t block_row = static_cast<size_t>(input.size(d) * inner) * item;  // one rank's row
    const size_t out_row = block_row * static_cast<size_t>(size_);
    for (int r = 0; r < size_; ++r)
      cuda::check(cudaMemcpy2DAsync(
                      static_cast<char*>(output.mutable_data()) + r * block_row, out_row,
                      static_cast<const char*>(stacked.data()) + r * input.nbytes(), block_row,
                      block_row, static_cast<size_t>(outer), cudaMemcpyDeviceToDevice, stream()),
                  "cudaMemcpy2DAsync (gather)");
  }

  ncclComm_t comm_;
  int rank_, size_;
  Device device_;
};

}  // namespace

std::string nccl_unique_id() {
  ncclUniqueId id{};
  check_nccl(ncclGetUniqueId(&id), "GetUniqueId");
  return std::string(reinterpret_cast<const char*>(&id), sizeof id);
}

std::unique_ptr<Communicator> make_nccl_communicator(const std::string& unique_id, int rank, int size,
                                                     Device device) {
  PAGODA_CHECK(device.is_cuda(), InvalidArgument, fmt::format("a NCCL communicator on {}", device.to_string()),
               "give each rank a CUDA device");
  ncclUniqueId id{};
  PAGODA_CHECK(unique_id.size() == sizeof id, InvalidArgument,
               fmt::format("a NCCL unique id of {} bytes; NCCL's are {}", unique_id.size(), sizeof id),
               "pass the bytes nccl_unique_id() returned");
  std::memcpy(&id, unique_id.data(), sizeof id);
  cuda::use_device(device);
  ncclComm_t comm = nullptr;
  check_nccl(ncclCommInitRank(&comm, size, id, rank), "CommInitRank");
  return std::make_unique<NcclCommunicator>(comm, rank, size, device);
}

std::unique_ptr<Communicator> make_nccl_communicator(Communicator& bootstrap, Device device) {
  std::string id = bootstrap.rank() == 0 ? nccl_unique_id() : std::string();
  broadcast_bytes(bootstrap, id, 0);
  return make_nccl_communicator(id, bootstrap.rank(), bootstrap.size(), device);
}

}  // namespace pagoda::distributed
