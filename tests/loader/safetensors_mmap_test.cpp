// MmapFile: maps whole files read-only; every failure names the path and the OS reason.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <string>

#include "loader/mmap_file.h"
#include "pagoda/error.h"

using namespace pagoda;
namespace fs = std::filesystem;

namespace {

class Mmap : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = fs::temp_directory_path() /
           ("pagoda_st_mmap_" + std::to_string(::getpid()) + "_" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir_);
    fs::create_directories(dir_);
  }
  void TearDown() override { fs::remove_all(dir_); }
  fs::path write(const std::string& name, const std::string& bytes) {
    const fs::path p = dir_ / name;
    std::ofstream(p, std::ios::binary) << bytes;
    return p;
  }
  // Runs `f`, which must throw pagoda::Error with `code` whose message contains every needle.
  template <typename F>
  void expect_error(F&& f, ErrorCode code, std::initializer_list<std::string> needles) {
    try {
      f();
      FAIL() << "no throw";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), code) << e.what();
      for (const auto& n : needles)
        EXPECT_NE(std::string(e.what()).find(n), std::string::npos) << n << " | " << e.what();
    }
  }
  fs::path dir_;
};

TEST_F(Mmap, MapsTheWholeFile) {
  const std::string bytes("hello\0world", 11);
  const fs::path p = write("f.bin", bytes);
  const auto m = MmapFile::open(p);
  EXPECT_EQ(m->size(), bytes.size());
  EXPECT_EQ(m->path(), p);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), bytes);
  EXPECT_EQ(m->bytes().size(), bytes.size());
}

TEST_F(Mmap, MappingOutlivesTheFileName) {
  const fs::path p = write("g.bin", "abcdef");
  const auto m = MmapFile::open(p);
  fs::remove(p);
  EXPECT_EQ(std::string(reinterpret_cast<const char*>(m->data()), m->size()), "abcdef");
}

TEST_F(Mmap, MissingFileIsNotFoundWithStrerror) {
  expect_error([&] { MmapFile::open(dir_ / "absent.bin"); }, ErrorCode::NotFound,
               {"absent.bin", "No such file or directory"});
}

TEST_F(Mmap, EmptyFileIsRejected) {
  const fs::path p = write("empty.bin", "");
  expect_error([&] { MmapFile::open(p); }, ErrorCode::InvalidFormat, {"empty.bin", "is empty"});
}

TEST_F(Mmap, DirectoryIsRejected) {
  fs::create_directories(dir_ / "sub.safetensors");
  expect_error([&] { MmapFile::open(dir_ / "sub.safetensors"); }, ErrorCode::InvalidFormat,
               {"sub.safetensors", "is a directory"});
}

TEST_F(Mmap, FifoIsRejectedWithoutHanging) {
  const fs::path p = dir_ / "pipe";
  ASSERT_EQ(::mkfifo(p.c_str(), 0600), 0);
  expect_error([&] { MmapFile::open(p); }, ErrorCode::InvalidFormat,
               {"pipe", "not a regular file"});
}

TEST_F(Mmap, UnreadableFileIsAnIoErrorWithStrerror) {
  if (::geteuid() == 0) GTEST_SKIP() << "root reads files regardless of permissions";
  const fs::path p = write("secret.bin", "data");
  fs::permissions(p, fs::perms::none);
  expect_error([&] { MmapFile::open(p); }, ErrorCode::Io, {"secret.bin", "Permission denied"});
}

TEST_F(Mmap, OsRefusalIsAnIoErrorWithStrerror) {
  // Works as root too: a component longer than NAME_MAX is refused by open() itself.
  const std::string long_name(300, 'x');
  expect_error([&] { MmapFile::open(dir_ / long_name); }, ErrorCode::Io,
               {long_name, "File name too long"});
}

}  // namespace
