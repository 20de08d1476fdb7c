// Times ops::matmul (out = x @ weight^T) on the CPU for decode (few rows) and prefill (many rows)
// shapes, for each path Pagoda can take, and probes what the BLAS libraries offer for bf16.
//
// Variants:
//   default            ops::matmul as configured by default (what a model gets)
//   gemv               the hand-written GEMV kernels (kernels/matmul_gemv.h), any M
//   openblas-split     OpenBLAS sgemm, single-threaded calls on column chunks of Pagoda's pool
//   openblas-threaded  OpenBLAS sgemm, one call threaded by OpenBLAS's own pool
//   onednn-split       oneDNN dnnl_sgemm, single-threaded calls on column chunks of Pagoda's pool
//   onednn-threaded    oneDNN dnnl_sgemm, one call threaded by OpenMP
//   onednn-primitive   a oneDNN matmul primitive with weights in both dtypes (bf16 needs bf16
//                      activations too in oneDNN 2.6); prints why when it is not implemented
// 16-bit weights on the BLAS variants are widened to f32 panel by panel (see ops/cpu/matmul.h).
//
// Each weight is copied enough times that the copies together exceed the last-level cache and the
// calls cycle through them, so decode reads weights from memory as a real model does.
// Times are the median and the minimum of repeated calls; GFLOP/s and GB/s use the minimum (the
// machine is shared, the minimum is the least disturbed run).
//
// Usage: matmul_bench [--m 1,4,16,128,512] [--shapes 2048x2048,2048x5632,4096x4096] (K x N)
//                     [--dtypes f32,bf16] [--variants default,gemv,...] [--min-seconds 0.3]
//                     [--cache-mb 32] (weight copies span 3x this, at least 2 copies)
//                     [--panel-mb MB] (CpuMatmulConfig::panel_bytes for 16-bit weights)
#include <dlfcn.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <oneapi/dnnl/dnnl.hpp>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "ops/cpu/isa.h"
#include "ops/cpu/matmul.h"
#include "ops/matmul.h"
#include "pagoda/dtype.h"
#include "pagoda/tensor.h"
#include "pagoda/thread_pool.h"

extern "C" void omp_set_num_threads(int num_threads);

using namespace pagoda;
using Clock = std::chrono::steady_clock;

namespace {

std::vector<std::string> split(const std::string& s) {
  std::vector<std::string> out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) out.push_back(item);
  return out;
}

struct Options {
  std::vector<int64_t> ms = {1, 4, 16, 128, 512};
  std::vector<std::pair<int64_t, int64_t>> shapes = {{2048, 2048}, {2048, 5632}, {4096, 4096}};
  std::vector<DType> dtypes = {DType::F32, DType::BF16};
  std::vector<std::string> variants = {"default",           "gemv",         "openblas-split",
                                       "openblas-threaded", "onednn-split", "onednn-threaded",
                                       "onednn-primitive"};
  double min_seconds = 0.3;
  int64_t cache_bytes = 32ll << 20;  // last-level cache to defeat
};

struct Timing {
  double median_ms = 0, min_ms = 0;
};

template <typename Fn>
Timing time_it(Fn fn, double min_seconds) {
  fn();  // warm up: scratch, library init, page faults
  std::vector<double> ms;
  const auto start = Clock::now();
  while (ms.size() < 3 ||
         (std::chrono::duration<double>(Clock::now() - start).count() < min_seconds &&
          ms.size() < 200)) {
    const auto t0 = Clock::now();
    fn();
    ms.push_back(std::chrono::duration<double, std::milli>(Clock::now() - t0).count());
  }
  std::sort(ms.begin(), ms.end());
  return {ms[ms.size() / 2], ms[0]};
}

Tensor random_tensor(int64_t rows, int64_t cols, DType dtype, std::mt19937& rng) {
  Tensor f = Tensor::empty({rows, cols}, DType::F32);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  float* d = f.mutable_data_as<float>();
  for (int64_t i = 0; i < f.numel(); ++i) d[i] = dist(rng);
  if (dtype == DType::F32) return f;
  Tensor t = Tensor::empty({rows, cols}, dtype);
  for (int64_t i = 0; i < f.numel(); ++i) {
    if (dtype == DType::BF16)
      t.mutable_data_as<bf16>()[i] = bf16(d[i]);
    else
      t.mutable_data_as<f16>()[i] = f16(d[i]);
  }
  return t;
}

