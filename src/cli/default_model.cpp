#include "cli/default_model.h"

#include <fmt/format.h>

#include <cstdlib>
#include <filesystem>
#include <system_error>
#include <vector>

#include "pagoda/error.h"

namespace pagoda::cli {
namespace fs = std::filesystem;

namespace {

bool is_model_dir(const fs::path& dir) {
  std::error_code ec;
  return fs::is_regular_file(dir / "config.json", ec);
}

// Where the binary runs from; empty when /proc is unavailable.
fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

std::string default_model_dir() {
  if (const char* env = std::getenv("PAGODA_DEFAULT_MODEL"); env && *env) {
    PAGODA_CHECK(is_model_dir(env), NotFound,
                 fmt::format("PAGODA_DEFAULT_MODEL is '{}', which has no config.json", env),
                 "point PAGODA_DEFAULT_MODEL at a Hugging Face model directory, or unset it");
    return env;
  }
  std::vector<fs::path> candidates;
  if (const fs::path bin = executable_dir(); !bin.empty())
    candidates.push_back(bin.parent_path() / "share" / "pagoda" / "models" / kDefaultModelName);
  candidates.push_back(fs::path(PAGODA_SOURCE_DIR) / "models" / kDefaultModelName);
  std::string looked;
  for (const auto& dir : candidates) {
    if (is_model_dir(dir)) return dir.string();
    looked += (looked.empty() ? "" : ", ") + dir.string();
  }
  throw Error(ErrorCode::NotFound,
              fmt::format("no model was given and the default model is not at {}", looked),
              "pass a Hugging Face model directory (pagoda generate MODEL_DIR ...), or set "
              "PAGODA_DEFAULT_MODEL to one");
}

std::string model_or_default(const std::string& model) {
  if (!model.empty()) return model;
  std::string dir = default_model_dir();
  fmt::print(stderr, "No model given: using the default model {}\n", dir);
  return dir;
}

}  // namespace pagoda::cli
