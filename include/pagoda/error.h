// The one error type Pagoda throws. Every message names the problem and, separately, the fix, so a
// user reading it knows what went wrong and what to do next.
#pragma once

#include <exception>
#include <string>

namespace pagoda {

enum class ErrorCode {
  InvalidArgument,  // a caller passed something wrong (shape, dtype, parameter)
  InvalidConfig,    // config.json / generation_config.json / engine arguments
  InvalidFormat,    // a malformed file (safetensors, JSON, tokenizer)
  NotFound,         // a file, tensor or name that should exist does not
  Unsupported,      // valid input Pagoda does not handle (yet)
  OutOfMemory,
  Io,               // the operating system refused (open, mmap, read)
  Internal,         // a bug in Pagoda
};

std::string_view error_code_name(ErrorCode code);

class Error : public std::exception {
 public:
  Error(ErrorCode code, std::string problem, std::string fix);

  ErrorCode code() const { return code_; }
  // What went wrong, e.g. "tensor 'lm_head.weight' in model.safetensors ends at byte 9000 but the
  // file has 8192 bytes".
  const std::string& problem() const { return problem_; }
  // What to do about it, e.g. "re-download the file; it is truncated".
  const std::string& fix() const { return fix_; }
  // "problem. Fix: fix"
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  ErrorCode code_;
  std::string problem_;
  std::string fix_;
  std::string message_;
};

[[noreturn]] void throw_error(ErrorCode code, std::string problem, std::string fix);

// Internal invariant violated: reports file and line and says it is a bug.
[[noreturn]] void throw_internal_error(const char* condition, const char* file, int line);

}  // namespace pagoda

// Throws pagoda::Error when `cond` is false. `problem` and `fix` are evaluated only on failure.
#define PAGODA_CHECK(cond, code, problem, fix)                                         \
  do {                                                                                 \
    if (!(cond)) [[unlikely]]                                                          \
      ::pagoda::throw_error(::pagoda::ErrorCode::code, (problem), (fix));              \
  } while (0)

// For conditions only a bug can break.
#define PAGODA_ASSERT(cond)                                                            \
  do {                                                                                 \
    if (!(cond)) [[unlikely]]                                                          \
      ::pagoda::throw_internal_error(#cond, __FILE__, __LINE__);                       \
  } while (0)
