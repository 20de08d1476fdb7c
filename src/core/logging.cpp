#include "pagoda/logging.h"

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <atomic>
#include <cstdlib>
#include <string>

#include "pagoda/error.h"

namespace pagoda {
namespace {

LogLevel initial_level() {
  if (const char* env = std::getenv("PAGODA_LOG_LEVEL")) {
    try {
      return parse_log_level(env);
    } catch (const Error&) {
      // A bad environment variable must not stop the program; say so once and go on.
      spdlog::warn("PAGODA_LOG_LEVEL='{}' is not a level; using info", env);
    }
  }
  return LogLevel::Info;
}

std::atomic<LogLevel>& level_slot() {
  static std::atomic<LogLevel> level{initial_level()};
  return level;
}

spdlog::logger& logger() {
  static std::shared_ptr<spdlog::logger> instance = [] {
    auto l = spdlog::stderr_color_mt("pagoda");
    l->set_pattern("[%Y-%m-%d %H:%M:%S.%e] [%^%l%$] %v");
    l->set_level(spdlog::level::trace);  // filtering happens in log::write
    return l;
  }();
  return *instance;
}

}  // namespace

void set_log_level(LogLevel level) { level_slot().store(level); }
LogLevel log_level() { return level_slot().load(std::memory_order_relaxed); }

LogLevel parse_log_level(std::string_view name) {
  if (name == "trace") return LogLevel::Trace;
  if (name == "debug") return LogLevel::Debug;
  if (name == "info") return LogLevel::Info;
  if (name == "warn" || name == "warning") return LogLevel::Warn;
  if (name == "error") return LogLevel::Error;
  if (name == "off") return LogLevel::Off;
  throw_error(ErrorCode::InvalidArgument, "unknown log level '" + std::string(name) + "'",
              "use one of trace, debug, info, warn, error, off");
}

void log_message(LogLevel level, std::string_view message) {
  spdlog::level::level_enum l = spdlog::level::info;
  switch (level) {
    case LogLevel::Trace: l = spdlog::level::trace; break;
    case LogLevel::Debug: l = spdlog::level::debug; break;
    case LogLevel::Info: l = spdlog::level::info; break;
    case LogLevel::Warn: l = spdlog::level::warn; break;
    case LogLevel::Error: l = spdlog::level::err; break;
    case LogLevel::Off: return;
  }
  logger().log(l, "{}", message);
}

}  // namespace pagoda
