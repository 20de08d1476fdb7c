#include "distributed/local_ranks.h"

#include <fmt/format.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include "pagoda/error.h"
#include "pagoda/logging.h"

extern char** environ;

namespace pagoda::distributed {
namespace {

// The environment a started rank finds (launcher_info() reads the first two as well).
constexpr const char* kRankVar = "PAGODA_MP_RANK";
constexpr const char* kSizeVar = "PAGODA_MP_SIZE";
constexpr const char* kDirVar = "PAGODA_MP_DIR";
constexpr const char* kParentVar = "PAGODA_MP_PARENT";

// How long rank 0 waits at shutdown for a started rank to exit on its own.
constexpr auto kExitGrace = std::chrono::seconds(20);

// This process's arguments, as the kernel keeps them: the same command runs in every rank.
std::vector<std::string> own_arguments() {
  std::ifstream in("/proc/self/cmdline", std::ios::binary);
  const std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::vector<std::string> args;
  for (size_t start = 0; start < all.size();) {
    const size_t end = all.find('\0', start);
    args.push_back(all.substr(start, end - start));
    if (end == std::string::npos) break;
    start = end + 1;
  }
  PAGODA_CHECK(!args.empty(), Io, "could not read this process's arguments from /proc/self/cmdline",
               "run on Linux with /proc mounted, or start the ranks with mpirun");
  return args;
}

std::string describe_status(int status) {
  if (WIFEXITED(status)) return fmt::format("exit status {}", WEXITSTATUS(status));
  if (WIFSIGNALED(status))
    return fmt::format("signal {} ({})", WTERMSIG(status), strsignal(WTERMSIG(status)));
  return fmt::format("status {}", status);
}

int env_int(const char* name) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : -1;
}

}  // namespace

bool LocalRanks::is_started_rank() {
  return std::getenv(kDirVar) != nullptr && env_int(kRankVar) > 0;
}

std::shared_ptr<LocalRanks> LocalRanks::joined() {
  if (!is_started_rank()) return nullptr;
  const int rank = env_int(kRankVar), size = env_int(kSizeVar);
  PAGODA_CHECK(size > rank, Internal,
               fmt::format("{}={} but {}={}", kRankVar, rank, kSizeVar, size),
               "leave the PAGODA_MP_* variables to Pagoda");
  std::shared_ptr<LocalRanks> self(new LocalRanks(rank, size, std::getenv(kDirVar)));
  self->parent_ = static_cast<pid_t>(env_int(kParentVar));
  return self;
}

std::shared_ptr<LocalRanks> LocalRanks::start(int size) {
  PAGODA_CHECK(!is_started_rank(), Internal, "a started rank tried to start ranks of its own",
               "leave the PAGODA_MP_* variables to Pagoda");
  const std::filesystem::path tmp = std::filesystem::temp_directory_path();
  std::string pattern = (tmp / "pagoda-ranks-XXXXXX").string();
  PAGODA_CHECK(::mkdtemp(pattern.data()) != nullptr, Io,
               fmt::format("could not make a rendezvous directory under {} ({})", tmp.string(),
                           std::strerror(errno)),
               "set TMPDIR to a writable directory");
  std::shared_ptr<LocalRanks> self(new LocalRanks(0, size, pattern));

  const std::vector<std::string> args = own_arguments();
  std::vector<char*> argv;
  for (const std::string& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();
  for (int rank = 1; rank < size; ++rank) {
    // The environment is built before fork: the child may only make system calls until exec.
    std::vector<std::string> env_strings = {
        fmt::format("{}={}", kRankVar, rank), fmt::format("{}={}", kSizeVar, size),
        fmt::format("{}={}", kDirVar, pattern), fmt::format("{}={}", kParentVar, parent)};
    for (char** e = environ; *e != nullptr; ++e)
      if (std::strncmp(*e, "PAGODA_MP_", 10) != 0) env_strings.emplace_back(*e);
    std::vector<char*> envp;
    for (std::string& e : env_strings) envp.push_back(e.data());
    envp.push_back(nullptr);
    const pid_t pid = ::fork();
    PAGODA_CHECK(pid >= 0, Io,
                 fmt::format("could not start rank {} (fork: {})", rank, std::strerror(errno)),
                 "free some memory or raise the process limit");
    if (pid == 0) {
      // A rank must not outlive rank 0: the kernel stops it when rank 0 dies. (Strictly, when the
      // thread that started it ends: engines are built on a thread that outlives them.)
      ::prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (::getppid() != parent) ::_exit(127);
      ::execve("/proc/self/exe", argv.data(), envp.data());
      ::_exit(127);
    }
    self->children_.push_back(pid);
  }
  log::info("started {} more rank(s) of this engine on this host (pids {}..{})", size - 1,
            self->children_.front(), self->children_.back());
  return self;
}

void LocalRanks::check_alive() {
  if (rank_ != 0) {
    PAGODA_CHECK(::getppid() == parent_, Io,
                 fmt::format("rank {}: rank 0 (pid {}) is gone", rank_, parent_),
                 "rank 0's error says why");
    return;
  }
  for (size_t i = 0; i < children_.size(); ++i) {
    if (children_[i] < 0) continue;
    int status = 0;
    if (::waitpid(children_[i], &status, WNOHANG) == children_[i]) {
      const pid_t pid = children_[i];
      children_[i] = -1;
      throw Error(ErrorCode::Io,
                  fmt::format("rank {} (pid {}) exited with {} before the engine started", i + 1,
                              pid, describe_status(status)),
                  "its error is printed above; every rank runs the same command");
    }
  }
}

LocalRanks::~LocalRanks() {
  if (rank_ != 0) return;
  const auto deadline = std::chrono::steady_clock::now() + kExitGrace;
  for (size_t i = 0; i < children_.size(); ++i) {
    const pid_t pid = children_[i];
    if (pid < 0) continue;
    int status = 0;
    while (::waitpid(pid, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        log::warn("rank {} (pid {}) did not exit {} s after the engine stopped; stopping it", i + 1,
                  pid, kExitGrace.count());
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::error_code ignored;
  std::filesystem::remove_all(dir_, ignored);
}

}  // namespace pagoda::distributed
