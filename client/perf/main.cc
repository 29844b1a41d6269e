// runnel-perf: throughput and latency of a Runnel cluster, like Kafka's
// kafka-producer-perf-test and kafka-consumer-perf-test. See
// `runnel-perf --help` and docs/BENCHMARKS.md.
#include <malloc.h>

#include <iostream>
#include <string>
#include <vector>

#include "absl/synchronization/mutex.h"
#include "client/perf/perf.h"

int main(int argc, char** argv) {
  // Fetch answers and their decoded records are megabytes each, allocated and
  // freed every poll. By default glibc serves such blocks with mmap and hands
  // freed heap tops back to the kernel, so each poll page-faults its buffers
  // in again (measured: a quarter of the consumer's time). Keep them.
  mallopt(M_MMAP_THRESHOLD, 256 << 20);
  mallopt(M_TRIM_THRESHOLD, 512 << 20);
  // Debian's Abseil is built without NDEBUG: without this every absl::Mutex
  // (ours and gRPC's) maintains a lock graph for deadlock detection.
  absl::SetMutexDeadlockDetectionMode(absl::OnDeadlockCycle::kIgnore);
  std::vector<std::string> args(argv + 1, argv + argc);
  absl::StatusOr<runnel::perf::Command> command = runnel::perf::ParseCommand(args);
  if (!command.ok()) {
    std::cerr << "runnel-perf: " << command.status().message() << " (see --help)\n";
    return 2;
  }
  switch (command->kind) {
    case runnel::perf::Command::Kind::kHelp:
      std::cout << command->help;
      return 0;
    case runnel::perf::Command::Kind::kProduce:
      return runnel::perf::RunProduce(command->produce, std::cout, std::cerr);
    case runnel::perf::Command::Kind::kConsume:
      return runnel::perf::RunConsume(command->consume, std::cout, std::cerr);
  }
  return 1;
}
