// Test harness for tests that start real Runnel processes: spawning and
// killing binaries, free loopback ports, temporary directories, and finding
// our binaries in Bazel's runfiles.
//
// Thread-safety: a Process is used from one thread.
#ifndef RUNNEL_TESTS_HARNESS_PROCESS_H_
#define RUNNEL_TESTS_HARNESS_PROCESS_H_

#include <sys/types.h>

#include <string>
#include <vector>

#include "absl/time/time.h"

namespace runnel::testing {

// Absolute path of a binary built by Bazel, given its workspace-relative
// label path, e.g. "broker/server/runnel-broker".
std::string BinaryPath(const std::string& workspace_path);

// A loopback port that was free a moment ago.
int FreePort();

// A fresh directory under the test's temp dir.
std::string MakeTempDir(const std::string& prefix);

// A child process whose stdout and stderr go to files (read with Output()).
class Process {
 public:
  Process() = default;
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  ~Process();  // SIGKILLs the process if it is still running.

  // Starts `path` with `args` (argv[1..]). `log_prefix` names the files
  // holding its stdout and stderr.
  void Start(const std::string& path, const std::vector<std::string>& args,
             const std::string& log_prefix);
  bool running();
  pid_t pid() const { return pid_; }

  // SIGKILL, then reap.
  void Kill();
  // SIGTERM, then wait up to `timeout` (SIGKILL after). Returns the exit code
  // (128+signal if it died of a signal).
  int Terminate(absl::Duration timeout = absl::Seconds(10));
  // Sends a signal without waiting.
  void Signal(int sig);

  std::string Stdout() const;
  std::string Stderr() const;

 private:
  int Reap(bool block);
  pid_t pid_ = -1;
  int exit_code_ = -1;
  std::string stdout_path_;
  std::string stderr_path_;
};

// The result of running a command to completion.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// Runs `path args...` with `input` on stdin; waits up to `timeout`, killing
// it after that (exit_code is then -1).
CommandResult RunCommand(const std::string& path, const std::vector<std::string>& args,
                         const std::string& input = "",
                         absl::Duration timeout = absl::Seconds(60));

}  // namespace runnel::testing

#endif  // RUNNEL_TESTS_HARNESS_PROCESS_H_
