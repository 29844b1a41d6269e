// Process plumbing shared by runnel-broker and runnel-coordinator: orderly
// shutdown on SIGINT/SIGTERM.
//
// Usage in main():
//   runnel::BlockShutdownSignals();   // first, before any thread starts
//   ... start the gRPC server and background threads ...
//   int sig = runnel::WaitForShutdownSignal();
//   runnel::ExitOnSecondSignal(argv[0]);
//   ... graceful shutdown: hand work away, server->Shutdown(deadline), join ...
//
// Signals are blocked in every thread and consumed with sigwait, so no code
// runs in a signal handler and shutdown happens on the main thread. A
// graceful shutdown may take seconds (a broker hands its leaderships away
// first); a second SIGINT or SIGTERM meanwhile ends the process at once, as
// an impatient operator pressing Ctrl-C twice expects.
#ifndef RUNNEL_COMMON_SERVER_MAIN_H_
#define RUNNEL_COMMON_SERVER_MAIN_H_

namespace runnel {

// Blocks SIGINT, SIGTERM and SIGPIPE in the calling thread (and so in every
// thread it starts afterwards).
void BlockShutdownSignals();

// Blocks until SIGINT or SIGTERM arrives; returns the signal number.
int WaitForShutdownSignal();

// Starts a thread that waits for one more SIGINT or SIGTERM and then exits
// the process immediately with status 1, saying so on stderr (naming
// `program`). Call once, after WaitForShutdownSignal.
void ExitOnSecondSignal(const char* program);

}  // namespace runnel

#endif  // RUNNEL_COMMON_SERVER_MAIN_H_
