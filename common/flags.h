// FlagSet: command-line flags for Runnel's programs, with the same names read
// from the environment. A flag --data-dir can also be set by RUNNEL_DATA_DIR
// (upper case, '-' -> '_'); the command line wins over the environment, which
// wins over the default. `--help` output lists every flag, its default and
// its variable, so the docs and the binary cannot disagree.
//
// Why not absl flags: they exit with status 1 on a bad flag, while Runnel's
// programs exit 2 with a one-line message on bad usage, and they have no
// environment fallback.
//
// Thread-safety: configure and Parse from one thread, before starting others.
#ifndef RUNNEL_COMMON_FLAGS_H_
#define RUNNEL_COMMON_FLAGS_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/strings/string_view.h"

namespace runnel {

class FlagSet {
 public:
  // `usage` is the one-line synopsis shown first by --help, e.g.
  // "runnel-broker [flags]".
  FlagSet(std::string program, std::string usage);

  // Registers a flag bound to `target`, which receives `default_value` now and
  // the parsed value in Parse. `name` is without dashes, e.g. "data-dir".
  void String(const std::string& name, std::string* target, const std::string& default_value,
              const std::string& help);
  void Int(const std::string& name, int64_t* target, int64_t default_value,
           const std::string& help);
  void Bool(const std::string& name, bool* target, bool default_value, const std::string& help);
  // A flag that may be given several times (e.g. --config=K=V); each value is
  // appended. Not read from the environment.
  void Repeated(const std::string& name, std::vector<std::string>* target,
                const std::string& help);

  // Parses argv[1..]: `--name=value`, `--name value`, `--bool-flag`,
  // `--no-bool-flag`; `--` ends flags. Returns the positional arguments.
  // InvalidArgument with a one-line message for an unknown flag or a bad
  // value. Sets help_requested() on --help or -h (and returns no error).
  absl::StatusOr<std::vector<std::string>> Parse(int argc, char** argv);
  absl::StatusOr<std::vector<std::string>> Parse(const std::vector<std::string>& args);

  // Lets environment variables supply values (on by default).
  void set_use_env(bool use_env) { use_env_ = use_env; }
  // Only these flags read the environment. For command-line tools, where a
  // stray RUNNEL_PARTITION in a shell should not change what a command does.
  void LimitEnvTo(std::set<std::string> names) { env_names_ = std::move(names); }

  bool help_requested() const { return help_requested_; }
  const std::string& program() const { return program_; }
  // The --help text: usage line, then each flag with its help, default and
  // environment variable.
  std::string Help() const;

  // The environment variable for a flag name: "data-dir" -> "RUNNEL_DATA_DIR".
  static std::string EnvName(const std::string& name);

 private:
  struct Flag {
    std::string name;
    std::string help;
    std::string default_text;
    bool is_bool = false;
    bool repeated = false;
    std::function<bool(const std::string&)> set;  // false on a bad value
  };
  Flag* Find(const std::string& name);
  bool ReadsEnv(const Flag& f) const;

  std::string program_;
  std::string usage_;
  std::vector<Flag> flags_;
  bool use_env_ = true;
  std::optional<std::set<std::string>> env_names_;
  bool help_requested_ = false;
};

// Parses flags for a server binary: on --help prints Help() to stdout and
// exits 0; on a bad flag prints "PROGRAM: MESSAGE" to stderr and exits 2.
// Returns the positional arguments.
std::vector<std::string> ParseFlagsOrExit(FlagSet& flags, int argc, char** argv);

// OK if `value` is "host:port": a non-empty host (a name, an IPv4 address or
// a bracketed IPv6 literal such as [::1]) and a port from 0 to 65535 (0 when
// `allow_port_zero`, for listen addresses: pick a free port). Otherwise
// InvalidArgument naming the flag, e.g. "--listen 'localhost' is not
// host:port". Lets servers refuse a bad address at startup with exit 2
// instead of failing later when they bind or dial.
absl::Status ValidateHostPort(absl::string_view flag, absl::string_view value,
                              bool allow_port_zero);

}  // namespace runnel

#endif  // RUNNEL_COMMON_FLAGS_H_
