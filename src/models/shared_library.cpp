#include "models/shared_library.h"

#include <dlfcn.h>
#include <fmt/format.h>

#include "pagoda/error.h"

namespace pagoda {

SharedLibrary::SharedLibrary(const std::filesystem::path& path) : path_(path) {
  // RTLD_LOCAL keeps two plugins' private symbols apart; RTLD_NOW reports missing symbols here,
  // with the loader's message, instead of crashing later at the first call.
  handle_ = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle_) {
    const char* reason = dlerror();
    throw_error(ErrorCode::NotFound,
                fmt::format("cannot load plugin library '{}': {}", path.string(), reason ? reason : "unknown error"),
                "check the path, that the library was built for this machine, and that the libraries it "
                "needs are found (ldd shows them)");
  }
}

void* SharedLibrary::find_symbol(const std::string& symbol) const {
  dlerror();
  return dlsym(handle_, symbol.c_str());
}

void* SharedLibrary::symbol(const std::string& symbol, const std::string& purpose) const {
  void* address = find_symbol(symbol);
  if (!address) {
    const char* reason = dlerror();
    throw_error(ErrorCode::NotFound,
                fmt::format("plugin library '{}' does not export '{}' ({}): {}", path_.string(), symbol,
                            purpose, reason ? reason : "symbol not found"),
                "define it in the plugin with the macro from pagoda/plugin.h, and export it (extern \"C\", "
                "default visibility)");
  }
  return address;
}

}  // namespace pagoda
