// Runs a parsed `runnel` command against a cluster and turns the outcome into
// output and an exit status. Separate from main() so that tests drive whole
// commands with string streams and an in-process fake cluster.
//
// Exit status rule (also in `runnel --help`): 0 success; 2 bad input, which
// includes usage errors, an unreachable bootstrap broker, and server or
// client statuses INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE
// and FAILED_PRECONDITION; 1 any other failure. Errors are printed as one
// line "runnel: <message>" on stderr.
//
// Thread-safety: Run uses only its arguments; `stop` may be set from a
// signal handler.
#ifndef RUNNEL_CLIENT_CLI_RUN_H_
#define RUNNEL_CLIENT_CLI_RUN_H_

#include <atomic>
#include <iosfwd>

#include "absl/status/status.h"
#include "client/cli/command.h"
#include "client/options.h"

namespace runnel::client::cli {

// The exit status for a failed (or OK) status, per the rule above.
int ExitCodeFor(const absl::Status& status);

// Prints "runnel: <message>" on `err` and returns ExitCodeFor(status).
int Fail(std::ostream& err, const absl::Status& status);

// Runs `command` (not kHelp). `base` supplies every client option except the
// bootstrap address, which comes from the command. consume's follow mode
// checks `stop` (may be null) at least every half second and then exits 0.
int Run(const Command& command, const ClientOptions& base, std::istream& in, std::ostream& out,
        std::ostream& err, const std::atomic<bool>* stop);

}  // namespace runnel::client::cli

#endif  // RUNNEL_CLIENT_CLI_RUN_H_
