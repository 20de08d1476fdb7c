#include "ops/cpu/matmul_onednn.h"

#include <oneapi/dnnl/dnnl.hpp>

#include <list>
#include <string>
#include <tuple>
#include <unordered_map>

#include "pagoda/error.h"

extern "C" void omp_set_num_threads(int num_threads);
extern "C" int omp_get_max_threads(void);

namespace pagoda::cpu {
namespace {

dnnl::engine& cpu_engine() {
  static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
  return engine;
}

using ShapeKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, bool>;

struct ShapeKeyHash {
  size_t operator()(const ShapeKey& k) const {
    const auto& [m, n, kk, lda, ldb, ldc, bias] = k;
    size_t h = 0;
    for (int64_t v : {m, n, kk, lda, ldb, ldc, static_cast<int64_t>(bias)})
      h = h * 1000003u ^ std::hash<int64_t>()(v);
    return h;
  }
};

struct Prepared {
  dnnl::matmul primitive;
  dnnl::memory src, weights, bias, dst;
};

// Building a primitive costs far more than a small product, so each thread keeps the primitives
// of the shapes it ran last. Prefill chunks have many sizes (the token budget splits prompts), so
// the cache is bounded: least recently used first out.
class PrimitiveCache {
 public:
  Prepared& get(const ShapeKey& key) {
    if (auto it = index_.find(key); it != index_.end()) {
      order_.splice(order_.begin(), order_, it->second);
      return it->second->second;
    }
    if (order_.size() >= kCapacity) {
      index_.erase(order_.back().first);
      order_.pop_back();
    }
    order_.emplace_front(key, build(key));
    index_[key] = order_.begin();
    return order_.front().second;
  }

 private:
  static constexpr size_t kCapacity = 64;

  static Prepared build(const ShapeKey& key) {
    const auto& [M, N, K, lda, ldb, ldc, has_bias] = key;
    using dt = dnnl::memory::data_type;
    const dnnl::memory::desc src({M, K}, dt::bf16, dnnl::memory::dims{lda, 1});
    const dnnl::memory::desc weights({K, N}, dt::bf16, dnnl::memory::dims{1, ldb});
    const dnnl::memory::desc dst({M, N}, dt::f32, dnnl::memory::dims{ldc, 1});
    const dnnl::memory::desc bias = has_bias
                                        ? dnnl::memory::desc({1, N}, dt::f32, dnnl::memory::dims{N, 1})
                                        : dnnl::memory::desc();
    auto& engine = cpu_engine();
    const dnnl::matmul::desc desc = has_bias ? dnnl::matmul::desc(src, weights, bias, dst)
                                             : dnnl::matmul::desc(src, weights, dst);
    const dnnl::matmul::primitive_desc pd(desc, engine);
    Prepared p{dnnl::matmul(pd), dnnl::memory(src, engine, DNNL_MEMORY_NONE),
               dnnl::memory(weights, engine, DNNL_MEMORY_NONE), dnnl::memory(),
               dnnl::memory(dst, engine, DNNL_MEMORY_NONE)};
    if (has_bias) p.bias = dnnl::memory(bias, engine, DNNL_MEMORY_NONE);
    return p;
  }

  std::list<std::pair<ShapeKey, Prepared>> order_;
  std::unordered_map<ShapeKey, decltype(order_)::iterator, ShapeKeyHash> index_;
};

}  // namespace

bool onednn_bf16_is_fast() {
  const dnnl::cpu_isa isa = dnnl::get_effective_cpu_isa();
  return isa == dnnl::cpu_isa::avx512_core_bf16 || isa == dnnl::cpu_isa::avx512_core_amx;
}

void onednn_bf16_gemm_nt(int threads, int64_t M, int64_t N, int64_t K, const uint16_t* a,
                         int64_t lda, const uint16_t* b, int64_t ldb, const float* bias, float* c,
                         int64_t ldc) {
  if (M == 0 || N == 0) return;
  thread_local PrimitiveCache cache;
  thread_local dnnl::stream stream(cpu_engine());
  if (omp_get_max_threads() != threads) omp_set_num_threads(threads);
  try {
    Prepared& p = cache.get({M, N, K, lda, ldb, ldc, bias != nullptr});
    // oneDNN only reads src, weights and bias; its API takes non-const handles.
    p.src.set_data_handle(const_cast<uint16_t*>(a));
    p.weights.set_data_handle(const_cast<uint16_t*>(b));
    p.dst.set_data_handle(c);
    std::unordered_map<int, dnnl::memory> args{
        {DNNL_ARG_SRC, p.src}, {DNNL_ARG_WEIGHTS, p.weights}, {DNNL_ARG_DST, p.dst}};
    if (bias) {
      p.bias.set_data_handle(const_cast<float*>(bias));
      args.emplace(DNNL_ARG_BIAS, p.bias);
    }
    p.primitive.execute(stream, args);
    stream.wait();
  } catch (const dnnl::error& e) {
    throw Error(e.status == dnnl_unimplemented ? ErrorCode::Unsupported : ErrorCode::Internal,
                "oneDNN bf16 matmul failed for M=" + std::to_string(M) + " N=" +
                    std::to_string(N) + " K=" + std::to_string(K) + ": " + e.what(),
                "this CPU may lack bf16 support in oneDNN; set PAGODA_MATMUL_BF16=0 to use the f32 "
                "path");
  }
}

}  // namespace pagoda::cpu
