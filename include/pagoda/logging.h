// Logging, backed by spdlog. The level comes from PAGODA_LOG_LEVEL (trace, debug, info, warn,
// error, off; default info) or set_log_level(). Messages go to stderr so stdout stays for output.
#pragma once

#include <fmt/format.h>

#include <string_view>
#include <utility>

namespace pagoda {

enum class LogLevel { Trace, Debug, Info, Warn, Error, Off };

void set_log_level(LogLevel level);
LogLevel log_level();
// Parses "trace" .. "off"; throws pagoda::Error naming the accepted values otherwise.
LogLevel parse_log_level(std::string_view name);
void log_message(LogLevel level, std::string_view message);

namespace log {
template <typename... Args>
void write(LogLevel level, fmt::format_string<Args...> format, Args&&... args) {
  if (level >= log_level()) log_message(level, fmt::format(format, std::forward<Args>(args)...));
}
template <typename... Args>
void debug(fmt::format_string<Args...> f, Args&&... a) { write(LogLevel::Debug, f, std::forward<Args>(a)...); }
template <typename... Args>
void info(fmt::format_string<Args...> f, Args&&... a) { write(LogLevel::Info, f, std::forward<Args>(a)...); }
template <typename... Args>
void warn(fmt::format_string<Args...> f, Args&&... a) { write(LogLevel::Warn, f, std::forward<Args>(a)...); }
template <typename... Args>
void error(fmt::format_string<Args...> f, Args&&... a) { write(LogLevel::Error, f, std::forward<Args>(a)...); }
}  // namespace log

}  // namespace pagoda
