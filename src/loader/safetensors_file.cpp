// SafetensorsFile: a validated header plus the mapping its tensors view.
#include <fmt/format.h>

#include "loader/mmap_file.h"
#include "loader/safetensors_header.h"
#include "pagoda/error.h"
#include "pagoda/safetensors.h"

namespace pagoda {

struct SafetensorsFile::State {
  std::filesystem::path path;
  std::shared_ptr<const MmapFile> mapping;
  // One read-only storage over the whole data region, shared by every tensor view; it holds the
  // mapping alive.
  std::shared_ptr<Storage> data;
  SafetensorsHeader header;
  std::map<std::string, size_t, std::less<>> by_name;  // name -> index in header.tensors
};

SafetensorsFile::SafetensorsFile(const std::filesystem::path& path) {
  auto state = std::make_shared<State>();
  state->path = path;
  state->mapping = MmapFile::open(path);
  state->header = parse_safetensors_header(state->mapping->bytes(), path.string());
  // The storage is read-only: Storage refuses mutable access, so the const_cast is never used to
  // write (the pages are mapped PROT_READ anyway).
  auto* begin = const_cast<uint8_t*>(state->mapping->data() + state->header.data_offset);
  state->data = Storage::borrow(begin, state->header.data_size, Device::cpu(), /*read_only=*/true,
                                state->mapping);
  const auto& tensors = state->header.tensors;
  for (size_t i = 0; i < tensors.size(); ++i) state->by_name.emplace(tensors[i].name, i);
  state_ = std::move(state);
}

const std::filesystem::path& SafetensorsFile::path() const {
  return state_->path;
}
size_t SafetensorsFile::size() const {
  return state_->header.tensors.size();
}
const std::vector<SafetensorsTensorInfo>& SafetensorsFile::tensors() const {
  return state_->header.tensors;
}
const std::map<std::string, std::string>& SafetensorsFile::metadata() const {
  return state_->header.metadata;
}

std::vector<std::string> SafetensorsFile::names() const {
  std::vector<std::string> out;
  out.reserve(size());
  for (const auto& t : tensors()) out.push_back(t.name);
  return out;
}

const SafetensorsTensorInfo* SafetensorsFile::find(std::string_view name) const {
  auto it = state_->by_name.find(name);
  return it == state_->by_name.end() ? nullptr : &state_->header.tensors[it->second];
}

Tensor SafetensorsFile::get(std::string_view name) const {
  const SafetensorsTensorInfo* info = find(name);
  PAGODA_CHECK(info != nullptr, NotFound,
               fmt::format("tensor '{}' is not in safetensors file '{}' ({} tensors)", name,
                           state_->path.string(), size()),
               "check the name against SafetensorsFile::names(); the checkpoint may belong to a "
               "different model or revision");
  return at(static_cast<size_t>(info - state_->header.tensors.data())).second;
}

NamedTensor SafetensorsFile::at(size_t index) const {
  PAGODA_CHECK(index < size(), InvalidArgument,
               fmt::format("tensor index {} is out of range for safetensors file '{}' with {} "
                           "tensors",
                           index, state_->path.string(), size()),
               "use an index below size()");
  const SafetensorsTensorInfo& info = state_->header.tensors[index];
  return {info.name, Tensor::from_storage(state_->data, info.begin, info.shape,
                                          contiguous_strides(info.shape), info.dtype)};
}

}  // namespace pagoda
