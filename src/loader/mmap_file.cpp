#include "loader/mmap_file.h"

#include <fcntl.h>
#include <fmt/format.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "pagoda/error.h"

namespace pagoda {
namespace {

// Closes the descriptor on every path out of open(); the mapping does not need it.
struct FdCloser {
  // O_NONBLOCK: opening a FIFO by mistake must fail later (not a regular file), not hang.
  int fd;
  ~FdCloser() {
    if (fd >= 0) ::close(fd);
  }
};

[[noreturn]] void throw_os_error(const std::filesystem::path& path, const char* action, int err) {
  const ErrorCode code = (err == ENOENT || err == ENOTDIR) ? ErrorCode::NotFound : ErrorCode::Io;
  const char* fix = err == ENOENT || err == ENOTDIR
                        ? "check the path; the file does not exist"
                        : (err == EACCES || err == EPERM ? "make the file readable by this user"
                                                         : "check the file and the file system");
  throw_error(code, fmt::format("cannot {} '{}': {}", action, path.string(), std::strerror(err)),
              fix);
}

}  // namespace

std::shared_ptr<const MmapFile> MmapFile::open(const std::filesystem::path& path) {
  // O_NONBLOCK: opening a FIFO by mistake must fail later (not a regular file), not hang.
  int fd;
  do {
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK);
  } while (fd < 0 && errno == EINTR);
  if (fd < 0) throw_os_error(path, "open", errno);
  FdCloser closer{fd};

  struct stat st {};
  if (::fstat(fd, &st) != 0) throw_os_error(path, "stat", errno);
  PAGODA_CHECK(!S_ISDIR(st.st_mode), InvalidFormat,
               fmt::format("cannot map '{}': it is a directory, not a file", path.string()),
               "pass the path of a file inside it");
  PAGODA_CHECK(S_ISREG(st.st_mode), InvalidFormat,
               fmt::format("cannot map '{}': it is not a regular file", path.string()),
               "pass the path of a regular file (not a pipe or device)");
  PAGODA_CHECK(
      st.st_size > 0, InvalidFormat, fmt::format("file '{}' is empty (0 bytes)", path.string()),
      "the file is truncated or was never written completely; re-download or re-create it");

  const size_t size = static_cast<size_t>(st.st_size);
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  if (p == MAP_FAILED) throw_os_error(path, "memory-map", errno);

  std::shared_ptr<MmapFile> file(new MmapFile());
  file->path_ = path;
  file->data_ = static_cast<const uint8_t*>(p);
  file->size_ = size;
  return file;
}

MmapFile::~MmapFile() {
  if (data_) ::munmap(const_cast<uint8_t*>(data_), size_);
}

}  // namespace pagoda
