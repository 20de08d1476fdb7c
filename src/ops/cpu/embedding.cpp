#include "ops/cpu/embedding.h"

#include <fmt/format.h>

#include <cstring>

#include "ops/cpu/row_io.h"
#include "ops/rows.h"
#include "pagoda/error.h"
#include "pagoda/thread_pool.h"

namespace pagoda::ops::cpu {
namespace {

int64_t id_at(const Tensor& ids, int64_t t) {
  const int64_t s = ids.stride(0);
  return ids.dtype() == DType::I64 ? ids.data_as<int64_t>()[t * s]
                                   : static_cast<int64_t>(ids.data_as<int32_t>()[t * s]);
}

}  // namespace

void embedding(const Tensor& ids, const Tensor& table, Tensor& out) {
  const int64_t num_tokens = ids.size(0);
  const int64_t vocab = table.size(0);
  const int64_t h = table.size(1);
  // Check every id before writing anything: a bad id must not leave out half-written.
  for (int64_t t = 0; t < num_tokens; ++t) {
    const int64_t id = id_at(ids, t);
    PAGODA_CHECK(
        id >= 0 && id < vocab, InvalidArgument,
        fmt::format("embedding: ids[{}] = {} is outside the vocabulary [0, {})", t, id, vocab),
        "token ids must come from the model's own tokenizer; check that the tokenizer "
        "and the checkpoint belong together (vocab_size in config.json)");
  }
  if (num_tokens == 0 || h == 0) return;
  const RowLayout tl(table), ol(out);
  const DType td = table.dtype(), od = out.dtype();
  const int64_t ti = static_cast<int64_t>(table.itemsize()),
                oi = static_cast<int64_t>(out.itemsize());
  const char* tb = static_cast<const char*>(table.data());
  char* ob = static_cast<char*>(out.mutable_data());
  parallel_for(0, num_tokens, row_grain(h, 32768), [&](int64_t begin, int64_t end) {
    float* buf = td == od ? nullptr : scratch(0, h);
    for (int64_t t = begin; t < end; ++t) {
      const char* src = tb + tl.offset(id_at(ids, t)) * ti;
      char* dst = ob + ol.offset(t) * oi;
      if (td == od)
        std::memcpy(dst, src, static_cast<size_t>(h * ti));
      else
        store_f32(load_f32(src, td, h, buf), dst, od, h);
    }
  });
}

}  // namespace pagoda::ops::cpu
