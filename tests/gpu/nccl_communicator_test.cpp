// The NCCL communicator on this machine's GPUs: the conformance checks every communicator passes
// (tests/common/communicator_conformance.h), on CUDA tensors, with one rank per process. The GPU
// machine runs it with one rank; mpirun -np N across N GPUs runs it with N (rank r on GPU r).
#include "distributed/nccl_communicator.h"

#include <gtest/gtest.h>

#include "common/communicator_conformance.h"
#include "distributed/rank_groups.h"
#include "gpu_test_util.h"

using namespace pagoda;
using pagoda::testing::have_gpu;

TEST(NcclCommunicator, PassesTheCommunicatorConformanceChecks) {
  REQUIRE_GPU();
  const LauncherInfo launcher = launcher_info();
  SingleCommunicator single;
  // Under mpirun the bootstrap is MPI's world; alone, a group of one.
  const distributed::RankGroups groups = launcher.world_size > 1
                                             ? distributed::rank_groups(launcher.world_size, 1)
                                             : distributed::RankGroups{&single, &single, &single};
  auto nccl = distributed::make_nccl_communicator(*groups.world, Device::cuda(launcher.local_rank));
  EXPECT_EQ(nccl->rank(), launcher.world_rank);
  EXPECT_EQ(nccl->size(), launcher.world_size);
  EXPECT_EQ(pagoda::testing::check_collectives(*nccl, Device::cuda(launcher.local_rank)), "");
}

TEST(NcclCommunicator, RejectsHostTensors) {
  REQUIRE_GPU();
  SingleCommunicator single;
  auto nccl = distributed::make_nccl_communicator(single, Device::cuda(0));
  Tensor host = Tensor::zeros({4}, DType::F32);
  EXPECT_THROW(nccl->all_reduce_sum(host), Error);
  Tensor bad = Tensor::empty({4}, DType::F64, Device::cuda(0));
  EXPECT_THROW(nccl->broadcast(bad, 0), Error);
}