void print_row(int64_t M, int64_t K, int64_t N, DType w, const std::string& variant,
               const Timing& t, const std::string& note = "") {
  const double flops = 2.0 * static_cast<double>(M * N * K);
  const double bytes = static_cast<double>(N * K) * static_cast<double>(dtype_size(w)) +
                       4.0 * static_cast<double>(M * K + M * N);
  std::printf("| %4lld | %4lld | %4lld | %-4s | %-17s | %9.3f | %9.3f | %7.1f | %6.1f |%s\n",
              static_cast<long long>(M), static_cast<long long>(K), static_cast<long long>(N),
              std::string(dtype_name(w)).c_str(), variant.c_str(), t.median_ms, t.min_ms,
              flops / (t.min_ms * 1e6), bytes / (t.min_ms * 1e6), note.c_str());
  std::fflush(stdout);
}

// The oneDNN matmul primitive with activations and weights in `dt`, f32 output. oneDNN 2.6 has no
// f32-activation x bf16-weight matmul, so a bf16 weight means bf16 activations here.
void onednn_primitive(int64_t M, int64_t K, int64_t N, DType w, const Options& opt) {
  using namespace dnnl;
  using dt = memory::data_type;
  using tag = memory::format_tag;
  const dt wdt = w == DType::F32 ? dt::f32 : w == DType::BF16 ? dt::bf16 : dt::f16;
  std::string note;
  try {
    engine eng(engine::kind::cpu, 0);
    stream s(eng);
    memory::desc src_md({M, K}, wdt, tag::ab);
    memory::desc wei_md({K, N}, wdt, tag::ba);  // the [N, K] checkpoint layout, read transposed
    memory::desc dst_md({M, N}, dt::f32, tag::ab);
    matmul::primitive_desc pd(matmul::desc(src_md, wei_md, dst_md), eng);
    note = std::string(" impl ") + pd.impl_info_str();
    std::mt19937 rng(7);
    Tensor x = random_tensor(M, K, w, rng);
    const int64_t wbytes = N * K * static_cast<int64_t>(dtype_size(w));
    const int64_t copies = std::max<int64_t>(1, 3 * opt.cache_bytes / wbytes + 1);
    std::vector<Tensor> weights;
    for (int64_t c = 0; c < copies; ++c) weights.push_back(random_tensor(N, K, w, rng));
    Tensor out = Tensor::empty({M, N}, DType::F32);
    memory src(src_md, eng, const_cast<void*>(x.data()));
    memory dst(dst_md, eng, out.mutable_data());
    std::vector<memory> wmem;
    for (auto& t : weights) wmem.emplace_back(wei_md, eng, const_cast<void*>(t.data()));
    matmul prim(pd);
    size_t next = 0;
    omp_set_num_threads(ThreadPool::global().num_threads());
    const Timing t = time_it(
        [&] {
          prim.execute(s, {{DNNL_ARG_SRC, src},
                           {DNNL_ARG_WEIGHTS, wmem[next++ % wmem.size()]},
                           {DNNL_ARG_DST, dst}});
          s.wait();
        },
        opt.min_seconds);
    print_row(M, K, N, w, "onednn-primitive", t, note);
  } catch (const dnnl::error& e) {
    std::printf("| %4lld | %4lld | %4lld | %-4s | %-17s | %9s | %9s | %7s | %6s | %s (%s)\n",
                static_cast<long long>(M), static_cast<long long>(K), static_cast<long long>(N),
                std::string(dtype_name(w)).c_str(), "onednn-primitive", "-", "-", "-", "-",
                e.status == dnnl_unimplemented ? "not implemented on this ISA" : "error", e.what());
  }
}

