#include "engine/step_batch.h"

#include <fmt/format.h>

#include "pagoda/error.h"

namespace pagoda::engine {
namespace {

constexpr int64_t kMagic = 0x5041474f44410001;  // "PAGODA", format 1
constexpr size_t kFields = 7;

}  // namespace

void StepBatch::clear() {
  input_ids.clear();
  positions.clear();
  slot_mapping.clear();
  query_start_loc.clear();
  seq_lens.clear();
  block_tables.clear();
  max_blocks_per_seq = 0;
  logit_rows.clear();
}

ForwardContext StepBatch::context() const {
  ForwardContext c;
  c.query_start_loc = query_start_loc;
  c.paged = true;
  c.slot_mapping = slot_mapping;
  c.seq_lens = seq_lens;
  c.block_tables = block_tables;
  c.max_blocks_per_seq = max_blocks_per_seq;
  return c;
}

void StepBatch::pack(std::vector<int64_t>& out) const {
  const std::vector<int64_t>* fields[] = {&input_ids,       &positions, &slot_mapping,
                                          &query_start_loc, &seq_lens,  &logit_rows};
  out.clear();
  out.push_back(kMagic);
  out.push_back(max_blocks_per_seq);
  for (const auto* f : fields) out.push_back(static_cast<int64_t>(f->size()));
  out.push_back(static_cast<int64_t>(block_tables.size()));
  for (const auto* f : fields) out.insert(out.end(), f->begin(), f->end());
  out.insert(out.end(), block_tables.begin(), block_tables.end());
}

void StepBatch::unpack(std::span<const int64_t> packed) {
  std::vector<int64_t>* fields[] = {&input_ids,       &positions, &slot_mapping,
                                    &query_start_loc, &seq_lens,  &logit_rows};
  const auto bad = [&](const std::string& why) {
    throw Error(ErrorCode::Internal, "a step batch from rank 0 is malformed: " + why,
                "every rank must run the same Pagoda build");
  };
  if (packed.size() < 2 + kFields || packed[0] != kMagic) bad("no header");
  max_blocks_per_seq = packed[1];
  size_t pos = 2 + kFields, total = pos;
  for (size_t i = 0; i < kFields; ++i) {
    if (packed[2 + i] < 0) bad("a negative length");
    total += static_cast<size_t>(packed[2 + i]);
  }
  if (total != packed.size())
    bad(fmt::format("{} values for a header of {}", packed.size(), total));
  for (size_t i = 0; i < std::size(fields); ++i) {
    const auto n = static_cast<size_t>(packed[2 + i]);
    fields[i]->assign(packed.begin() + static_cast<int64_t>(pos),
                      packed.begin() + static_cast<int64_t>(pos + n));
    pos += n;
  }
  const auto n = static_cast<size_t>(packed[2 + kFields - 1]);
  block_tables.resize(n);
  for (size_t i = 0; i < n; ++i) block_tables[i] = static_cast<int32_t>(packed[pos + i]);
}

}  // namespace pagoda::engine
