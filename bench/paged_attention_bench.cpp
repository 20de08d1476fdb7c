// Times ops::paged_attention on the CPU for a Llama-3.2-1B-shaped layer (32 query heads, 8 KV
// heads, head size 64, bf16, block size 16): decode batches of 1, 8 and 32 sequences at 512 and
// 2048 tokens of context, and a 512-token prefill.
//
// Each case allocates as many layers' caches (up to 16, the model's layer count) as it takes to
// exceed 3x a 32 MB last-level cache, and the timed calls cycle through the layers, so the keys and
// values come from memory as in a real forward pass. Sequences get shuffled physical blocks.
// Times are the median and minimum of repeated single-layer calls, and the mean CPU time per call
// summed over threads (wall time / threads when the machine is idle). tokens/s = new tokens per
// call / median time; GB/s = distinct K and V bytes the call reads / median time (for the prefill,
// every cached byte counts once although causal tiles re-read the early keys from cache).
//
// Usage: paged_attention_bench [--min-seconds 0.5] [--only decode|prefill] [--huge-pages]
#include <sys/mman.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "ops/paged_attention.h"
#include "pagoda/half.h"
#include "pagoda/tensor.h"
#include "pagoda/thread_pool.h"

using namespace pagoda;
using Clock = std::chrono::steady_clock;

namespace {

// CPU time of all threads of the process: on a shared machine, wall time includes waiting for a
// core, CPU time does not.
double cpu_seconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + 1e-9 * static_cast<double>(ts.tv_nsec);
}

// --huge-pages: caches in 2 MiB-aligned memory advised MADV_HUGEPAGE (this machine's
// transparent huge pages are madvise-only), to show what the engine's cache allocation gains.
bool g_huge_pages = false;

Tensor cache_tensor(const Shape& shape) {
  if (!g_huge_pages) return Tensor::empty(shape, DType::BF16);
  constexpr size_t kHuge = 2u << 20;
  const size_t bytes = (static_cast<size_t>(shape.numel()) * 2 + kHuge - 1) / kHuge * kHuge;
  void* p = std::aligned_alloc(kHuge, bytes);
  madvise(p, bytes, MADV_HUGEPAGE);
  std::shared_ptr<void> owner(p, [](void* q) { std::free(q); });
  return Tensor::from_blob(p, shape, DType::BF16, Device::cpu(), owner);
}

constexpr int64_t kHeads = 32, kKvHeads = 8, kHeadSize = 64, kBlockSize = 16;
constexpr int64_t kMaxLayers = 16;
constexpr int64_t kCacheBytesToDefeat = 3 * (32ll << 20);

struct Case {
  const char* name;
  int64_t batch, context, new_tokens;  // new_tokens per sequence
};

void fill_random_bf16(Tensor& t, std::mt19937& rng) {
  // A table of random values copied around: filling hundreds of MB one conversion at a time
  // would dominate the run.
  std::vector<bf16> table(4099);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (bf16& x : table) x = bf16(dist(rng));
  bf16* d = t.mutable_data_as<bf16>();
  const size_t n = static_cast<size_t>(t.numel());
  for (size_t i = 0; i < n; i += table.size())
    std::memcpy(d + i, table.data(), std::min(table.size(), n - i) * sizeof(bf16));
}