void run_variant(const std::string& variant, int64_t M, int64_t K, int64_t N, DType w,
                 const Options& opt, std::vector<Tensor>& weights, const Tensor& x) {
  using cpu::BlasLibrary;
  if (variant == "onednn-primitive") return onednn_primitive(M, K, N, w, opt);
  const cpu::CpuMatmulConfig defaults = cpu::cpu_matmul_config();
  cpu::CpuMatmulConfig config = defaults;
  if (variant == "gemv") {
    config.gemv_max_rows = int64_t{1} << 40;
  } else if (variant != "default") {
    config.gemv_max_rows = 0;
    config.blas = variant.rfind("openblas", 0) == 0 ? BlasLibrary::OpenBlas : BlasLibrary::OneDnn;
    config.split_columns_across_pool = variant.find("split") != std::string::npos;
  }
  cpu::set_cpu_matmul_config(config);
  Tensor out = Tensor::empty({M, N}, DType::F32);
  size_t next = 0;
  const Timing t =
      time_it([&] { ops::matmul(x, weights[next++ % weights.size()], out); }, opt.min_seconds);
  cpu::set_cpu_matmul_config(defaults);
  print_row(M, K, N, w, variant, t);
}

void probe_sbgemm() {
  // Debian's OpenBLAS 0.3.21 declares cblas_sbgemm in cblas.h; whether the library exports it
  // depends on the build (BUILD_BFLOAT16).
  void* lib = dlopen("libopenblas.so.0", RTLD_NOW | RTLD_NOLOAD);
  if (!lib) lib = dlopen("libopenblas.so.0", RTLD_NOW);
  void* sym = lib ? dlsym(lib, "cblas_sbgemm") : nullptr;
  std::printf("OpenBLAS cblas_sbgemm: %s\n",
              sym ? "exported" : "declared in cblas.h but not exported by this libopenblas build");
}

}  // namespace

int main(int argc, char** argv) {
  Options opt;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    if (key == "--m") {
      opt.ms.clear();
      for (auto& s : split(value)) opt.ms.push_back(std::stoll(s));
    } else if (key == "--shapes") {
      opt.shapes.clear();
      for (auto& s : split(value)) {
        const auto x = s.find('x');
        opt.shapes.push_back({std::stoll(s.substr(0, x)), std::stoll(s.substr(x + 1))});
      }
    } else if (key == "--dtypes") {
      opt.dtypes.clear();
      for (auto& s : split(value)) opt.dtypes.push_back(*parse_dtype(s));
    } else if (key == "--variants") {
      opt.variants = split(value);
    } else if (key == "--panel-mb") {
      cpu::CpuMatmulConfig c = cpu::cpu_matmul_config();
      c.panel_bytes = std::stoll(value) << 20;
      cpu::set_cpu_matmul_config(c);
    } else if (key == "--cache-mb") {
      opt.cache_bytes = std::stoll(value) << 20;
    } else if (key == "--min-seconds") {
      opt.min_seconds = std::stod(value);
    } else {
      std::fprintf(stderr, "unknown option %s; see the comment at the top of matmul_bench.cpp\n",
                   argv[i]);
      return 2;
    }
  }
  std::printf("threads: %d (PAGODA_NUM_THREADS), cpu isa: %s, default BLAS: %s\n",
              ThreadPool::global().num_threads(),
              std::string(cpu::cpu_isa_name(cpu::cpu_isa())).c_str(),
              std::string(cpu::blas_library_name(cpu::cpu_matmul_config().blas)).c_str());
  probe_sbgemm();
  std::printf(
      "\n|    M |    K |    N | w    | variant           | median ms |    min ms | GFLOP/s |   "
      "GB/s |\n");
  std::printf(
      "|-----:|-----:|-----:|------|-------------------|----------:|----------:|--------:|-------:|"
      "\n");
  std::mt19937 rng(42);
  for (const auto& [K, N] : opt.shapes)
    for (DType w : opt.dtypes) {
      const int64_t wbytes = N * K * static_cast<int64_t>(dtype_size(w));
      const int64_t copies = std::max<int64_t>(2, 3 * opt.cache_bytes / wbytes + 1);
      std::vector<Tensor> weights;
      for (int64_t c = 0; c < copies; ++c) weights.push_back(random_tensor(N, K, w, rng));
      for (int64_t M : opt.ms) {
        const Tensor x = random_tensor(M, K, DType::F32, rng);
        for (const auto& v : opt.variants) run_variant(v, M, K, N, w, opt, weights, x);
      }
    }
  return 0;
}
