// Reading and writing Hugging Face safetensors checkpoints.
//
// File format: an 8-byte little-endian header length N, then N bytes of JSON mapping each tensor
// name to {"dtype", "shape", "data_offsets": [begin, end]} (offsets relative to the data region,
// which starts right after the header), plus an optional "__metadata__" object of strings.
//
// Reading is zero-copy: a file is memory-mapped and every tensor is a read-only view into the
// mapping. The views keep the mapping alive on their own, so they stay valid after the
// SafetensorsFile / SafetensorsCheckpoint that produced them is gone. To modify a weight, clone()
// it. Opening a file parses and validates its whole header (every field, bounds, overlaps) and
// throws pagoda::Error naming the file, the tensor and the problem; it reads no tensor data.
//
// Typical use by a weight loader:
//
//   SafetensorsCheckpoint ckpt(model_dir);        // model.safetensors.index.json or
//   model.safetensors for (auto [name, tensor] : ckpt) load(name, tensor);   // lazily, file by
//   file, in file order Tensor emb = ckpt.get("model.embed_tokens.weight");
//
// Tensor data in a safetensors file need not be aligned to its element size (offsets are only
// packed byte positions); typed access through data_as<T>() is then unaligned. Files written by
// write_safetensors() start the data region at a multiple of 8 bytes.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <iterator>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "pagoda/dtype.h"
#include "pagoda/tensor.h"
#include "pagoda/weight_loading.h"

namespace pagoda {

// What iteration yields: a tensor's checkpoint name and a read-only view of it.
using NamedTensor = std::pair<std::string, Tensor>;

// Largest header accepted (the same bound as the reference safetensors library). Real headers are
// well under 10 MB; a larger value means a corrupt or hostile file.
constexpr uint64_t kSafetensorsMaxHeaderBytes = 100'000'000;

// The file names Hugging Face uses for single-file and sharded checkpoints.
inline constexpr std::string_view kSafetensorsSingleFileName = "model.safetensors";
inline constexpr std::string_view kSafetensorsIndexFileName = "model.safetensors.index.json";

// One header entry, validated.
struct SafetensorsTensorInfo {
  std::string name;
  DType dtype = DType::F32;
  Shape shape;
  // Byte range [begin, end) of the tensor relative to the start of the data region.
  uint64_t begin = 0;
  uint64_t end = 0;

  uint64_t nbytes() const { return end - begin; }
};

// Forward iterator over anything with `size()` and `NamedTensor at(size_t)`; each dereference
// creates the view then, so iterating materialises nothing in advance.
template <typename Source>
class NamedTensorIterator {
 public:
  using iterator_concept = std::forward_iterator_tag;
  using iterator_category = std::input_iterator_tag;  // dereference returns a value, not a ref
  using value_type = NamedTensor;
  using difference_type = std::ptrdiff_t;
  using reference = NamedTensor;

  NamedTensorIterator() = default;
  NamedTensorIterator(const Source* source, size_t index) : source_(source), index_(index) {}

  NamedTensor operator*() const { return source_->at(index_); }
  NamedTensorIterator& operator++() {
    ++index_;
    return *this;
  }
  NamedTensorIterator operator++(int) {
    NamedTensorIterator old = *this;
    ++index_;
    return old;
  }
  bool operator==(const NamedTensorIterator& other) const = default;

 private:
  const Source* source_ = nullptr;
  size_t index_ = 0;
};

// One memory-mapped .safetensors file. Cheap to copy (copies share the mapping and the parsed
// header). Tensors are listed in file order: sorted by their position in the data region, the
// order in which reading them touches the disk sequentially.
class SafetensorsFile {
 public:
  using iterator = NamedTensorIterator<SafetensorsFile>;

  // Maps and validates `path`. Throws pagoda::Error: NotFound / Io when the file cannot be opened
  // or mapped, InvalidFormat (naming the file, the tensor and the problem) when it is malformed,
  // Unsupported for a tensor of more than kMaxDims dimensions.
  explicit SafetensorsFile(const std::filesystem::path& path);

  const std::filesystem::path& path() const;
  // Number of tensors.
  size_t size() const;
  bool empty() const { return size() == 0; }

  // Header entries in file order.
  const std::vector<SafetensorsTensorInfo>& tensors() const;
  // Tensor names in file order.
  std::vector<std::string> names() const;
  // The entry called `name`, or nullptr.
  const SafetensorsTensorInfo* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }

  // The tensor called `name` as a read-only view; throws pagoda::Error(NotFound) naming the file.
  Tensor get(std::string_view name) const;
  // The index-th tensor in file order (index < size()).
  NamedTensor at(size_t index) const;

  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size()}; }

  // The "__metadata__" object (empty when absent), e.g. {"format": "pt"}.
  const std::map<std::string, std::string>& metadata() const;

 private:
  struct State;
  std::shared_ptr<const State> state_;
};

