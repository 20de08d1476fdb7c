// A dynamically loaded library (dlopen), kept open for the life of the process: models built from
// its code may outlive any owner, so it is never unloaded.
#pragma once

#include <filesystem>
#include <string>

namespace pagoda {

class SharedLibrary {
 public:
  // Opens the library; throws pagoda::Error carrying the dynamic loader's own message.
  explicit SharedLibrary(const std::filesystem::path& path);

  // The address of `symbol`, or nullptr when the library does not export it.
  void* find_symbol(const std::string& symbol) const;
  // The address of `symbol`; throws pagoda::Error naming the library and the symbol if missing.
  void* symbol(const std::string& symbol, const std::string& purpose) const;
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
  void* handle_ = nullptr;
};

}  // namespace pagoda
