// `runnel`: the command-line client. See `runnel --help` and command.cc for
// the commands, run.h for the exit status rule.
#include <atomic>
#include <csignal>
#include <iostream>
#include <string>
#include <vector>

#include <grpc/support/log.h>

#include "client/cli/command.h"
#include "client/cli/run.h"

namespace {

std::atomic<bool> g_stop{false};

void OnSignal(int) { g_stop.store(true); }

}  // namespace

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(false);
  // gRPC's own log lines would break the one-line-on-stderr error contract.
  gpr_set_log_function([](gpr_log_func_args*) {});
  // A closed stdout shows up as a failed write (consume then stops) instead of
  // killing the process.
  std::signal(SIGPIPE, SIG_IGN);

  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<runnel::client::cli::Command> command =
      runnel::client::cli::ParseCommandLine(args);
  if (!command.ok()) return runnel::client::cli::Fail(std::cerr, command.status());
  if (command->kind == runnel::client::cli::CommandKind::kHelp) {
    std::cout << command->help_text;
    return 0;
  }
  if (command->kind == runnel::client::cli::CommandKind::kConsume) {
    // Following a topic ends with Ctrl-C; that is a normal exit (status 0).
    // A second signal kills at once.
    struct sigaction action = {};
    action.sa_handler = OnSignal;
    action.sa_flags = SA_RESETHAND;
    sigemptyset(&action.sa_mask);
    sigaction(SIGINT, &action, nullptr);
    sigaction(SIGTERM, &action, nullptr);
  }
  return runnel::client::cli::Run(*command, runnel::client::ClientOptions(), std::cin, std::cout,
                                  std::cerr, &g_stop);
}
