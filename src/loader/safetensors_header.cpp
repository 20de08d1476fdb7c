#include "loader/safetensors_header.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <limits>
#include <optional>
#include <string_view>

#include "loader/safetensors_json.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"

namespace pagoda {
namespace {

using nlohmann::json;

constexpr std::string_view kCorruptFix =
    "the file is truncated or corrupt; re-download it (or re-export it with the safetensors "
    "library)";

constexpr std::array<DType, 12> kAllDTypes{
    DType::F64, DType::F32, DType::F16, DType::BF16, DType::FP8_E4M3, DType::FP8_E5M2,
    DType::I64, DType::I32, DType::I16, DType::I8,   DType::U8,       DType::Bool};

// Builds the errors of one file, and of one tensor inside it.
class Reporter {
 public:
  explicit Reporter(const std::string& file) : file_(file) {}

  [[noreturn]] void fail(std::string_view problem, std::string_view fix = kCorruptFix) const {
    throw_error(ErrorCode::InvalidFormat, fmt::format("safetensors file '{}': {}", file_, problem),
                std::string(fix));
  }
  [[noreturn]] void fail_tensor(std::string_view tensor, std::string_view problem,
                                std::string_view fix = kCorruptFix) const {
    fail(fmt::format("tensor '{}': {}", tensor, problem), fix);
  }
  const std::string& file() const { return file_; }

 private:
  const std::string& file_;
};

std::string known_dtypes() {
  std::string out;
  for (DType d : kAllDTypes) {
    if (!out.empty()) out += ", ";
    out += safetensors_dtype_name(d);
  }
  return out;
}

uint64_t read_le64(const uint8_t* p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i) v = (v << 8) | p[i];
  return v;
}

const json& required(const json& entry, const char* key, const std::string& name,
                     const Reporter& r) {
  auto it = entry.find(key);
  if (it == entry.end())
    r.fail_tensor(name, fmt::format("entry is missing key \"{}\" (an entry needs \"dtype\", "
                                    "\"shape\" and \"data_offsets\")",
                                    key));
  return *it;
}

DType parse_entry_dtype(const json& v, const std::string& name, const Reporter& r) {
  if (!v.is_string())
    r.fail_tensor(
        name, fmt::format("\"dtype\" must be a string such as \"BF16\", but it is a JSON {}: {}",
                          v.type_name(), json_excerpt(v)));
  const auto& s = v.get_ref<const std::string&>();
  auto dtype = parse_safetensors_dtype(s);
  if (!dtype)
    r.fail_tensor(
        name, fmt::format("unknown dtype \"{}\"; Pagoda reads {}", text_excerpt(s), known_dtypes()),
        "convert the checkpoint to one of these dtypes, or check that the file is not "
        "corrupt");
  return *dtype;
}

Shape parse_entry_shape(const json& v, const std::string& name, const Reporter& r) {
  if (!v.is_array())
    r.fail_tensor(name, fmt::format("\"shape\" must be an array of sizes, but it is a JSON {}: {}",
                                    v.type_name(), json_excerpt(v)));
  if (v.size() > static_cast<size_t>(kMaxDims))
    throw_error(ErrorCode::Unsupported,
                fmt::format("safetensors file '{}': tensor '{}': shape has {} dimensions; Pagoda "
                            "supports at most {}",
                            r.file(), name, v.size(), kMaxDims),
                "reshape the tensor to fewer dimensions when exporting the checkpoint");
  std::array<int64_t, kMaxDims> dims{};
  for (size_t i = 0; i < v.size(); ++i) {
    const json& d = v[i];
    if (d.is_number_unsigned()) {
      const uint64_t u = d.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()))
        r.fail_tensor(name,
                      fmt::format("shape dimension {} is {}, beyond the largest size a tensor "
                                  "can have",
                                  i, u));
      dims[i] = static_cast<int64_t>(u);
    } else if (d.is_number_integer()) {
      r.fail_tensor(name, fmt::format("shape {} has a negative dimension {} at position {}",
                                      json_excerpt(v), d.get<int64_t>(), i));
    } else {
      r.fail_tensor(name, fmt::format("shape dimension {} must be a non-negative integer, but it "
                                      "is {}",
                                      i, json_excerpt(d)));
    }
  }
  return Shape(std::span<const int64_t>(dims.data(), v.size()));
}

