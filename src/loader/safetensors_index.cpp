#include "loader/safetensors_index.h"

#include <fmt/format.h>

#include <set>
#include <string_view>

#include "loader/mmap_file.h"
#include "loader/safetensors_json.h"
#include "pagoda/error.h"

namespace pagoda {
namespace {

constexpr std::string_view kIndexFix =
    "the index is corrupt or hand-edited; re-download model.safetensors.index.json with the "
    "shards";

[[noreturn]] void fail(const std::filesystem::path& index, std::string_view problem,
                       std::string_view fix = kIndexFix) {
  throw_error(ErrorCode::InvalidFormat,
              fmt::format("safetensors index '{}': {}", index.string(), problem), std::string(fix));
}

// A shard name must stay inside the model directory: a hostile index must not make us map
// /etc/shadow or ../../other-model/weights.
void check_shard_name(const std::filesystem::path& index, const std::string& tensor,
                      const std::string& file) {
  if (file.empty())
    fail(index, fmt::format("weight_map maps tensor '{}' to an empty file name", tensor));
  const std::filesystem::path p(file);
  bool escapes = p.has_root_path();
  for (const auto& part : p) escapes = escapes || part == "..";
  if (escapes)
    fail(index,
         fmt::format("weight_map maps tensor '{}' to '{}', a path that escapes the model "
                     "directory (absolute, or containing '..')",
                     tensor, file),
         "shard names must be plain file names relative to the model directory; fix or "
         "re-download the index");
}

}  // namespace

SafetensorsIndex read_safetensors_index(const std::filesystem::path& index_path) {
  const auto mapping = MmapFile::open(index_path);
  const std::string_view text(reinterpret_cast<const char*>(mapping->data()), mapping->size());
  StrictJson parsed = parse_json_strict(text);
  switch (parsed.status) {
    case StrictJson::Status::Ok:
      break;
    case StrictJson::Status::Syntax:
    case StrictJson::Status::Truncated:
      fail(index_path, fmt::format("the index is not valid JSON ({})", parsed.detail));
    case StrictJson::Status::DuplicateKey:
      if (parsed.top_level_key == "weight_map")
        fail(index_path, fmt::format("tensor '{}' appears twice in weight_map", parsed.key));
      fail(index_path, fmt::format("key \"{}\" appears twice{}", parsed.key,
                                   parsed.top_level_key.empty()
                                       ? std::string()
                                       : fmt::format(" inside \"{}\"", parsed.top_level_key)));
  }
  const auto& root = parsed.value;
  if (!root.is_object())
    fail(index_path,
         fmt::format("the index must be a JSON object, but it is a JSON {}", root.type_name()));
  auto wm = root.find("weight_map");
  if (wm == root.end())
    fail(index_path,
         "the index has no \"weight_map\" (the object mapping tensor names to shard "
         "files)");
  if (!wm->is_object())
    fail(index_path, fmt::format("\"weight_map\" must be an object of tensor name -> file name, "
                                 "but it is a JSON {}",
                                 wm->type_name()));
  if (wm->empty()) fail(index_path, "\"weight_map\" is empty: the index names no tensors");

  SafetensorsIndex index;
  std::set<std::string> files;
  for (const auto& [tensor, file] : wm->items()) {
    if (!file.is_string())
      fail(index_path, fmt::format("weight_map entry for tensor '{}' must be a file name string, "
                                   "but it is a JSON {}: {}",
                                   tensor, file.type_name(), json_excerpt(file)));
    const auto& name = file.get_ref<const std::string&>();
    check_shard_name(index_path, tensor, name);
    // "./a.safetensors" and "a.safetensors" are one file; normalise so it is opened once.
    std::string normal = std::filesystem::path(name).lexically_normal().string();
    index.weight_map.emplace(tensor, normal);
    files.insert(std::move(normal));
  }
  index.files.assign(files.begin(), files.end());
  return index;
}

}  // namespace pagoda
