#include "pagoda/error.h"

#include <fmt/format.h>

namespace pagoda {

std::string_view error_code_name(ErrorCode code) {
  switch (code) {
    case ErrorCode::InvalidArgument: return "invalid argument";
    case ErrorCode::InvalidConfig: return "invalid config";
    case ErrorCode::InvalidFormat: return "invalid format";
    case ErrorCode::NotFound: return "not found";
    case ErrorCode::Unsupported: return "unsupported";
    case ErrorCode::OutOfMemory: return "out of memory";
    case ErrorCode::Io: return "I/O error";
    case ErrorCode::Internal: return "internal error";
  }
  return "error";
}

Error::Error(ErrorCode code, std::string problem, std::string fix)
    : code_(code), problem_(std::move(problem)), fix_(std::move(fix)) {
  message_ = fix_.empty() ? problem_ : fmt::format("{}. Fix: {}", problem_, fix_);
}

void throw_error(ErrorCode code, std::string problem, std::string fix) {
  throw Error(code, std::move(problem), std::move(fix));
}

void throw_internal_error(const char* condition, const char* file, int line) {
  throw Error(ErrorCode::Internal,
              fmt::format("internal check '{}' failed at {}:{}", condition, file, line),
              "this is a bug in Pagoda; please report it with the command that triggered it");
}

}  // namespace pagoda
