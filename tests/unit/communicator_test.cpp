#include "pagoda/communicator.h"

#include <gtest/gtest.h>

#include <thread>

#include "common/run_ranks.h"
#include "pagoda/error.h"

using namespace pagoda;

using pagoda::testing::run_ranks;

TEST(InProcessGroup, AllReduceSumsIdenticallyOnEveryRank) {
  for (int size : {1, 2, 3, 4, 8}) {
    std::vector<std::vector<float>> results(static_cast<size_t>(size));
    run_ranks(size, [&](int rank, Communicator& c) {
      EXPECT_EQ(c.rank(), rank);
      EXPECT_EQ(c.size(), size);
      Tensor t = Tensor::empty({17}, DType::F32);
      for (int i = 0; i < 17; ++i)
        t.mutable_data_as<float>()[i] = 0.1f * static_cast<float>(i) + static_cast<float>(rank);
      c.all_reduce_sum(t);
      results[static_cast<size_t>(rank)].assign(t.data_as<float>(), t.data_as<float>() + 17);
    });
    for (int i = 0; i < 17; ++i) {
      const double expected = size * 0.1 * i + size * (size - 1) / 2.0;
      EXPECT_NEAR(results[0][static_cast<size_t>(i)], expected, 1e-4);
      for (int r = 1; r < size; ++r)
        EXPECT_EQ(results[static_cast<size_t>(r)], results[0]);  // bitwise
    }
  }
}

TEST(InProcessGroup, AllReduceHalfTypes) {
  run_ranks(4, [](int rank, Communicator& c) {
    Tensor t = Tensor::empty({3}, DType::BF16);
    for (int i = 0; i < 3; ++i) t.mutable_data_as<bf16>()[i] = bf16(static_cast<float>(rank + i));
    c.all_reduce_sum(t);
    for (int i = 0; i < 3; ++i)
      EXPECT_EQ(static_cast<float>(t.data_as<bf16>()[i]), 6.0f + 4.0f * i);
  });
}

TEST(InProcessGroup, AllGatherConcatenatesInRankOrder) {
  run_ranks(4, [](int rank, Communicator& c) {
    Tensor in = Tensor::empty({2, 3}, DType::F32);
    for (int i = 0; i < 6; ++i) in.mutable_data_as<float>()[i] = static_cast<float>(rank * 100 + i);
    Tensor out = Tensor::empty({2, 12}, DType::F32);
    c.all_gather(in, out, -1);
    for (int r = 0; r < 4; ++r)
      for (int row = 0; row < 2; ++row)
        for (int col = 0; col < 3; ++col)
          EXPECT_EQ(out.data_as<float>()[row * 12 + r * 3 + col],
                    static_cast<float>(r * 100 + row * 3 + col));
    Tensor wrong = Tensor::empty({2, 6}, DType::F32);
    EXPECT_THROW(c.all_gather(in, wrong, 1), Error);  // every rank throws, none hangs
  });
}

TEST(InProcessGroup, MismatchedShapesAreAnErrorOnEveryRank) {
  std::atomic<int> threw{0};
  run_ranks(2, [&](int rank, Communicator& c) {
    Tensor t = Tensor::zeros({rank == 0 ? 4 : 5}, DType::F32);
    try {
      c.all_reduce_sum(t);
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("same shape"), std::string::npos);
      ++threw;
    }
  });
  EXPECT_EQ(threw.load(), 2);
}

TEST(InProcessGroup, OneRanksBadOutputStopsEveryRank) {
  std::atomic<int> threw{0};
  run_ranks(3, [&](int rank, Communicator& c) {
    Tensor in = Tensor::zeros({2}, DType::F32);
    Tensor out = Tensor::empty({rank == 1 ? 5 : 6}, DType::F32);
    try {
      c.all_gather(in, out, 0);
    } catch (const Error&) {
      ++threw;
    }
    c.barrier();  // the group is still usable afterwards
  });
  EXPECT_EQ(threw.load(), 3);
}

TEST(ParallelState, SingleIsTpOne) {
  ParallelState s = ParallelState::single();
  EXPECT_EQ(s.tp_size, 1);
  EXPECT_EQ(s.tp_rank, 0);
  Tensor t = Tensor::zeros({2}, DType::F32);
  s.tp_group->all_reduce_sum(t);
  Tensor out = Tensor::empty({2}, DType::F32);
  s.tp_group->all_gather(t, out, 0);
  EXPECT_EQ(out.data_as<float>()[1], 0.0f);
}

#include "common/communicator_conformance.h"

TEST(InProcessGroup, PassesTheCommunicatorConformanceChecks) {
  for (int size : {1, 2, 3, 4}) {
    std::vector<std::string> failures(static_cast<size_t>(size));
    run_ranks(size, [&](int rank, Communicator& c) {
      failures[static_cast<size_t>(rank)] = pagoda::testing::check_collectives(c);
    });
    for (const auto& f : failures) EXPECT_EQ(f, "") << "group of " << size;
  }
}

TEST(SingleCommunicator, PassesTheCommunicatorConformanceChecks) {
  SingleCommunicator c;
  EXPECT_EQ(pagoda::testing::check_collectives(c), "");
  Tensor t = Tensor::zeros({2}, DType::F32);
  EXPECT_THROW(c.send(t, 0), Error);
  EXPECT_THROW(c.recv(t, 0), Error);
}
