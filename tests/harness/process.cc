#include "common/temp_dir.h"
#include "tests/harness/process.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"

namespace runnel::testing {

namespace {
std::string TempRoot() {
  const char* t = getenv("TEST_TMPDIR");
  return t != nullptr ? t : "/tmp";
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

[[noreturn]] void Die(const std::string& what) {
  fprintf(stderr, "harness: %s: %s\n", what.c_str(), strerror(errno));
  abort();
}

std::vector<char*> Argv(const std::string& path, const std::vector<std::string>& args) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(path.c_str()));
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  return argv;
}
}  // namespace

std::string BinaryPath(const std::string& workspace_path) {
  const char* srcdir = getenv("TEST_SRCDIR");
  const char* ws = getenv("TEST_WORKSPACE");
  if (srcdir != nullptr) {
    return absl::StrCat(srcdir, "/", ws != nullptr ? ws : "runnel", "/", workspace_path);
  }
  return absl::StrCat("bazel-bin/", workspace_path);
}

int FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) Die("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) Die("bind");
  socklen_t len = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  close(fd);
  return ntohs(addr.sin_port);
}

std::string MakeTempDir(const std::string& prefix) { return runnel::MakeTempDir(prefix); }

Process::~Process() {
  if (pid_ > 0) Kill();
}

void Process::Start(const std::string& path, const std::vector<std::string>& args,
                    const std::string& log_prefix) {
  static std::atomic<int> counter{0};
  std::string base = absl::StrCat(TempRoot(), "/", log_prefix, ".", counter++);
  stdout_path_ = base + ".out";
  stderr_path_ = base + ".err";
  std::vector<char*> argv = Argv(path, args);
  pid_ = fork();
  if (pid_ < 0) Die("fork");
  if (pid_ == 0) {
    int out = open(stdout_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open(stderr_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int in = open("/dev/null", O_RDONLY);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  exit_code_ = -1;
}

int Process::Reap(bool block) {
  if (pid_ <= 0) return exit_code_;
  int status = 0;
  pid_t r = waitpid(pid_, &status, block ? 0 : WNOHANG);
  if (r == pid_) {
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
  }
  return exit_code_;
}

bool Process::running() {
  Reap(false);
  return pid_ > 0;
}

void Process::Kill() {
  if (pid_ <= 0) return;
  kill(pid_, SIGKILL);
  Reap(true);
}

void Process::Signal(int sig) {
  if (pid_ > 0) kill(pid_, sig);
}

int Process::Terminate(absl::Duration timeout) {
  if (pid_ <= 0) return exit_code_;
  kill(pid_, SIGTERM);
  absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    if (!running()) return exit_code_;
    absl::SleepFor(absl::Milliseconds(20));
  }
  Kill();
  return exit_code_;
}

std::string Process::Stdout() const { return ReadFile(stdout_path_); }
std::string Process::Stderr() const { return ReadFile(stderr_path_); }

CommandResult RunCommand(const std::string& path, const std::vector<std::string>& args,
                         const std::string& input, absl::Duration timeout) {
  std::string in_path = MakeTempDir("cmd") + "/stdin";
  {
    std::ofstream f(in_path, std::ios::binary);
    f << input;
  }
  static std::atomic<int> counter{0};
  std::string base = absl::StrCat(TempRoot(), "/cmd.", getpid(), ".", counter++);
  std::vector<char*> argv = Argv(path, args);
  pid_t pid = fork();
  if (pid < 0) Die("fork");
  if (pid == 0) {
    int in = open(in_path.c_str(), O_RDONLY);
    int out = open((base + ".out").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    int err = open((base + ".err").c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(in, 0);
    dup2(out, 1);
    dup2(err, 2);
    execv(path.c_str(), argv.data());
    _exit(127);
  }
  CommandResult result;
  absl::Time deadline = absl::Now() + timeout;
  int status = 0;
  while (true) {
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == pid) {
      result.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      break;
    }
    if (absl::Now() > deadline) {
      kill(pid, SIGKILL);
      waitpid(pid, &status, 0);
      result.exit_code = -1;
      break;
    }
    absl::SleepFor(absl::Milliseconds(5));
  }
  result.out = ReadFile(base + ".out");
  result.err = ReadFile(base + ".err");
  return result;
}

}  // namespace runnel::testing
