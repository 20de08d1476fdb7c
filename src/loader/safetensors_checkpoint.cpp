// SafetensorsCheckpoint: finds a model's weight files and serves their tensors as one collection.
#include <fmt/format.h>

#include <algorithm>
#include <limits>

#include "loader/safetensors_index.h"
#include "pagoda/error.h"
#include "pagoda/logging.h"
#include "pagoda/safetensors.h"

namespace pagoda {
namespace {

namespace fs = std::filesystem;

// The .safetensors files present, to say what *is* there when the expected names are not.
std::string describe_directory(const fs::path& dir) {
  std::vector<std::string> found;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(dir, ec)) {
    const std::string name = entry.path().filename().string();
    if (name.ends_with(".safetensors") || name.ends_with(".bin") || name.ends_with(".pt") ||
        name.ends_with(".pth"))
      found.push_back(name);
  }
  if (found.empty()) return "it holds no .safetensors, .bin or .pt files";
  std::sort(found.begin(), found.end());
  if (found.size() > 8) {
    found.resize(8);
    found.push_back("...");
  }
  return fmt::format("it holds {}", fmt::join(found, ", "));
}

bool is_file(const fs::path& p) {
  std::error_code ec;
  return fs::is_regular_file(p, ec);
}

}  // namespace

SafetensorsCheckpoint::SafetensorsCheckpoint(const fs::path& path) {
  std::error_code ec;
  PAGODA_CHECK(fs::exists(path, ec), NotFound,
               fmt::format("model path '{}' does not exist", path.string()),
               "pass a model directory (with model.safetensors or "
               "model.safetensors.index.json) or a .safetensors file");
  if (!fs::is_directory(path, ec)) {
    directory_ = path.parent_path();
    add_file(path);
    return;
  }
  directory_ = path;
  const fs::path index = path / kSafetensorsIndexFileName;
  const fs::path single = path / kSafetensorsSingleFileName;
  if (fs::exists(index, ec)) {
    open_sharded(index);
    return;
  }
  PAGODA_CHECK(
      fs::exists(single, ec), NotFound,
      fmt::format("no safetensors weights in '{}': looked for {} and {}; {}", path.string(),
                  kSafetensorsIndexFileName, kSafetensorsSingleFileName, describe_directory(path)),
      "download the model's safetensors files (Pagoda reads safetensors only; convert "
      ".bin/.pt checkpoints with the safetensors library), or pass the path of one "
      ".safetensors file");
  add_file(single);
}

void SafetensorsCheckpoint::open_sharded(const fs::path& index) {
  index_path_ = index;
  const SafetensorsIndex parsed = read_safetensors_index(index);
  // Only the files the index names: a directory may also hold a consolidated copy.
  for (const std::string& file : parsed.files) {
    if (!is_file(directory_ / file)) {
      auto it = std::find_if(parsed.weight_map.begin(), parsed.weight_map.end(),
                             [&](const auto& kv) { return kv.second == file; });
      throw_error(ErrorCode::NotFound,
                  fmt::format("safetensors index '{}' maps tensor '{}' to shard '{}', which does "
                              "not exist in '{}'",
                              index.string(), it->first, file, directory_.string()),
                  "download the missing shard (the download was probably interrupted), or "
                  "re-download the whole checkpoint");
    }
    add_file(directory_ / file);
  }
  // The shards are the truth; the index must agree with them.
  for (const auto& [tensor, file] : parsed.weight_map) {
    const Location* loc = locate(tensor);
    if (loc && files_[loc->file].path() == directory_ / file) continue;
    throw_error(ErrorCode::InvalidFormat,
                fmt::format("safetensors index '{}' maps tensor '{}' to shard '{}', but that shard "
                            "does not contain it{}",
                            index.string(), tensor, file,
                            loc ? fmt::format(" (it is in '{}')", files_[loc->file].path().string())
                                : std::string()),
                "the index and the shards come from different revisions; re-download the "
                "checkpoint");
  }
  for (const Location& loc : order_) {
    const std::string& name = files_[loc.file].tensors()[loc.tensor].name;
    if (!parsed.weight_map.contains(name))
      log::debug("tensor '{}' of '{}' is not listed in the index; serving it anyway", name,
                 files_[loc.file].path().string());
  }
}

void SafetensorsCheckpoint::add_file(const fs::path& path) {
  PAGODA_CHECK(files_.size() < std::numeric_limits<uint32_t>::max(), Unsupported,
               "a checkpoint of more than 4 billion files", "merge the shards");
  const auto f = static_cast<uint32_t>(files_.size());
  const SafetensorsFile& file = files_.emplace_back(path);
  for (uint32_t t = 0; t < file.size(); ++t) {
    const std::string& name = file.tensors()[t].name;
    auto [it, inserted] = by_name_.emplace(name, order_.size());
    if (!inserted)
      throw_error(
          ErrorCode::InvalidFormat,
          fmt::format("tensor '{}' is in two shards of the checkpoint indexed by '{}': "
                      "'{}' and '{}'",
                      name, index_path_.value_or(fs::path()).string(),
                      files_[order_[it->second].file].path().string(), file.path().string()),
          "the checkpoint is inconsistent (shards of two revisions?); re-download it");
    order_.push_back({f, t});
  }
}

std::vector<std::string> SafetensorsCheckpoint::names() const {
  std::vector<std::string> out;
  out.reserve(order_.size());
  for (const Location& loc : order_) out.push_back(files_[loc.file].tensors()[loc.tensor].name);
  return out;
}

const SafetensorsCheckpoint::Location* SafetensorsCheckpoint::locate(std::string_view name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &order_[it->second];
}

const SafetensorsTensorInfo* SafetensorsCheckpoint::find(std::string_view name) const {
  const Location* loc = locate(name);
  return loc ? &files_[loc->file].tensors()[loc->tensor] : nullptr;
}

void SafetensorsCheckpoint::throw_not_found(std::string_view name) const {
  throw_error(ErrorCode::NotFound,
              fmt::format("tensor '{}' is not in the checkpoint at '{}' ({} tensors in {} files)",
                          name, directory_.string(), size(), files_.size()),
              "check the name against names(); the checkpoint may belong to a different model "
              "or revision");
}

const SafetensorsFile& SafetensorsCheckpoint::file_of(std::string_view name) const {
  const Location* loc = locate(name);
  if (!loc) throw_not_found(name);
  return files_[loc->file];
}

Tensor SafetensorsCheckpoint::get(std::string_view name) const {
  const Location* loc = locate(name);
  if (!loc) throw_not_found(name);
  return files_[loc->file].at(loc->tensor).second;
}

NamedTensor SafetensorsCheckpoint::at(size_t index) const {
  PAGODA_CHECK(index < order_.size(), InvalidArgument,
               fmt::format("tensor index {} is out of range for a checkpoint of {} tensors", index,
                           order_.size()),
               "use an index below size()");
  const Location& loc = order_[index];
  return files_[loc.file].at(loc.tensor);
}

}  // namespace pagoda
