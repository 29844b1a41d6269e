// runnel-perf's commands, as a library so that tests can run them against a
// fake cluster: `produce` sends N records of B bytes as fast as allowed and
// measures throughput and per-record send-to-acknowledgement latency, like
// kafka-producer-perf-test; `consume` reads N records from the start of a
// topic and measures throughput, like kafka-consumer-perf-test.
//
// Output: a progress line on stderr every report interval while running, and
// one summary line on stdout at the end:
//   produce: 1000000 records, 1523400 records/s, 152.3 MB/s, latency p50 2.1 ms p99 6.0 ms p999 9.2 ms
//   consume: 1000000 records, 4523400 records/s, 452.3 MB/s
// (MB = 10^6 bytes of record values and keys.)
//
// Thread-safety: each Run* call is independent.
#ifndef RUNNEL_CLIENT_PERF_PERF_H_
#define RUNNEL_CLIENT_PERF_PERF_H_

#include <cstdint>
#include <ostream>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/options.h"
#include "client/perf/histogram.h"

namespace runnel::perf {

struct ProduceConfig {
  std::string topic;
  int64_t records = 0;
  int64_t record_size = 100;
  // Records per second at most; <= 0: unlimited.
  int64_t throughput = -1;
  absl::Duration report_interval = absl::Seconds(5);
  client::ProducerOptions producer;  // bootstrap, acks, batching, compression
};

struct ConsumeConfig {
  std::string topic;
  int64_t records = 0;
  // Give up when no record arrived for this long.
  absl::Duration timeout = absl::Seconds(10);
  absl::Duration report_interval = absl::Seconds(5);
  client::ConsumerOptions consumer;
};

struct Command {
  enum class Kind { kHelp, kProduce, kConsume };
  Kind kind = Kind::kHelp;
  std::string help;  // for kHelp: what to print
  ProduceConfig produce;
  ConsumeConfig consume;
};

// Parses runnel-perf's arguments (without the program name). InvalidArgument
// with a one-line message for bad usage.
absl::StatusOr<Command> ParseCommand(const std::vector<std::string>& args);

// Run a command; return the process exit status (0 ok, 1 failure), having
// written the summary to `out` and progress and errors to `err`.
int RunProduce(const ProduceConfig& config, std::ostream& out, std::ostream& err);
int RunConsume(const ConsumeConfig& config, std::ostream& out, std::ostream& err);

// The summary lines (without newline). Latencies are in microseconds.
std::string ProduceSummary(int64_t records, int64_t bytes, absl::Duration elapsed,
                           const LatencyHistogram& latency_us);
std::string ConsumeSummary(int64_t records, int64_t bytes, absl::Duration elapsed);

}  // namespace runnel::perf

#endif  // RUNNEL_CLIENT_PERF_PERF_H_
