// TestCluster: a real Runnel cluster for tests, one runnel-coordinator and N
// runnel-broker processes on free loopback ports, each with its own data
// directory under the test's temp dir (or, with ProcessPlacement, each in a
// given network namespace and address). Brokers can be killed (-9) and
// restarted on the same port and data directory.
//
// Tests that use it must list the binaries as data deps (see tests/BUILD).
// Thread-safety: use from one thread.
#ifndef RUNNEL_TESTS_HARNESS_CLUSTER_H_
#define RUNNEL_TESTS_HARNESS_CLUSTER_H_

#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "tests/harness/process.h"

namespace runnel::testing {

// Where a process runs: a network namespace (empty: the test's own; see
// netns.h) and the host it listens on, which is also the address it is
// reached at.
struct ProcessPlacement {
  std::string netns;
  std::string host = "127.0.0.1";
};

struct TestClusterOptions {
  int brokers = 1;
  ProcessPlacement coordinator_placement;
  // By broker index; brokers beyond the end use the default placement.
  std::vector<ProcessPlacement> broker_placements;
  int64_t session_timeout_ms = 6000;
  int64_t heartbeat_interval_ms = 200;
  std::vector<std::string> extra_broker_flags;
  // Serve Prometheus metrics (--metrics-listen) from every process, each on
  // a free loopback port of its own (coordinator_metrics_port() and
  // broker_metrics_port()).
  bool metrics = false;
};

class TestCluster {
 public:
  explicit TestCluster(TestClusterOptions options = {});
  ~TestCluster();

  // Starts the coordinator, then every broker, and waits until each broker
  // is registered and serving metadata.
  absl::Status Start();

  // Address of broker `i` (0-based index; its broker id is i + 1).
  std::string broker_address(int i) const;
  // Address of broker 0: what clients bootstrap from.
  std::string bootstrap() const { return broker_address(0); }
  std::string coordinator_address() const;
  // Data directory of broker `i` (read it only while the broker is down).
  std::string broker_data_dir(int i) const;
  // Metrics ports (TestClusterOptions::metrics); 0 when metrics are off.
  int coordinator_metrics_port() const { return coordinator_metrics_port_; }
  int broker_metrics_port(int i) const { return broker_metrics_ports_[i]; }

  // Starts one more broker (scale-out tests): index brokers() (its id is
  // that + 1), a free port and an empty data dir, like the first ones. Waits
  // until it is registered; returns its index.
  absl::StatusOr<int> AddBroker();
  // Brokers started so far (TestClusterOptions::brokers plus those added).
  int brokers() const { return static_cast<int>(brokers_.size()); }

  void KillBroker(int i);
  absl::Status RestartBroker(int i);  // same id, port and data dir
  void KillCoordinator();
  absl::Status RestartCoordinator();

  Process& broker(int i) { return *brokers_[i]; }
  Process& coordinator() { return *coordinator_; }

  // Waits until the coordinator answers Admin calls.
  absl::Status WaitForCoordinator(absl::Duration timeout = absl::Seconds(30));
  // Waits until broker `i` answers Metadata listing itself alive.
  absl::Status WaitForBroker(int i, absl::Duration timeout = absl::Seconds(30));

 private:
  void StartBroker(int i);
  ProcessPlacement broker_placement(int i) const;
  void StartCoordinator();

  const TestClusterOptions options_;
  std::string root_;
  int coordinator_port_;
  std::vector<int> broker_ports_;
  int coordinator_metrics_port_ = 0;
  std::vector<int> broker_metrics_ports_;
  std::unique_ptr<Process> coordinator_;
  std::vector<std::unique_ptr<Process>> brokers_;
};

}  // namespace runnel::testing

#endif  // RUNNEL_TESTS_HARNESS_CLUSTER_H_