// All weight files of a model: a sharded checkpoint (model.safetensors.index.json plus the shards
// its "weight_map" names) or a single model.safetensors.
//
// Opening maps every file and validates every header up front (no tensor data is read), so a
// broken checkpoint fails before any weight is loaded. For a sharded checkpoint only the files
// named in the index are opened (a directory may also hold a consolidated copy that must not be
// loaded twice); each must exist inside the directory, every tensor in the weight map must be in
// its named shard, and no tensor may be in two shards. Tensors present in a shard but missing from
// the weight map are still served: the shard is the source of truth for its own contents.
class SafetensorsCheckpoint {
 public:
  using iterator = NamedTensorIterator<SafetensorsCheckpoint>;

  // `path` is a model directory or a single .safetensors file. In a directory, the index is used
  // when present, otherwise model.safetensors; if neither exists the error lists what was looked
  // for and the .safetensors files that are there.
  explicit SafetensorsCheckpoint(const std::filesystem::path& path);

  // The directory the files live in.
  const std::filesystem::path& directory() const { return directory_; }
  // The index file, when the checkpoint is sharded.
  const std::optional<std::filesystem::path>& index_path() const { return index_path_; }
  // The files, in iteration order (shards sorted by file name).
  const std::vector<SafetensorsFile>& files() const { return files_; }

  // Total number of tensors over all files.
  size_t size() const { return order_.size(); }
  bool empty() const { return order_.empty(); }
  // All names: file by file, each file in file order.
  std::vector<std::string> names() const;
  const SafetensorsTensorInfo* find(std::string_view name) const;
  bool contains(std::string_view name) const { return find(name) != nullptr; }
  // The file holding `name`; throws NotFound.
  const SafetensorsFile& file_of(std::string_view name) const;
  // Throws pagoda::Error(NotFound) naming the checkpoint.
  Tensor get(std::string_view name) const;
  // The index-th tensor of the iteration order.
  NamedTensor at(size_t index) const;

  iterator begin() const { return {this, 0}; }
  iterator end() const { return {this, size()}; }

 private:
  struct Location {
    uint32_t file;
    uint32_t tensor;
  };
  void open_sharded(const std::filesystem::path& index);
  // Appends a file's tensors to the iteration order; a name already present is an error.
  void add_file(const std::filesystem::path& file);
  const Location* locate(std::string_view name) const;
  [[noreturn]] void throw_not_found(std::string_view name) const;

  std::filesystem::path directory_;
  std::optional<std::filesystem::path> index_path_;
  std::vector<SafetensorsFile> files_;
  std::vector<Location> order_;                         // iteration order
  std::map<std::string, size_t, std::less<>> by_name_;  // name -> position in order_
};

// Writes `tensors` (CPU, any dtype, any strides: each is written contiguous) in the given order to
// a .safetensors file, with optional metadata. The header is padded with spaces to a multiple of 8
// bytes. Throws pagoda::Error(InvalidArgument) for duplicate or reserved ("__metadata__") names or
// undefined/non-CPU tensors, Io when the file cannot be written. The file is written under a
// temporary name and renamed into place, so a failed write leaves no partial file behind.
void write_safetensors(const std::filesystem::path& path, std::span<const NamedTensor> tensors,
                       const std::map<std::string, std::string>& metadata = {});

// Writes a sharded checkpoint into `directory` (created if needed): shard i (from 0) as
// "model-{i+1:05}-of-{n:05}.safetensors" (model-00001-of-00003.safetensors, ...) plus
// "model.safetensors.index.json" holding {"metadata": {"total_size": bytes}, "weight_map":
// {tensor: shard file}}. `metadata` goes into every shard's header. Returns the shard file names.
// A tensor name may appear in one shard only (InvalidArgument otherwise, before anything is
// written).
std::vector<std::string> write_sharded_safetensors(
    const std::filesystem::path& directory, std::span<const std::vector<NamedTensor>> shards,
    const std::map<std::string, std::string>& metadata = {});

// A WeightIterator over a safetensors checkpoint, in file order.
class CheckpointWeights : public WeightIterator {
 public:
  explicit CheckpointWeights(const SafetensorsCheckpoint& checkpoint) : checkpoint_(checkpoint) {}
  std::optional<std::pair<std::string, Tensor>> next() override {
    if (index_ >= checkpoint_.size()) return std::nullopt;
    return checkpoint_.at(index_++);
  }

 private:
  const SafetensorsCheckpoint& checkpoint_;
  size_t index_ = 0;
};

}  // namespace pagoda
