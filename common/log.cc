#include "common/log.h"

#include <unistd.h>

#include <atomic>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace runnel {

namespace {
std::atomic<int> g_level{static_cast<int>(LogLevel::INFO)};

const char* LevelName(LogLevel l) {
  switch (l) {
    case LogLevel::DEBUG:
      return "debug";
    case LogLevel::INFO:
      return "info";
    case LogLevel::WARN:
      return "warn";
    case LogLevel::ERROR:
      return "error";
  }
  return "info";
}

// Quotes a logfmt value when it holds spaces, quotes or '='.
std::string Quote(absl::string_view v) {
  bool plain = !v.empty();
  for (char c : v) {
    if (c == ' ' || c == '"' || c == '=' || c == '\n' || c == '\t') plain = false;
  }
  if (plain) return std::string(v);
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out.push_back('\\');
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out.push_back(c);
  }
  out.push_back('"');
  return out;
}
}  // namespace

void SetLogLevel(LogLevel level) { g_level = static_cast<int>(level); }
LogLevel GetLogLevel() { return static_cast<LogLevel>(g_level.load()); }

absl::Status SetLogLevelByName(absl::string_view name) {
  std::string n = absl::AsciiStrToLower(name);
  for (LogLevel l : {LogLevel::DEBUG, LogLevel::INFO, LogLevel::WARN, LogLevel::ERROR}) {
    if (n == LevelName(l)) {
      SetLogLevel(l);
      return absl::OkStatus();
    }
  }
  return absl::InvalidArgumentError(
      absl::StrCat("unknown log level '", name, "': use debug, info, warn or error"));
}

namespace log_internal {

LogLine::LogLine(LogLevel level, const char* file, int line)
    : level_(level), file_(file), line_(line) {}

LogLine& LogLine::operator<<(const Kv& kv) {
  absl::StrAppend(&fields_, " ", kv.key, "=", Quote(kv.value));
  return *this;
}

LogLine::~LogLine() {
  std::string out = absl::StrCat(
      "ts=", absl::FormatTime("%Y-%m-%dT%H:%M:%E3SZ", absl::Now(), absl::UTCTimeZone()),
      " level=", LevelName(level_), " src=", file_, ":", line_, " msg=", Quote(msg_.str()),
      fields_, "\n");
  // One write(2) per line so concurrent lines never interleave.
  ssize_t unused = ::write(STDERR_FILENO, out.data(), out.size());
  (void)unused;
}

}  // namespace log_internal
}  // namespace runnel
