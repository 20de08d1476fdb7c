// This machine's ceilings for the matmul: peak f32 FMA throughput and memory read bandwidth, on one
// core and on all cores. bench/RESULTS.md quotes matmul speeds as a share of these.
//
// FMA: 12 chains of independent fused multiply-adds on registers only (enough to cover the FMA
// latency on two FMA pipes), for the best ISA the processor has (AVX-512 or AVX2).
// Bandwidth: a sum over a buffer much larger than the last-level cache, read with vector loads in
// eight streams per thread, as the decode kernels read weight rows.
//
// Usage: peak_flops [--seconds S] [--megabytes MB]
#include <immintrin.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point t0) {
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

// Each returns the flops done: iters * chains * lanes * 2. Written in assembly so that the
// accumulators stay in registers (compilers keep an array of vectors in memory around an asm
// barrier, which measures store forwarding instead of the FMA pipes).

// One FMA into accumulator i (register 0..11) from registers 14 and 15, for "ymm" or "zmm".
// clang-format off
#define PAGODA_FMA(reg, i) "vfmadd231ps %%" reg "14, %%" reg "15, %%" reg #i "\n\t"
#define PAGODA_FMA12(reg)                                                                  \
  PAGODA_FMA(reg, 0) PAGODA_FMA(reg, 1) PAGODA_FMA(reg, 2) PAGODA_FMA(reg, 3)              \
  PAGODA_FMA(reg, 4) PAGODA_FMA(reg, 5) PAGODA_FMA(reg, 6) PAGODA_FMA(reg, 7)              \
  PAGODA_FMA(reg, 8) PAGODA_FMA(reg, 9) PAGODA_FMA(reg, 10) PAGODA_FMA(reg, 11)
// clang-format on

// 12 independent chains: FMA latency (4-5 cycles) times 2 FMA pipes needs at least 10 in flight.
__attribute__((target("avx2,fma"))) double fma_chains_avx2(int64_t iters) {
  int64_t n = iters;
  __asm__ volatile(
      "vxorps %%ymm14, %%ymm14, %%ymm14\n\t"
      "vxorps %%ymm15, %%ymm15, %%ymm15\n\t"
      "1:\n\t" PAGODA_FMA12("ymm") "dec %0\n\t"
      "jnz 1b\n\t"
      : "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm14", "xmm15", "cc");
  return static_cast<double>(iters) * 12 * 8 * 2;
}

__attribute__((target("avx512f"))) double fma_chains_avx512(int64_t iters) {
  int64_t n = iters;
  __asm__ volatile(
      "vpxord %%zmm14, %%zmm14, %%zmm14\n\t"
      "vpxord %%zmm15, %%zmm15, %%zmm15\n\t"
      "1:\n\t" PAGODA_FMA12("zmm") "dec %0\n\t"
      "jnz 1b\n\t"
      : "+r"(n)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",
        "xmm11", "xmm14", "xmm15", "cc");
  return static_cast<double>(iters) * 12 * 16 * 2;
}

// Sums n floats the way the decode kernels read weights: blocks of 8 rows of 16 KiB, the 8 rows
// read side by side (8 sequential streams); one stream alone leaves bandwidth unused here.
__attribute__((target("avx2"))) float read_sum_avx2(const float* p, size_t n) {
  constexpr size_t kRow = 4096, kRows = 8;
  __m256 s[kRows];
  for (auto& v : s) v = _mm256_setzero_ps();
  size_t base = 0;
  for (; base + kRow * kRows <= n; base += kRow * kRows)
    for (size_t i = 0; i < kRow; i += 8)
#pragma GCC unroll 8
      for (size_t r = 0; r < kRows; ++r)
        s[r] = _mm256_add_ps(s[r], _mm256_load_ps(p + base + r * kRow + i));
  float out[8];
  __m256 t = s[0];
  for (size_t r = 1; r < kRows; ++r) t = _mm256_add_ps(t, s[r]);
  _mm256_storeu_ps(out, t);
  float sum = 0;
  for (float v : out) sum += v;
  for (; base < n; ++base) sum += p[base];
  return sum;
}

