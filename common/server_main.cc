#include "common/server_main.h"

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <thread>

namespace runnel {

namespace {
sigset_t ShutdownSignals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGINT);
  sigaddset(&set, SIGTERM);
  return set;
}
}  // namespace

void BlockShutdownSignals() {
  sigset_t set = ShutdownSignals();
  // A peer closing a socket must not kill the process.
  sigaddset(&set, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int WaitForShutdownSignal() {
  sigset_t set = ShutdownSignals();
  int sig = 0;
  while (sigwait(&set, &sig) != 0) {
  }
  return sig;
}

void ExitOnSecondSignal(const char* program) {
  std::thread([program] {
    const int sig = WaitForShutdownSignal();
    std::fprintf(stderr, "%s: second signal %d during shutdown; exiting now\n", program, sig);
    // No destructors or atexit handlers: other threads are still running.
    std::_Exit(1);
  }).detach();
}

}  // namespace runnel
