// The test data scripts/fetch-test-data.sh fetches (real vocabularies, llama.cpp's test strings
// and templates): never committed, so tests find it in
// ${PAGODA_TEST_DATA:-~/.cache/pagoda/test-data}. A missing file fails the test with the command
// that fetches it; it is never skipped.
#pragma once

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <string>

namespace pagoda::testing {

inline std::filesystem::path test_data_dir() {
  if (const char* env = std::getenv("PAGODA_TEST_DATA"); env && *env) return env;
  const char* home = std::getenv("HOME");
  return std::filesystem::path(home ? home : ".") / ".cache" / "pagoda" / "test-data";
}

// The path of `relative` in the test data; an assertion failure (with the fix) when it is missing.
inline std::filesystem::path require_test_data(const std::string& relative) {
  const std::filesystem::path path = test_data_dir() / relative;
  EXPECT_TRUE(std::filesystem::exists(path))
      << path << " is missing: run `bash scripts/fetch-test-data.sh` (or set PAGODA_TEST_DATA)";
  return path;
}

}  // namespace pagoda::testing