void run(const Case& c, double min_seconds, std::mt19937& rng) {
  const int64_t blocks_per_seq = (c.context + kBlockSize - 1) / kBlockSize;
  const int64_t num_blocks = c.batch * blocks_per_seq;
  const int64_t layer_bytes = 2 * num_blocks * kBlockSize * kKvHeads * kHeadSize * 2;
  const int64_t layers =
      std::clamp<int64_t>((kCacheBytesToDefeat + layer_bytes - 1) / layer_bytes, 1, kMaxLayers);
  std::vector<Tensor> key_caches, value_caches;
  for (int64_t l = 0; l < layers; ++l) {
    key_caches.push_back(cache_tensor({num_blocks, kBlockSize, kKvHeads, kHeadSize}));
    value_caches.push_back(cache_tensor({num_blocks, kBlockSize, kKvHeads, kHeadSize}));
    fill_random_bf16(key_caches.back(), rng);
    fill_random_bf16(value_caches.back(), rng);
  }
  std::vector<int32_t> ids(static_cast<size_t>(num_blocks));
  for (size_t i = 0; i < ids.size(); ++i) ids[i] = static_cast<int32_t>(i);
  std::shuffle(ids.begin(), ids.end(), rng);
  std::vector<int64_t> loc = {0}, seq_lens;
  for (int64_t s = 0; s < c.batch; ++s) {
    loc.push_back(loc.back() + c.new_tokens);
    seq_lens.push_back(c.context);
  }
  const int64_t tokens = loc.back();
  Tensor q = Tensor::empty({tokens, kHeads * kHeadSize}, DType::BF16);
  fill_random_bf16(q, rng);
  Tensor out = Tensor::empty({tokens, kHeads * kHeadSize}, DType::BF16);
  const ops::PagedAttentionMetadata meta{loc, seq_lens, ids, blocks_per_seq};

  int64_t layer = 0;
  auto call = [&] {
    ops::paged_attention(q, key_caches[static_cast<size_t>(layer)],
                         value_caches[static_cast<size_t>(layer)], meta, kHeads, 0.125,
                         std::nullopt, std::nullopt, out);
    layer = (layer + 1) % layers;
  };
  for (int64_t l = 0; l < layers; ++l) call();  // warm up: scratch, page faults
  std::vector<double> ms;
  const double cpu_start = cpu_seconds();
  const auto start = Clock::now();
  while (ms.size() < 5 ||
         (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds &&
          ms.size() < 2000)) {
    const auto t0 = Clock::now();
    call();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  const double cpu_ms = (cpu_seconds() - cpu_start) * 1e3 / static_cast<double>(ms.size());
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];
  const double kv_bytes = 2.0 * static_cast<double>(c.batch * c.context) * kKvHeads * kHeadSize * 2;
  std::printf("| %-8s | %5lld | %7lld | %6lld | %9.3f | %9.3f | %9.3f | %10.0f | %6.1f |\n", c.name,
              static_cast<long long>(c.batch), static_cast<long long>(c.context),
              static_cast<long long>(layers), median, ms[0], cpu_ms,
              static_cast<double>(tokens) / (median * 1e-3), kv_bytes / (median * 1e-3) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  double min_seconds = 0.5;
  std::string only;
  for (int i = 1; i < argc; ++i) {
    if (std::string(argv[i]) == "--min-seconds" && i + 1 < argc) {
      min_seconds = std::atof(argv[++i]);
    } else if (std::string(argv[i]) == "--huge-pages") {
      g_huge_pages = true;
    } else if (std::string(argv[i]) == "--only" && i + 1 < argc) {
      only = argv[++i];
    } else {
      std::fprintf(stderr, "usage: %s [--min-seconds S] [--only decode|prefill] [--huge-pages]\n",
                   argv[0]);
      return 2;
    }
  }
  std::printf(
      "paged_attention, bf16, %lld heads / %lld KV heads / head %lld, block %lld, "
      "%d threads\n\n",
      static_cast<long long>(kHeads), static_cast<long long>(kKvHeads),
      static_cast<long long>(kHeadSize), static_cast<long long>(kBlockSize),
      ThreadPool::global().num_threads());
  std::printf(
      "| case     | batch | context | layers | median ms |    min ms |    cpu ms |   tokens/s |"
      "   GB/s |\n");
  std::printf(
      "|----------|-------|---------|--------|-----------|-----------|-----------|------------|"
      "--------|\n");
  std::mt19937 rng(1234);
  const Case cases[] = {{"decode", 1, 512, 1},   {"decode", 8, 512, 1},  {"decode", 32, 512, 1},
                        {"decode", 1, 2048, 1},  {"decode", 8, 2048, 1}, {"decode", 32, 2048, 1},
                        {"prefill", 1, 512, 512}};
  for (const Case& c : cases)
    if (only.empty() || only == c.name) run(c, min_seconds, rng);
  return 0;
}
