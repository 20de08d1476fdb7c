#include <fmt/format.h>

#include "pagoda/communicator.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

void check_root(const char* op, int root) {
  PAGODA_CHECK(root == 0, InvalidArgument,
               fmt::format("{} from root {} in a group of one rank", op, root),
               "use root 0: the group has only rank 0");
}

}  // namespace

void SingleCommunicator::all_gather(const Tensor& input, Tensor& output, int /*dim*/) {
  PAGODA_CHECK(input.shape() == output.shape(), InvalidArgument,
               "all_gather in a group of one needs output of the input's shape, got " +
                   output.to_string() + " for " + input.to_string(),
               "size the output as the input times the group size along the gather dimension");
  output.copy_from(input);
}

void SingleCommunicator::gather(const Tensor& input, Tensor& output, int dim, int root) {
  check_root("gather", root);
  all_gather(input, output, dim);
}

void SingleCommunicator::broadcast(Tensor&, int root) {
  check_root("broadcast", root);
}

void SingleCommunicator::send(const Tensor&, int dst) {
  throw Error(ErrorCode::InvalidArgument,
              fmt::format("send to rank {} in a group of one rank", dst),
              "point-to-point transfers need a group of at least two ranks");
}

void SingleCommunicator::recv(Tensor&, int src) {
  throw Error(ErrorCode::InvalidArgument,
              fmt::format("recv from rank {} in a group of one rank", src),
              "point-to-point transfers need a group of at least two ranks");
}

void broadcast_bytes(Communicator& group, std::string& bytes, int root) {
  int64_t length = static_cast<int64_t>(bytes.size());
  Tensor n = Tensor::from_blob(&length, {1}, DType::I64);
  group.broadcast(n, root);
  if (group.rank() != root) bytes.resize(static_cast<size_t>(length));
  if (length == 0) return;
  Tensor payload = Tensor::from_blob(bytes.data(), {length}, DType::U8);
  group.broadcast(payload, root);
}

std::vector<int64_t> all_gather_values(Communicator& group, int64_t value) {
  std::vector<int64_t> out(static_cast<size_t>(group.size()));
  const Tensor in = Tensor::from_blob(&value, {1}, DType::I64);
  Tensor all = Tensor::from_blob(out.data(), {group.size()}, DType::I64);
  group.all_gather(in, all, 0);
  return out;
}

ParallelState ParallelState::single() {
  static SingleCommunicator single;
  return {0, 1, &single, 0, 1, &single};
}

ParallelState ParallelState::from(Communicator& tp) {
  ParallelState s = single();
  s.tp_rank = tp.rank();
  s.tp_size = tp.size();
  s.tp_group = &tp;
  return s;
}

ParallelState ParallelState::from(Communicator& tp, Communicator& pp) {
  ParallelState s = from(tp);
  s.pp_rank = pp.rank();
  s.pp_size = pp.size();
  s.pp_group = &pp;
  return s;
}

}  // namespace pagoda
