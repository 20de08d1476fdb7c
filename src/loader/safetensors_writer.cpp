// Writing safetensors files and sharded checkpoints (for tests and tools; not on any hot path).
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <functional>
#include <nlohmann/json.hpp>
#include <set>

#include "pagoda/error.h"
#include "pagoda/safetensors.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;
using ordered_json = nlohmann::ordered_json;

[[noreturn]] void throw_write_error(const fs::path& path, int err) {
  throw_error(ErrorCode::Io,
              fmt::format("cannot write '{}': {}", path.string(), std::strerror(err)),
              "check that the directory exists and is writable and that the disk is not full");
}

// Writes through `fill` into "<path>.partial" and renames it over `path` once complete, so readers
// never see a half-written file and a failure leaves nothing behind.
void write_atomically(const fs::path& path, const std::function<void(std::FILE*)>& fill) {
  const fs::path partial = fs::path(path.string() + ".partial");
  std::FILE* out = std::fopen(partial.c_str(), "wb");
  if (!out) throw_write_error(partial, errno);
  try {
    fill(out);
  } catch (...) {
    std::fclose(out);
    std::remove(partial.c_str());
    throw;
  }
  if (std::fclose(out) != 0) {
    const int err = errno;
    std::remove(partial.c_str());
    throw_write_error(partial, err);
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    const int rename_err = errno;
    std::remove(partial.c_str());
    throw_write_error(path, rename_err);
  }
}

void write_bytes(std::FILE* out, const void* data, size_t n, const fs::path& path) {
  if (n != 0 && std::fwrite(data, 1, n, out) != n) throw_write_error(path, errno ? errno : EIO);
}

void check_writable(const std::string& name, const Tensor& t, const fs::path& path) {
  PAGODA_CHECK(name != "__metadata__", InvalidArgument,
               fmt::format("cannot write a tensor named '__metadata__' to '{}': the name is "
                           "reserved for the metadata object",
                           path.string()),
               "rename the tensor");
  PAGODA_CHECK(t.defined(), InvalidArgument,
               fmt::format("tensor '{}' to be written to '{}' is undefined", name, path.string()),
               "pass a created tensor");
  PAGODA_CHECK(t.device().is_cpu(), Unsupported,
               fmt::format("tensor '{}' to be written to '{}' is on {}", name, path.string(),
                           t.device().to_string()),
               "copy it to the CPU first");
}

// The header JSON, in the order of `tensors`, padded with spaces to a multiple of 8 bytes so the
// data region (at 8 + header length) starts 8-byte aligned.
std::string make_header(std::span<const NamedTensor> tensors,
                        const std::map<std::string, std::string>& metadata) {
  ordered_json header = ordered_json::object();
  if (!metadata.empty()) {
    ordered_json meta = ordered_json::object();
    for (const auto& [k, v] : metadata) meta[k] = v;
    header["__metadata__"] = std::move(meta);
  }
  uint64_t offset = 0;
  for (const auto& [name, t] : tensors) {
    ordered_json entry = ordered_json::object();
    entry["dtype"] = std::string(safetensors_dtype_name(t.dtype()));
    ordered_json shape = ordered_json::array();
    for (int64_t d : t.shape()) shape.push_back(d);
    entry["shape"] = std::move(shape);
    entry["data_offsets"] = ordered_json::array({offset, offset + t.nbytes()});
    offset += t.nbytes();
    header[name] = std::move(entry);
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  return text;
}

}  // namespace

void write_safetensors(const fs::path& path, std::span<const NamedTensor> tensors,
                       const std::map<std::string, std::string>& metadata) {
  std::set<std::string_view> seen;
  for (const auto& [name, t] : tensors) {
    check_writable(name, t, path);
    PAGODA_CHECK(seen.insert(name).second, InvalidArgument,
                 fmt::format("tensor name '{}' is given twice for '{}'", name, path.string()),
                 "give every tensor a distinct name");
  }
  const std::string header = make_header(tensors, metadata);
  write_atomically(path, [&](std::FILE* out) {
    uint8_t len[8];
    for (int i = 0; i < 8; ++i) len[i] = static_cast<uint8_t>(uint64_t{header.size()} >> (8 * i));
    write_bytes(out, len, sizeof len, path);
    write_bytes(out, header.data(), header.size(), path);
    for (const auto& [name, t] : tensors) {
      if (t.numel() == 0) continue;
      const Tensor c = t.contiguous();
      write_bytes(out, c.data(), c.nbytes(), path);
    }
  });
}

std::vector<std::string> write_sharded_safetensors(
    const fs::path& directory, std::span<const std::vector<NamedTensor>> shards,
    const std::map<std::string, std::string>& metadata) {
  PAGODA_CHECK(!shards.empty(), InvalidArgument,
               fmt::format("no shards given for the checkpoint in '{}'", directory.string()),
               "pass at least one shard");
  std::error_code ec;
  fs::create_directories(directory, ec);
  PAGODA_CHECK(!ec, Io,
               fmt::format("cannot create directory '{}': {}", directory.string(), ec.message()),
               "check the path and permissions");

  std::vector<std::string> files;
  std::map<std::string, std::string> weight_map;
  uint64_t total = 0;
  for (size_t i = 0; i < shards.size(); ++i) {
    files.push_back(fmt::format("model-{:05d}-of-{:05d}.safetensors", i + 1, shards.size()));
    for (const auto& [name, t] : shards[i]) {
      PAGODA_CHECK(
          weight_map.emplace(name, files.back()).second, InvalidArgument,
          fmt::format("tensor '{}' is given in two shards for '{}'", name, directory.string()),
          "put every tensor in exactly one shard");
      if (t.defined()) total += t.nbytes();
    }
  }
  for (size_t i = 0; i < shards.size(); ++i)
    write_safetensors(directory / files[i], shards[i], metadata);

  ordered_json index = ordered_json::object();
  index["metadata"] = ordered_json{{"total_size", total}};
  index["weight_map"] = ordered_json::object();
  for (const auto& [name, file] : weight_map) index["weight_map"][name] = file;
  const std::string text = index.dump(2) + "\n";
  const fs::path index_path = directory / kSafetensorsIndexFileName;
  write_atomically(index_path,
                   [&](std::FILE* out) { write_bytes(out, text.data(), text.size(), index_path); });
  return files;
}

}  // namespace pagoda
