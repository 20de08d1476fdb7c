// model.safetensors.index.json: which shard file holds each tensor of a sharded checkpoint.
#pragma once

#include <filesystem>
#include <map>
#include <string>
#include <vector>

namespace pagoda {

struct SafetensorsIndex {
  std::map<std::string, std::string> weight_map;  // tensor name -> shard file name
  std::vector<std::string> files;                 // distinct shard names, sorted
};

// Reads and validates an index: a JSON object (no duplicate keys) whose "weight_map" is a
// non-empty object of tensor name -> file name, every file name relative and inside the index's
// directory (no absolute paths, no ".." components). Other keys ("metadata") are ignored. Throws
// pagoda::Error naming the index file and the offending entry.
SafetensorsIndex read_safetensors_index(const std::filesystem::path& index_path);

}  // namespace pagoda
