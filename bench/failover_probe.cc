// failover_probe: how long a partition is unwritable after its leader dies.
// Sends SIGKILL to the leader's process (--kill-pid), then every
// --interval-ms sends a one-record acks=all Produce to --partition of --topic
// on every surviving broker (--brokers) until one answers ERROR_CODE_NONE, and
// prints the time from the kill to that answer:
//
//   failover_ms=2731 new_leader=10.0.0.1:9093 attempts=137
//
// Raw gRPC, not the client library, so that its retry backoff does not round
// the figure up: this measures the cluster (fencing after the session
// timeout, election, the successor learning it leads), not a client.
// Used by bench/failover.sh. Exit status: 0 measured, 1 no successor within
// --max-wait-ms, 2 bad usage.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "common/flags.h"
#include "proto/batch/record_batch.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace {

struct Flags {
  std::string brokers;
  std::string topic;
  int64_t partition = 0;
  int64_t kill_pid = 0;
  int64_t interval_ms = 10;
  int64_t max_wait_ms = 60000;
};

// One acks=all Produce of a single small record; true when acknowledged.
bool ProduceAcksAll(runnel::v1::Broker::Stub& stub, const Flags& f, const std::string& encoded) {
  runnel::v1::ProduceRequest req;
  req.set_acks(runnel::v1::ACKS_ALL);
  req.set_timeout_ms(1000);
  auto* p = req.add_partitions();
  p->set_topic(f.topic);
  p->set_partition(static_cast<int32_t>(f.partition));
  p->set_records(encoded);
  runnel::v1::ProduceResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  grpc::Status s = stub.Produce(&ctx, req, &resp);
  return s.ok() && resp.partitions_size() == 1 &&
         resp.partitions(0).error_code() == runnel::v1::ERROR_CODE_NONE;
}

}  // namespace

int main(int argc, char** argv) {
  Flags f;
  runnel::FlagSet flags("failover_probe",
                        "failover_probe --brokers=H:P,H:P --topic=T --kill-pid=PID [flags]");
  flags.set_use_env(false);
  flags.String("brokers", &f.brokers, "", "surviving brokers, comma-separated host:port");
  flags.String("topic", &f.topic, "", "topic whose leader is killed");
  flags.Int("partition", &f.partition, 0, "partition whose leader is killed");
  flags.Int("kill-pid", &f.kill_pid, 0, "pid of the leader's broker process (SIGKILLed)");
  flags.Int("interval-ms", &f.interval_ms, 10, "pause between rounds of produce attempts");
  flags.Int("max-wait-ms", &f.max_wait_ms, 60000, "give up after this long");
  auto positional = flags.Parse(argc, argv);
  if (flags.help_requested()) {
    std::cout << flags.Help();
    return 0;
  }
  if (!positional.ok() || f.brokers.empty() || f.topic.empty() || f.kill_pid <= 0) {
    std::cerr << "failover_probe: "
              << (positional.ok() ? "--brokers, --topic and --kill-pid are required"
                                  : std::string(positional.status().message()))
              << "\n";
    return 2;
  }
  std::vector<std::string> addresses = absl::StrSplit(f.brokers, ',', absl::SkipEmpty());
  std::vector<std::unique_ptr<runnel::v1::Broker::Stub>> stubs;
  for (const auto& a : addresses) {
    stubs.push_back(runnel::v1::Broker::NewStub(
        grpc::CreateChannel(a, grpc::InsecureChannelCredentials())));
  }
  runnel::batch::BatchBuilder builder;
  builder.Append(0, std::string("failover"), std::string("probe"));
  const std::string encoded = *builder.Build();
  // Connect first, so the measured time holds no connection setup.
  for (auto& stub : stubs) ProduceAcksAll(*stub, f, encoded);

  if (kill(static_cast<pid_t>(f.kill_pid), SIGKILL) != 0) {
    std::cerr << "failover_probe: cannot kill pid " << f.kill_pid << "\n";
    return 2;
  }
  const absl::Time killed = absl::Now();
  int attempts = 0;
  while (absl::Now() - killed < absl::Milliseconds(f.max_wait_ms)) {
    for (size_t i = 0; i < stubs.size(); ++i) {
      ++attempts;
      if (ProduceAcksAll(*stubs[i], f, encoded)) {
        std::cout << "failover_ms=" << absl::ToInt64Milliseconds(absl::Now() - killed)
                  << " new_leader=" << addresses[i] << " attempts=" << attempts << "\n";
        return 0;
      }
    }
    absl::SleepFor(absl::Milliseconds(f.interval_ms));
  }
  std::cerr << "failover_probe: no acks=all write succeeded within " << f.max_wait_ms << " ms\n";
  return 1;
}
