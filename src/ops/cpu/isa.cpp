#include "ops/cpu/isa.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda::cpu {
namespace {

CpuIsa parse(std::string_view name, bool* ok) {
  *ok = true;
  if (name == "generic") return CpuIsa::Generic;
  if (name == "avx2") return CpuIsa::Avx2;
  if (name == "avx512") return CpuIsa::Avx512;
  *ok = false;
  return CpuIsa::Generic;
}

std::atomic<CpuIsa>& selected() {
  static std::atomic<CpuIsa> isa = [] {
    CpuIsa best = detected_cpu_isa();
    if (const char* env = std::getenv("PAGODA_CPU_ISA")) {
      bool ok = false;
      CpuIsa wanted = parse(env, &ok);
      if (!ok)
        log::warn("PAGODA_CPU_ISA='{}' is not one of generic, avx2, avx512; using {}", env, cpu_isa_name(best));
      else if (wanted > best)
        log::warn("PAGODA_CPU_ISA={} but this processor supports only {}; using {}", env,
                  cpu_isa_name(best), cpu_isa_name(best));
      else
        best = wanted;
    }
    return best;
  }();
  return isa;
}

}  // namespace

CpuIsa detected_cpu_isa() {
  static const CpuIsa isa = [] {
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512dq"))
      return CpuIsa::Avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c"))
      return CpuIsa::Avx2;
    return CpuIsa::Generic;
  }();
  return isa;
}

CpuIsa cpu_isa() { return selected().load(std::memory_order_relaxed); }

void set_cpu_isa(CpuIsa isa) {
  PAGODA_CHECK(isa <= detected_cpu_isa(), Unsupported,
               std::string("this processor does not support ") + std::string(cpu_isa_name(isa)),
               std::string("choose ") + std::string(cpu_isa_name(detected_cpu_isa())) + " or lower");
  selected().store(isa);
}

std::string_view cpu_isa_name(CpuIsa isa) {
  switch (isa) {
    case CpuIsa::Generic: return "generic";
    case CpuIsa::Avx2: return "avx2";
    case CpuIsa::Avx512: return "avx512";
  }
  return "unknown";
}

}  // namespace pagoda::cpu
