// Every pair of ranks holds one stream socket (a full mesh: one host runs a handful of ranks).
// Point-to-point calls write and read it directly. All-reduce and all-gather swap every rank's
// part with every other rank in size - 1 rounds of disjoint pairs (each swap writes and reads at
// once); gather and broadcast go through the root. No blocking pattern has two ranks writing to
// each other at once, so large tensors cannot deadlock on full socket buffers. Half types are
// summed in f32, like MPI's path, in rank order on every rank.
#include "distributed/socket_communicator.h"

#include <fmt/format.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>
#include <vector>

#include "distributed/host_blocks.h"
#include "ops/cast.h"
#include "pagoda/error.h"

namespace pagoda::distributed {
namespace {

using Clock = std::chrono::steady_clock;

// What a connecting rank says first, so the listener knows who it is and that both sides mean
// the same group.
struct Hello {
  uint32_t magic = 0x7061676f;  // "pago"
  int32_t rank = 0;
  int32_t size = 0;
};

[[noreturn]] void fail_io(const std::string& what, int peer, const std::string& group) {
  const std::string who =
      peer < 0 ? std::string("a connecting rank") : fmt::format("rank {}", peer);
  throw Error(ErrorCode::Io, fmt::format("{} of the '{}' group is gone: {}", who, group, what),
              "another rank stopped (its error is above); restart the engine");
}

class Socket {
 public:
  Socket() = default;
  explicit Socket(int fd) : fd_(fd) {}
  Socket(Socket&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  Socket& operator=(Socket&& o) noexcept {
    std::swap(fd_, o.fd_);
    return *this;
  }
  ~Socket() {
    if (fd_ >= 0) ::close(fd_);
  }
  int fd() const { return fd_; }

 private:
  int fd_ = -1;
};

sockaddr_un address_of(const std::filesystem::path& path) {
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  const std::string p = path.string();
  PAGODA_CHECK(p.size() < sizeof addr.sun_path, InvalidArgument,
               fmt::format("the rendezvous socket path {} is longer than {} bytes", p,
                           sizeof addr.sun_path - 1),
               "set TMPDIR to a shorter directory");
  std::memcpy(addr.sun_path, p.c_str(), p.size() + 1);
  return addr;
}

void write_all(int fd, const void* data, size_t bytes, int peer, const std::string& group) {
  const char* p = static_cast<const char*>(data);
  while (bytes > 0) {
    // MSG_NOSIGNAL: a peer that exited is an error here, not a SIGPIPE that kills this rank.
    const ssize_t n = ::send(fd, p, bytes, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) fail_io(fmt::format("send failed ({})", std::strerror(errno)), peer, group);
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

// poll() on one socket that first spins for a few tens of microseconds: a peer's answer in a
// tensor-parallel step usually comes that fast, and sleeping until the kernel wakes this thread
// costs more than the wait (MPI's shared-memory transport spins the same way). Returns revents.
short wait_ready(int fd, short events, int peer, const std::string& group) {
  constexpr auto kSpin = std::chrono::microseconds(50);
  const auto spin_until = Clock::now() + kSpin;
  while (true) {
    pollfd p{fd, events, 0};
    const bool spinning = Clock::now() < spin_until;
    const int ready = ::poll(&p, 1, spinning ? 0 : -1);
    if (ready > 0) return p.revents;
    if (ready < 0 && errno != EINTR)
      fail_io(fmt::format("poll failed ({})", std::strerror(errno)), peer, group);
  }
}

void read_all(int fd, void* data, size_t bytes, int peer, const std::string& group) {
  char* p = static_cast<char*>(data);
  while (bytes > 0) {
    wait_ready(fd, POLLIN, peer, group);
    const ssize_t n = ::recv(fd, p, bytes, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) fail_io("it closed its connection", peer, group);
    if (n < 0) fail_io(fmt::format("recv failed ({})", std::strerror(errno)), peer, group);
    p += n;
    bytes -= static_cast<size_t>(n);
  }
}

void require_host(const char* op, const Tensor& t) {
  PAGODA_CHECK(t.defined() && t.is_contiguous() && t.device().is_cpu(), InvalidArgument,
               fmt::format("socket {} of {}: needs a defined, contiguous CPU tensor", op,
                           t.defined() ? t.to_string() : std::string("an undefined tensor")),
               "pass a contiguous CPU tensor (clone() a view first)");
}

class SocketCommunicator final : public Communicator {
 public:
  SocketCommunicator(std::string name, int rank, int size, std::vector<Socket> peers)
      : name_(std::move(name)), rank_(rank), size_(size), peers_(std::move(peers)) {}
  int rank() const override { return rank_; }
  int size() const override { return size_; }

  void all_reduce_sum(Tensor& tensor) override {
    require_host("all_reduce_sum", tensor);
    PAGODA_CHECK(tensor.dtype() == DType::F32 || tensor.dtype() == DType::BF16 ||
                     tensor.dtype() == DType::F16,
                 InvalidArgument,
                 fmt::format("all_reduce_sum of a {} tensor", dtype_name(tensor.dtype())),
                 "all-reduce f32, bf16 or f16 tensors");
    Tensor sum = tensor;
    if (tensor.dtype() != DType::F32) {
      sum = Tensor::empty(tensor.shape(), DType::F32);
      ops::cast(tensor, sum);
    }
    // Every rank gets every rank's part and adds them in rank order, so all ranks hold the same
    // bits, whatever the group size.
    Tensor parts = Tensor::empty({size_, sum.numel()}, DType::F32);
    exchange_blocks(sum.data(), sum.nbytes(), static_cast<char*>(parts.mutable_data()));
    const int64_t n = sum.numel();
    float* acc = sum.mutable_data_as<float>();
    const float* all = parts.data_as<float>();
    std::memcpy(acc, all, static_cast<size_t>(n) * sizeof(float));
    for (int r = 1; r < size_; ++r) {
      const float* part = all + r * n;
      for (int64_t i = 0; i < n; ++i) acc[i] += part[i];
    }
    if (sum.data() != tensor.data()) ops::cast(sum, tensor);
  }

  void all_gather(const Tensor& input, Tensor& output, int dim) override {
    const int d = normalize_gather_dim("socket all_gather", input, dim);
    check_gather_output("socket all_gather", input, output, d, size_);
    const Tensor in = input.is_contiguous() ? input : input.clone();
    Tensor stacked = Tensor::empty({size_ * in.numel()}, in.dtype());
    exchange_blocks(in.data(), in.nbytes(), static_cast<char*>(stacked.mutable_data()));
    scatter_blocks(stacked, output, d, in.shape(), size_);
  }

  void gather(const Tensor& input, Tensor& output, int dim, int root) override {
    check_peer("gather", root);
    gather_blocks("socket gather", input, output, dim, rank_ == root, size_,
                  [&](const Tensor& in, Tensor& stacked) { stack_blocks(in, stacked, root); });
  }

  void broadcast(Tensor& tensor, int root) override {
    check_peer("broadcast", root);
    require_host("broadcast", tensor);
    if (rank_ == root) {
      for (int r = 0; r < size_; ++r)
        if (r != root) write_to(r, tensor.data(), tensor.nbytes());
    } else {
      read_from(root, tensor.mutable_data(), tensor.nbytes());
    }
  }

  void send(const Tensor& tensor, int dst) override {
    check_peer("send", dst);
    PAGODA_CHECK(dst != rank_, InvalidArgument, fmt::format("rank {} sends to itself", rank_),
                 "send to another rank of the group");
    const Tensor t = tensor.is_contiguous() ? tensor : tensor.clone();
    require_host("send", t);
    write_to(dst, t.data(), t.nbytes());
  }

  void recv(Tensor& tensor, int src) override {
    check_peer("recv", src);
    PAGODA_CHECK(src != rank_, InvalidArgument, fmt::format("rank {} receives from itself", rank_),
                 "receive from another rank of the group");
    require_host("recv", tensor);
    read_from(src, tensor.mutable_data(), tensor.nbytes());
  }

  void barrier() override {
    // Everyone reports to rank 0, which answers once all have.
    char token = 1;
    if (rank_ == 0) {
      for (int r = 1; r < size_; ++r) read_from(r, &token, 1);
      for (int r = 1; r < size_; ++r) write_to(r, &token, 1);
    } else {
      write_to(0, &token, 1);
      read_from(0, &token, 1);
    }
  }

 private:
  // Every rank's contiguous `in` into `stacked` (rank order) on `root`.
  void stack_blocks(const Tensor& in, Tensor& stacked, int root) {
    if (rank_ != root) {
      write_to(root, in.data(), in.nbytes());
      return;
    }
    char* out = static_cast<char*>(stacked.mutable_data());
    for (int r = 0; r < size_; ++r) {
      char* block = out + static_cast<size_t>(r) * in.nbytes();
      if (r == root)
        std::memcpy(block, in.data(), in.nbytes());
      else
        read_from(r, block, in.nbytes());
    }
  }
  // Every rank's `bytes` from `mine` into `stacked` (rank order), by direct swaps: in round r,
  // rank i swaps with rank r - i (mod size), so each round's pairs are disjoint and every pair
  // meets once. Each swap writes and reads at once, so neither side's socket buffer fills.
  void exchange_blocks(const void* mine, size_t bytes, char* stacked) {
    std::memcpy(stacked + static_cast<size_t>(rank_) * bytes, mine, bytes);
    for (int round = 0; round < size_; ++round) {
      const int peer = ((round - rank_) % size_ + size_) % size_;
      if (peer != rank_) swap_with(peer, mine, stacked + static_cast<size_t>(peer) * bytes, bytes);
    }
  }
  void swap_with(int peer, const void* out, void* in, size_t bytes) {
    const int fd = peers_[static_cast<size_t>(peer)].fd();
    const char* src = static_cast<const char*>(out);
    char* dst = static_cast<char*>(in);
    size_t sent = 0, got = 0;
    while (sent < bytes || got < bytes) {
      const short revents = wait_ready(
          fd, static_cast<short>((sent < bytes ? POLLOUT : 0) | (got < bytes ? POLLIN : 0)), peer,
          name_);
      if (sent < bytes && (revents & (POLLOUT | POLLERR | POLLHUP))) {
        const ssize_t n = ::send(fd, src + sent, bytes - sent, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          fail_io(fmt::format("send failed ({})", std::strerror(errno)), peer, name_);
        if (n > 0) sent += static_cast<size_t>(n);
      }
      if (got < bytes && (revents & (POLLIN | POLLERR | POLLHUP))) {
        const ssize_t n = ::recv(fd, dst + got, bytes - got, MSG_DONTWAIT);
        if (n == 0) fail_io("it closed its connection", peer, name_);
        if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)
          fail_io(fmt::format("recv failed ({})", std::strerror(errno)), peer, name_);
        if (n > 0) got += static_cast<size_t>(n);
      }
    }
  }
  void write_to(int peer, const void* data, size_t bytes) {
    write_all(peers_[static_cast<size_t>(peer)].fd(), data, bytes, peer, name_);
  }
  void read_from(int peer, void* data, size_t bytes) {
    read_all(peers_[static_cast<size_t>(peer)].fd(), data, bytes, peer, name_);
  }
  void check_peer(const char* op, int peer) const {
    PAGODA_CHECK(peer >= 0 && peer < size_, InvalidArgument,
                 fmt::format("socket {} names rank {} in a group of {}", op, peer, size_),
                 "name a rank of the group");
  }

  std::string name_;
  int rank_, size_;
  std::vector<Socket> peers_;  // by rank; this rank's own entry is unused
};

std::filesystem::path socket_path(const std::filesystem::path& dir, const std::string& name,
                                  int rank) {
  return dir / fmt::format("{}.{}", name, rank);
}

[[noreturn]] void rendezvous_timeout(const std::string& name, int rank,
                                     const std::vector<int>& missing,
                                     std::chrono::milliseconds timeout) {
  std::string ranks;
  for (int r : missing) ranks += (ranks.empty() ? "" : ", ") + std::to_string(r);
  throw Error(ErrorCode::Io,
              fmt::format("rank {} of the '{}' group waited {} s for rank(s) {} to connect", rank,
                          name, timeout.count() / 1000, ranks),
              "check that every rank was started with the same arguments; the missing ranks' "
              "errors say why they did not come");
}

}  // namespace

std::unique_ptr<Communicator> make_socket_communicator(const std::filesystem::path& dir,
                                                       const std::string& name, int rank, int size,
                                                       std::chrono::milliseconds timeout,
                                                       const std::function<void()>& still_waiting) {
  PAGODA_CHECK(size >= 1 && rank >= 0 && rank < size, InvalidArgument,
               fmt::format("socket group '{}': rank {} of {}", name, rank, size),
               "give a rank below the group size");
  const auto deadline = Clock::now() + timeout;
  std::vector<Socket> peers(static_cast<size_t>(size));
  const auto fail_errno = [&](const char* what) {
    throw Error(ErrorCode::Io,
                fmt::format("socket group '{}', rank {}: {} failed ({})", name, rank, what,
                            std::strerror(errno)),
                fmt::format("check that {} exists and is writable", dir.string()));
  };

  // Listen first, so that the lower ranks' connects below never wait on this one.
  Socket listener(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (listener.fd() < 0) fail_errno("socket");
  const std::filesystem::path own = socket_path(dir, name, rank);
  std::filesystem::remove(own);
  const sockaddr_un own_addr = address_of(own);
  if (::bind(listener.fd(), reinterpret_cast<const sockaddr*>(&own_addr), sizeof own_addr) != 0)
    fail_errno("bind");
  if (::listen(listener.fd(), size) != 0) fail_errno("listen");

  // Connect to every lower rank (retrying until its socket exists), then say who this is.
  for (int peer = 0; peer < rank; ++peer) {
    const sockaddr_un addr = address_of(socket_path(dir, name, peer));
    while (true) {
      Socket s(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
      if (s.fd() < 0) fail_errno("socket");
      if (::connect(s.fd(), reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
        const Hello hello{Hello{}.magic, rank, size};
        write_all(s.fd(), &hello, sizeof hello, peer, name);
        peers[static_cast<size_t>(peer)] = std::move(s);
        break;
      }
      if (errno != ENOENT && errno != ECONNREFUSED && errno != EINTR) fail_errno("connect");
      if (Clock::now() > deadline) rendezvous_timeout(name, rank, {peer}, timeout);
      if (still_waiting) still_waiting();
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  }

  // Accept every higher rank.
  for (int accepted = 0; accepted < size - 1 - rank;) {
    pollfd p{listener.fd(), POLLIN, 0};
    const int ready = ::poll(&p, 1, 100);
    if (ready < 0 && errno != EINTR) fail_errno("poll");
    if (ready <= 0) {
      if (Clock::now() > deadline) {
        std::vector<int> missing;
        for (int r = rank + 1; r < size; ++r)
          if (peers[static_cast<size_t>(r)].fd() < 0) missing.push_back(r);
        rendezvous_timeout(name, rank, missing, timeout);
      }
      if (still_waiting) still_waiting();
      continue;
    }
    Socket s(::accept4(listener.fd(), nullptr, nullptr, SOCK_CLOEXEC));
    if (s.fd() < 0) fail_errno("accept");
    Hello hello;
    read_all(s.fd(), &hello, sizeof hello, -1, name);
    PAGODA_CHECK(
        hello.magic == Hello{}.magic && hello.size == size && hello.rank > rank &&
            hello.rank < size && peers[static_cast<size_t>(hello.rank)].fd() < 0,
        Internal,
        fmt::format("socket group '{}', rank {}: a peer introduced itself as rank {} of {}", name,
                    rank, hello.rank, hello.size),
        "give each engine its own rendezvous directory");
    peers[static_cast<size_t>(hello.rank)] = std::move(s);
    ++accepted;
  }
  std::filesystem::remove(own);
  return std::make_unique<SocketCommunicator>(name, rank, size, std::move(peers));
}

}  // namespace pagoda::distributed
