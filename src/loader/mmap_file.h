// A read-only memory mapping of a whole file.
//
// Weights are read straight from the page cache through the mapping: nothing is copied until a
// kernel touches the bytes, and the OS may drop clean pages under memory pressure. A mapping lives
// as long as the last shared_ptr to it, which is what lets tensor views outlive the reader that
// created them.
//
// Caveat: if another process truncates the file while it is mapped, touching the lost pages raises
// SIGBUS. Model files are not modified in place in practice; nothing cheap can guard against it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <span>

namespace pagoda {

class MmapFile {
 public:
  // Maps `path` read-only. Throws pagoda::Error naming the path and the reason: NotFound when the
  // file does not exist, Io when the OS refuses (the message carries strerror), InvalidFormat
  // when it is a directory or empty.
  static std::shared_ptr<const MmapFile> open(const std::filesystem::path& path);

  ~MmapFile();
  MmapFile(const MmapFile&) = delete;
  MmapFile& operator=(const MmapFile&) = delete;

  const std::filesystem::path& path() const { return path_; }
  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  std::span<const uint8_t> bytes() const { return {data_, size_}; }

 private:
  MmapFile() = default;
  std::filesystem::path path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace pagoda
