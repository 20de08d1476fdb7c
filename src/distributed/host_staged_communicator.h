// A communicator for device tensors over a host group: every collective copies its tensors to
// the host, runs there, and copies the result back. For GPU ranks without NCCL between them:
// several ranks sharing one GPU (NCCL refuses two ranks on one device), which is how the parallel
// GPU engine is tested on a one-GPU machine (PAGODA_DEVICE_COMMUNICATOR=host, docs/distributed.md).
// Far slower than NCCL; never chosen by default.
#pragma once

#include "pagoda/communicator.h"

namespace pagoda::distributed {

class HostStagedCommunicator final : public Communicator {
 public:
  // `host` (not owned) carries the bytes; the tensors passed in live on `device`.
  HostStagedCommunicator(Communicator& host, Device device) : host_(host), device_(device) {}
  int rank() const override { return host_.rank(); }
  int size() const override { return host_.size(); }
  void all_reduce_sum(Tensor& tensor) override;
  void all_gather(const Tensor& input, Tensor& output, int dim) override;
  void gather(const Tensor& input, Tensor& output, int dim, int root) override;
  void broadcast(Tensor& tensor, int root) override;
  void send(const Tensor& tensor, int dst) override;
  void recv(Tensor& tensor, int src) override;
  void barrier() override { host_.barrier(); }

 private:
  Communicator& host_;
  Device device_;
};

}  // namespace pagoda::distributed
