// Process plumbing shared by runnel-broker and runnel-coordinator: orderly
// shutdown on SIGINT/SIGTERM.
//
// Usage in main():
//   runnel::BlockShutdownSignals();   // first, before any thread starts
//   ... start the gRPC server and background threads ...
//   int sig = runnel::WaitForShutdownSignal();
//   ... server->Shutdown(deadline); join threads ...
//
// Signals are blocked in every thread and consumed with sigwait, so no code
// runs in a signal handler and shutdown happens on the main thread.
#ifndef RUNNEL_COMMON_SERVER_MAIN_H_
#define RUNNEL_COMMON_SERVER_MAIN_H_

namespace runnel {

// Blocks SIGINT, SIGTERM and SIGPIPE in the calling thread (and so in every
// thread it starts afterwards).
void BlockShutdownSignals();

// Blocks until SIGINT or SIGTERM arrives; returns the signal number.
int WaitForShutdownSignal();

}  // namespace runnel

#endif  // RUNNEL_COMMON_SERVER_MAIN_H_
