// The socket communicators of ranks Pagoda starts on one host, with each rank on a thread here:
// the same conformance checks as every other communicator, large tensors that exceed a socket's
// buffer, and the failures a rank sees when a peer never comes or goes away.
#include "distributed/socket_communicator.h"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include "common/communicator_conformance.h"
#include "pagoda/error.h"

using namespace pagoda;
using namespace pagoda::testing;
using namespace std::chrono_literals;

namespace {

// A fresh rendezvous directory per test.
class SocketGroup : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string pattern = (std::filesystem::temp_directory_path() / "pagoda-sock-XXXXXX").string();
    ASSERT_NE(::mkdtemp(pattern.data()), nullptr);
    dir_ = pattern;
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  // Runs fn(communicator) for every rank of a group of `size`, one thread each; returns what
  // each threw ("" for nothing).
  template <class Fn>
  std::vector<std::string> run(int size, Fn fn, std::chrono::milliseconds timeout = 10s) {
    std::vector<std::string> errors(static_cast<size_t>(size));
    std::vector<std::thread> threads;
    for (int r = 0; r < size; ++r)
      threads.emplace_back([&, r] {
        try {
          auto c = distributed::make_socket_communicator(dir_, "g", r, size, timeout);
          fn(*c);
        } catch (const std::exception& e) {
          errors[static_cast<size_t>(r)] = e.what();
        }
      });
    for (auto& t : threads) t.join();
    return errors;
  }

  std::filesystem::path dir_;
};

TEST_F(SocketGroup, PassesTheConformanceChecksAtEverySize) {
  for (int size : {1, 2, 3, 4}) {
    SCOPED_TRACE(size);
    std::vector<std::string> failures(static_cast<size_t>(size));
    const auto errors = run(size, [&](Communicator& c) {
      EXPECT_EQ(c.size(), size);
      failures[static_cast<size_t>(c.rank())] = check_collectives(c);
    });
    for (int r = 0; r < size; ++r) {
      EXPECT_EQ(errors[static_cast<size_t>(r)], "") << "rank " << r;
      EXPECT_EQ(failures[static_cast<size_t>(r)], "") << "rank " << r;
    }
  }
}

// 16 MiB per rank: far beyond a Unix socket's buffer, so a pattern that had two ranks writing to
// each other at once would hang here.
TEST_F(SocketGroup, LargeTensorsDoNotDeadlock) {
  constexpr int64_t n = 4 << 20;
  std::vector<double> sums(3), gathered_last(3);
  const auto errors = run(3, [&](Communicator& c) {
    Tensor t = Tensor::empty({n}, DType::F32);
    float* v = t.mutable_data_as<float>();
    for (int64_t i = 0; i < n; ++i) v[i] = static_cast<float>(c.rank() + 1);
    c.all_reduce_sum(t);
    sums[static_cast<size_t>(c.rank())] = t.data_as<float>()[n - 1];
    Tensor all = Tensor::empty({3 * n}, DType::F32);
    c.all_gather(t, all, 0);
    gathered_last[static_cast<size_t>(c.rank())] = all.data_as<float>()[3 * n - 1];
    if (c.rank() == 0) c.send(t, 2);
    if (c.rank() == 2) c.recv(t, 0);
  });
  for (int r = 0; r < 3; ++r) {
    EXPECT_EQ(errors[static_cast<size_t>(r)], "");
    EXPECT_EQ(sums[static_cast<size_t>(r)], 6.0);
    EXPECT_EQ(gathered_last[static_cast<size_t>(r)], 6.0);
  }
}

TEST_F(SocketGroup, ARankThatNeverComesIsATimeoutNamingIt) {
  // Ranks 0 and 1 of a group of 3 start; rank 2 never does.
  std::vector<std::string> errors(2);
  std::vector<std::thread> threads;
  for (int r = 0; r < 2; ++r)
    threads.emplace_back([&, r] {
      try {
        distributed::make_socket_communicator(dir_, "g", r, 3, 300ms);
      } catch (const Error& e) {
        errors[static_cast<size_t>(r)] = e.what();
      }
    });
  for (auto& t : threads) t.join();
  for (const std::string& e : errors)
    EXPECT_NE(e.find("for rank(s) 2 to connect"), std::string::npos) << e;
}

TEST_F(SocketGroup, StillWaitingMayGiveUp) {
  int calls = 0;
  try {
    distributed::make_socket_communicator(dir_, "g", 0, 2, 10s, [&] {
      if (++calls == 3) throw Error(ErrorCode::Io, "rank 1 exited", "see above");
    });
    ADD_FAILURE() << "waiting for an absent rank returned";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("rank 1 exited"), std::string::npos);
  }
  EXPECT_EQ(calls, 3);
}

TEST_F(SocketGroup, APeerThatLeavesIsAnErrorNotAHang) {
  const auto errors = run(2, [&](Communicator& c) {
    if (c.rank() == 1) return;  // closes its sockets at once
    Tensor t = Tensor::empty({4}, DType::F32);
    c.recv(t, 1);
  });
  EXPECT_NE(errors[0].find("rank 1 of the 'g' group is gone"), std::string::npos) << errors[0];
  EXPECT_EQ(errors[1], "");
}

TEST_F(SocketGroup, DeviceTensorsAndBadPeersAreErrors) {
  const auto errors = run(2, [&](Communicator& c) {
    Tensor t = Tensor::empty({4}, DType::F32);
    EXPECT_THROW(c.send(t, 5), Error);
    EXPECT_THROW(c.send(t, c.rank()), Error);
    EXPECT_THROW(c.broadcast(t, -1), Error);
    Tensor ints = Tensor::empty({4}, DType::I64);
    EXPECT_THROW(c.all_reduce_sum(ints), Error);
  });
  EXPECT_EQ(errors[0], "");
  EXPECT_EQ(errors[1], "");
}

}  // namespace