std::array<uint64_t, 2> parse_entry_offsets(const json& v, const std::string& name,
                                            const Reporter& r) {
  if (!v.is_array())
    r.fail_tensor(name,
                  fmt::format("\"data_offsets\" must be an array [begin, end], but it is a JSON "
                              "{}: {}",
                              v.type_name(), json_excerpt(v)));
  if (v.size() != 2)
    r.fail_tensor(name, fmt::format("\"data_offsets\" must have exactly 2 entries [begin, end], "
                                    "but it has {}: {}",
                                    v.size(), json_excerpt(v)));
  std::array<uint64_t, 2> out{};
  for (size_t i = 0; i < 2; ++i) {
    if (!v[i].is_number_unsigned())
      r.fail_tensor(name,
                    fmt::format("data_offsets[{}] must be a non-negative integer, but it is {}", i,
                                json_excerpt(v[i])));
    out[i] = v[i].get<uint64_t>();
  }
  if (out[0] > out[1])
    r.fail_tensor(name, fmt::format("data_offsets [{}, {}] begin after they end", out[0], out[1]));
  return out;
}

// Bytes of a tensor of `shape` and `dtype`, or nullopt when that does not fit in 64 bits.
std::optional<uint64_t> checked_nbytes(const Shape& shape, DType dtype) {
  uint64_t n = dtype_size(dtype);
  for (int64_t d : shape) {
    const auto u = static_cast<uint64_t>(d);
    if (u != 0 && n > std::numeric_limits<uint64_t>::max() / u) {
      // A zero dimension elsewhere makes the product 0 however large the others are.
      if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
      return std::nullopt;
    }
    n *= u;
  }
  return n;
}

SafetensorsTensorInfo parse_entry(const std::string& name, const json& entry, uint64_t data_size,
                                  const Reporter& r) {
  if (!entry.is_object())
    r.fail_tensor(name, fmt::format("entry must be a JSON object with \"dtype\", \"shape\" and "
                                    "\"data_offsets\", but it is a JSON {}",
                                    entry.type_name()));
  for (const auto& [key, value] : entry.items()) {
    if (key != "dtype" && key != "shape" && key != "data_offsets")
      r.fail_tensor(name, fmt::format("entry has unexpected key \"{}\"; only \"dtype\", \"shape\" "
                                      "and \"data_offsets\" are allowed",
                                      key));
  }
  SafetensorsTensorInfo info;
  info.name = name;
  info.dtype = parse_entry_dtype(required(entry, "dtype", name, r), name, r);
  info.shape = parse_entry_shape(required(entry, "shape", name, r), name, r);
  const auto offsets = parse_entry_offsets(required(entry, "data_offsets", name, r), name, r);
  info.begin = offsets[0];
  info.end = offsets[1];

  const auto nbytes = checked_nbytes(info.shape, info.dtype);
  if (!nbytes)
    r.fail_tensor(name, fmt::format("shape {} of {} has a byte size that overflows 64 bits",
                                    info.shape.to_string(), safetensors_dtype_name(info.dtype)));
  if (*nbytes != info.nbytes())
    r.fail_tensor(name,
                  fmt::format("shape {} of {} needs {} bytes but data_offsets [{}, {}] span {}",
                              info.shape.to_string(), safetensors_dtype_name(info.dtype), *nbytes,
                              info.begin, info.end, info.nbytes()));
  if (info.end > data_size)
    r.fail_tensor(name, fmt::format("data_offsets [{}, {}] end past the data region, which holds "
                                    "only {} bytes",
                                    info.begin, info.end, data_size));
  return info;
}

std::map<std::string, std::string> parse_metadata(const json& v, const Reporter& r) {
  std::map<std::string, std::string> out;
  if (v.is_null()) return out;
  if (!v.is_object())
    r.fail(fmt::format("\"__metadata__\" must be a JSON object of strings, but it is a JSON {}",
                       v.type_name()));
  for (const auto& [key, value] : v.items()) {
    if (!value.is_string())
      r.fail(fmt::format(
          "\"__metadata__\" value for key \"{}\" must be a string, but it is a JSON {}: {}", key,
          value.type_name(), json_excerpt(value)));
    out.emplace(key, value.get<std::string>());
  }
  return out;
}

