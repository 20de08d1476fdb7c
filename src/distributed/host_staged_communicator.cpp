#include "distributed/host_staged_communicator.h"

#include <fmt/format.h>

#include "pagoda/error.h"

namespace pagoda::distributed {
namespace {

void require_on(const char* op, const Tensor& t, Device device) {
  PAGODA_CHECK(t.defined() && t.device() == device, InvalidArgument,
               fmt::format("host-staged {} of {}: needs a tensor on {}", op,
                           t.defined() ? t.to_string() + " on " + t.device().to_string()
                                       : std::string("an undefined tensor"),
                           device.to_string()),
               "pass this rank's device tensors");
}

// A host tensor shaped like `t` (whose values are not needed).
Tensor host_like(const Tensor& t) {
  return Tensor::empty(t.shape(), t.dtype());
}

}  // namespace

void HostStagedCommunicator::all_reduce_sum(Tensor& tensor) {
  require_on("all_reduce_sum", tensor, device_);
  Tensor host = tensor.to(Device::cpu());
  host_.all_reduce_sum(host);
  tensor.copy_from(host);
}

void HostStagedCommunicator::all_gather(const Tensor& input, Tensor& output, int dim) {
  require_on("all_gather", input, device_);
  require_on("all_gather", output, device_);
  Tensor host = host_like(output);
  host_.all_gather(input.to(Device::cpu()), host, dim);
  output.copy_from(host);
}

void HostStagedCommunicator::gather(const Tensor& input, Tensor& output, int dim, int root) {
  require_on("gather", input, device_);
  const bool receives = rank() == root;
  if (receives) require_on("gather", output, device_);
  Tensor host = receives ? host_like(output) : Tensor();
  host_.gather(input.to(Device::cpu()), host, dim, root);
  if (receives) output.copy_from(host);
}

void HostStagedCommunicator::broadcast(Tensor& tensor, int root) {
  require_on("broadcast", tensor, device_);
  Tensor host = rank() == root ? tensor.to(Device::cpu()) : host_like(tensor);
  host_.broadcast(host, root);
  if (rank() != root) tensor.copy_from(host);
}

void HostStagedCommunicator::send(const Tensor& tensor, int dst) {
  require_on("send", tensor, device_);
  host_.send(tensor.to(Device::cpu()), dst);
}

void HostStagedCommunicator::recv(Tensor& tensor, int src) {
  require_on("recv", tensor, device_);
  Tensor host = host_like(tensor);
  host_.recv(host, src);
  tensor.copy_from(host);
}

}  // namespace pagoda::distributed
