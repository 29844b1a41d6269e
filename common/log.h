// Structured logging for Runnel's services: one line per event on stderr in
// logfmt, e.g.
//   ts=2026-11-25T11:38:51.123Z level=info src=broker/server/main.cc:42 msg="listening" addr=127.0.0.1:9092
// so logs are both readable and machine-parseable.
//
//   RLOG(INFO) << "registered" << Kv("broker_epoch", epoch);
//
// Levels: DEBUG, INFO, WARN, ERROR. SetLogLevel() sets the minimum printed
// (default INFO; services expose it as --log-level).
// Thread-safety: RLOG may be used from any thread; each line is written with
// one write(2) so lines never interleave.
#ifndef RUNNEL_COMMON_LOG_H_
#define RUNNEL_COMMON_LOG_H_

#include <sstream>
#include <string>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"

namespace runnel {

enum class LogLevel { DEBUG = 0, INFO = 1, WARN = 2, ERROR = 3 };

void SetLogLevel(LogLevel level);
LogLevel GetLogLevel();
// Parses "debug" | "info" | "warn" | "error".
absl::Status SetLogLevelByName(absl::string_view name);

// A key=value field appended to a log line; values are quoted when needed.
struct Kv {
  template <typename T>
  Kv(absl::string_view k, const T& v) : key(k) {
    std::ostringstream os;
    os << v;
    value = os.str();
  }
  std::string key;
  std::string value;
};

namespace log_internal {
class LogLine {
 public:
  LogLine(LogLevel level, const char* file, int line);
  ~LogLine();
  LogLine& operator<<(const Kv& kv);
  template <typename T>
  LogLine& operator<<(const T& v) {
    msg_ << v;
    return *this;
  }

 private:
  LogLevel level_;
  const char* file_;
  int line_;
  std::ostringstream msg_;
  std::string fields_;
};
}  // namespace log_internal

}  // namespace runnel

#define RLOG(level)                                                            \
  if (::runnel::LogLevel::level < ::runnel::GetLogLevel()) {                   \
  } else                                                                       \
    ::runnel::log_internal::LogLine(::runnel::LogLevel::level, __FILE__, __LINE__)

#endif  // RUNNEL_COMMON_LOG_H_