json parse_header_json(std::string_view text, const Reporter& r) {
  StrictJson parsed = parse_json_strict(text);
  switch (parsed.status) {
    case StrictJson::Status::Ok:
      return std::move(parsed.value);
    case StrictJson::Status::Syntax:
      r.fail(fmt::format("the header is not valid JSON ({})", parsed.detail));
    case StrictJson::Status::Truncated:
      r.fail(fmt::format("the header JSON ends before it is complete ({})", parsed.detail));
    case StrictJson::Status::DuplicateKey:
      if (parsed.top_level_key.empty())
        r.fail(fmt::format("tensor name '{}' appears twice in the header", parsed.key));
      r.fail(fmt::format("the entry of '{}' has the key \"{}\" twice", parsed.top_level_key,
                         parsed.key));
  }
  PAGODA_ASSERT(false);
}

// Sorts into file order and rejects tensors sharing bytes. Uncovered bytes are allowed (the
// format does not forbid them) but reported, as no standard writer produces them.
void order_and_check_overlaps(std::vector<SafetensorsTensorInfo>& tensors, uint64_t data_size,
                              const Reporter& r) {
  std::sort(tensors.begin(), tensors.end(), [](const auto& a, const auto& b) {
    if (a.begin != b.begin) return a.begin < b.begin;
    if (a.end != b.end) return a.end < b.end;
    return a.name < b.name;
  });
  const SafetensorsTensorInfo* previous = nullptr;  // last tensor with bytes
  uint64_t covered = 0;
  for (const auto& t : tensors) {
    if (t.nbytes() == 0) continue;
    if (previous && t.begin < previous->end)
      r.fail_tensor(t.name,
                    fmt::format("bytes [{}, {}) overlap those of tensor '{}' [{}, {})", t.begin,
                                t.end, previous->name, previous->begin, previous->end));
    covered += t.nbytes();
    previous = &t;
  }
  if (covered != data_size)
    log::warn("safetensors file '{}': {} of the {} data bytes belong to no tensor; reading anyway",
              r.file(), data_size - covered, data_size);
}

}  // namespace

SafetensorsHeader parse_safetensors_header(std::span<const uint8_t> bytes,
                                           const std::string& file) {
  const Reporter r(file);
  if (bytes.size() < 8)
    r.fail(fmt::format("the file has only {} byte{}, fewer than the 8-byte header length",
                       bytes.size(), bytes.size() == 1 ? "" : "s"));
  const uint64_t header_len = read_le64(bytes.data());
  if (header_len < 2)
    r.fail(fmt::format("header length {} is too small; the smallest header, \"{{}}\", has 2 bytes",
                       header_len));
  if (header_len > kSafetensorsMaxHeaderBytes)
    r.fail(fmt::format("header length {} exceeds the {}-byte limit for safetensors headers",
                       header_len, kSafetensorsMaxHeaderBytes));
  const uint64_t after_prefix = bytes.size() - 8;
  if (header_len > after_prefix)
    r.fail(
        fmt::format("header length {} is larger than the {} bytes that follow the length "
                    "prefix",
                    header_len, after_prefix));

  SafetensorsHeader header;
  header.data_offset = 8 + header_len;
  header.data_size = bytes.size() - header.data_offset;

  const std::string_view text(reinterpret_cast<const char*>(bytes.data() + 8), header_len);
  const json root = parse_header_json(text, r);
  if (!root.is_object())
    r.fail(
        fmt::format("the header must be a JSON object mapping tensor names to entries, but it "
                    "is a JSON {}",
                    root.type_name()));

  header.tensors.reserve(root.size());
  for (const auto& [name, value] : root.items()) {
    if (name == "__metadata__")
      header.metadata = parse_metadata(value, r);
    else
      header.tensors.push_back(parse_entry(name, value, header.data_size, r));
  }
  order_and_check_overlaps(header.tensors, header.data_size, r);
  return header;
}

}  // namespace pagoda
