// NCCL across every GPU of the machine, one process per GPU, started by the test itself (the GPU
// machines have no mpirun): the parent spawns this binary once per GPU with the child test
// selected, rank 0 writes NCCL's unique id to a shared directory and the others read it. Each
// child runs the communicator conformance checks on its GPU, then times bf16 all-reduces of
// Llama-3-8B activations ([tokens, 4096]), the per-layer cost of tensor parallelism. Skips with
// fewer than two GPUs.
#include <gtest/gtest.h>
#include <spawn.h>
#include <sys/wait.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "common/communicator_conformance.h"
#include "distributed/nccl_communicator.h"
#include "gpu_test_util.h"
#include "ops/cuda/cuda_runtime.h"

extern char** environ;

using namespace pagoda;

namespace {

// Counted without touching CUDA: a process that has initialised CUDA must not fork GPU children.
int gpu_count() {
  std::error_code ec;
  int n = 0;
  for (const auto& entry : std::filesystem::directory_iterator("/proc/driver/nvidia/gpus", ec)) {
    (void)entry;
    ++n;
  }
  return n;
}

int env_or(const char* name, int fallback) {
  const char* v = std::getenv(name);
  return v != nullptr ? std::atoi(v) : fallback;
}

std::string read_id(const std::filesystem::path& file) {
  for (int i = 0; i < 600 && !std::filesystem::exists(file); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  std::ifstream in(file, std::ios::binary);
  std::stringstream bytes;
  bytes << in.rdbuf();
  return bytes.str();
}

}  // namespace

TEST(NcclMultiGpu, ConformanceAndAllReduceTimeAcrossEveryGpu) {
  if (std::getenv("PAGODA_NCCL_CHILD_RANK") != nullptr) GTEST_SKIP() << "a child process";
  const int n = gpu_count();
  if (n < 2) GTEST_SKIP() << n << " GPU(s): needs at least 2";
  const std::filesystem::path dir =
      std::filesystem::temp_directory_path() / ("pagoda-nccl-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  const std::string exe = std::filesystem::read_symlink("/proc/self/exe");
  std::vector<pid_t> children;
  for (int r = 0; r < n; ++r) {
    std::vector<std::string> env_strings;
    for (char** e = environ; *e != nullptr; ++e) env_strings.emplace_back(*e);
    env_strings.push_back("PAGODA_NCCL_CHILD_RANK=" + std::to_string(r));
    env_strings.push_back("PAGODA_NCCL_CHILD_SIZE=" + std::to_string(n));
    env_strings.push_back("PAGODA_NCCL_CHILD_DIR=" + dir.string());
    std::vector<char*> envp;
    for (auto& s : env_strings) envp.push_back(s.data());
    envp.push_back(nullptr);
    std::string filter = "--gtest_filter=NcclMultiGpu.Child";
    char* argv[] = {const_cast<char*>(exe.c_str()), filter.data(), nullptr};
    pid_t pid = 0;
    ASSERT_EQ(posix_spawn(&pid, exe.c_str(), nullptr, nullptr, argv, envp.data()), 0);
    children.push_back(pid);
  }
  for (int r = 0; r < n; ++r) {
    int status = 0;
    waitpid(children[static_cast<size_t>(r)], &status, 0);
    EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "rank " << r << " failed (status " << status << ")";
  }
  std::filesystem::remove_all(dir);
}

TEST(NcclMultiGpu, Child) {
  const int rank = env_or("PAGODA_NCCL_CHILD_RANK", -1), size = env_or("PAGODA_NCCL_CHILD_SIZE", 0);
  if (rank < 0) GTEST_SKIP() << "run by NcclMultiGpu.ConformanceAndAllReduceTimeAcrossEveryGpu";
  const std::filesystem::path dir = std::getenv("PAGODA_NCCL_CHILD_DIR");
  std::string id;
  if (rank == 0) {
    id = distributed::nccl_unique_id();
    std::ofstream(dir / "id.tmp", std::ios::binary) << id;
    std::filesystem::rename(dir / "id.tmp", dir / "id");
  } else {
    id = read_id(dir / "id");
  }
  const Device device = Device::cuda(rank);
  auto nccl = distributed::make_nccl_communicator(id, rank, size, device);
  EXPECT_EQ(pagoda::testing::check_collectives(*nccl, device), "");

  for (int64_t tokens : {1, 8, 64, 256, 2048}) {
    Tensor x = Tensor::empty({tokens, 4096}, DType::BF16, device);
    x.copy_from(Tensor::zeros({tokens, 4096}, DType::BF16));
    for (int i = 0; i < 10; ++i) nccl->all_reduce_sum(x);
    cuda::synchronize(device);
    constexpr int kIters = 100;
    const auto start = std::chrono::steady_clock::now();
    for (int i = 0; i < kIters; ++i) nccl->all_reduce_sum(x);
    cuda::synchronize(device);
    const double us = std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - start).count() / kIters;
    if (rank == 0)
      std::printf("NCCL all-reduce bf16 [%ld, 4096] over %d GPUs: %.1f us (%.1f GB/s bus)\n", static_cast<long>(tokens),
                  size, us, 2.0 * (size - 1) / size * static_cast<double>(x.nbytes()) / (us * 1e3));
  }
}