// Runs fn(thread_index) on `threads` threads at once and returns the wall time.
template <typename Fn>
double run_on_threads(int threads, Fn fn) {
  const auto t0 = Clock::now();
  std::vector<std::thread> pool;
  for (int t = 1; t < threads; ++t) pool.emplace_back(fn, t);
  fn(0);
  for (auto& th : pool) th.join();
  return seconds_since(t0);
}

double peak_gflops(bool avx512, int threads, double seconds) {
  auto kernel = avx512 ? fma_chains_avx512 : fma_chains_avx2;
  // Calibrate the iteration count to about `seconds` on one thread.
  int64_t iters = 1 << 20;
  for (;;) {
    const auto t0 = Clock::now();
    kernel(iters);
    const double dt = seconds_since(t0);
    if (dt > seconds / 4) {
      iters = static_cast<int64_t>(static_cast<double>(iters) * seconds / dt);
      break;
    }
    iters *= 4;
  }
  double best = 0;
  for (int rep = 0; rep < 3; ++rep) {
    std::vector<double> flops(static_cast<size_t>(threads));
    const double dt =
        run_on_threads(threads, [&](int t) { flops[static_cast<size_t>(t)] = kernel(iters); });
    double total = 0;
    for (double f : flops) total += f;
    best = std::max(best, total / dt / 1e9);
  }
  return best;
}

// Best rate over many passes, each over the next 64 MiB slice of the buffer (cycling through all
// of it, so no slice is still cached when it comes round again): the matmul benchmark also takes
// the best of many short runs, and on a shared machine the best run is the least disturbed.
double read_gbps(const float* buf, size_t n, int threads) {
  const size_t slice = std::min(n, size_t{64} << 20 >> 2);
  const size_t slices = n / slice;
  double best = 0;
  std::vector<float> sinks(static_cast<size_t>(threads));
  for (int rep = 0; rep < 40; ++rep) {
    const float* base = buf + slice * (static_cast<size_t>(rep) % slices);
    const size_t per = slice / static_cast<size_t>(threads) / 32 * 32;
    const double dt = run_on_threads(threads, [&](int t) {
      sinks[static_cast<size_t>(t)] = read_sum_avx2(base + per * static_cast<size_t>(t), per);
    });
    best = std::max(
        best, static_cast<double>(per * static_cast<size_t>(threads)) * sizeof(float) / dt / 1e9);
  }
  if (sinks[0] == 12345.0f) std::puts("");
  return best;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = 0.5;
  size_t megabytes = 512;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--seconds") == 0)
      seconds = std::atof(argv[i + 1]);
    else if (std::strcmp(argv[i], "--megabytes") == 0)
      megabytes = std::strtoul(argv[i + 1], nullptr, 10);
    else {
      std::fprintf(stderr, "usage: %s [--seconds S] [--megabytes MB]\n", argv[0]);
      return 2;
    }
  }
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    std::fprintf(stderr, "this processor has no AVX2+FMA; nothing to measure\n");
    return 1;
  }
  const bool avx512 = __builtin_cpu_supports("avx512f");
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  std::printf("isa: %s, hardware threads: %d\n", avx512 ? "avx512" : "avx2+fma", cores);

  const double one = peak_gflops(avx512, 1, seconds);
  const double all = peak_gflops(avx512, cores, seconds);
  std::printf("peak f32 FMA: %.1f GFLOP/s on 1 thread, %.1f GFLOP/s on %d threads\n", one, all,
              cores);

  const size_t n = megabytes * (1u << 20) / sizeof(float);
  float* buf = static_cast<float*>(std::aligned_alloc(64, n * sizeof(float)));
  for (size_t i = 0; i < n; ++i) buf[i] = static_cast<float>(i & 1023);  // touch every page
  const double bw1 = read_gbps(buf, n, 1);
  const double bwall = read_gbps(buf, n, cores);
  std::printf(
      "memory read (64 MiB slices of a %zu MiB buffer): %.1f GB/s on 1 thread, %.1f GB/s on %d "
      "threads\n",
      megabytes, bw1, bwall, cores);
  std::free(buf);
  return 0;
}
