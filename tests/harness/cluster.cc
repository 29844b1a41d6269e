#include "tests/harness/cluster.h"

#include <grpcpp/grpcpp.h>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"
#include "tests/harness/netns.h"

namespace runnel::testing {

namespace {
// A channel that retries connecting every 100 ms: the process behind it may
// still be starting, and gRPC's default backoff and its 30 s minimum between
// name re-resolutions would add seconds.
std::shared_ptr<grpc::Channel> FastChannel(const std::string& address) {
  grpc::ChannelArguments args;
  args.SetInt(GRPC_ARG_INITIAL_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MIN_RECONNECT_BACKOFF_MS, 100);
  args.SetInt(GRPC_ARG_MAX_RECONNECT_BACKOFF_MS, 200);
  args.SetInt(GRPC_ARG_DNS_MIN_TIME_BETWEEN_RESOLUTIONS_MS, 100);
  return grpc::CreateCustomChannel(address, grpc::InsecureChannelCredentials(), args);
}
}  // namespace

TestCluster::TestCluster(TestClusterOptions options) : options_(std::move(options)) {
  root_ = MakeTempDir("cluster");
  coordinator_port_ = FreePort();
  if (options_.metrics) coordinator_metrics_port_ = FreePort();
  for (int i = 0; i < options_.brokers; ++i) {
    broker_ports_.push_back(FreePort());
    broker_metrics_ports_.push_back(options_.metrics ? FreePort() : 0);
    brokers_.push_back(std::make_unique<Process>());
  }
  coordinator_ = std::make_unique<Process>();
}

TestCluster::~TestCluster() {
  for (auto& b : brokers_) b->Kill();
  coordinator_->Kill();
}

ProcessPlacement TestCluster::broker_placement(int i) const {
  return i < static_cast<int>(options_.broker_placements.size()) ? options_.broker_placements[i]
                                                                  : ProcessPlacement();
}

std::string TestCluster::broker_address(int i) const {
  return absl::StrCat(broker_placement(i).host, ":", broker_ports_[i]);
}

std::string TestCluster::coordinator_address() const {
  return absl::StrCat(options_.coordinator_placement.host, ":", coordinator_port_);
}

std::string TestCluster::broker_data_dir(int i) const {
  return absl::StrCat(root_, "/broker-", i + 1);
}

void TestCluster::StartCoordinator() {
  std::string path = BinaryPath("coordinator/runnel-coordinator");
  std::vector<std::string> args = {
      absl::StrCat("--listen=", coordinator_address()),
      absl::StrCat("--data-dir=", root_, "/coordinator"),
      absl::StrCat("--session-timeout-ms=", options_.session_timeout_ms)};
  if (options_.metrics) {
    args.push_back(absl::StrCat("--metrics-listen=", options_.coordinator_placement.host, ":",
                                coordinator_metrics_port_));
  }
  WrapInNamespace(options_.coordinator_placement.netns, &path, &args);
  coordinator_->Start(path, args, "coordinator");
}

void TestCluster::StartBroker(int i) {
  std::vector<std::string> args = {
      absl::StrCat("--id=", i + 1),
      absl::StrCat("--listen=", broker_address(i)),
      absl::StrCat("--coordinator=", coordinator_address()),
      absl::StrCat("--data-dir=", broker_data_dir(i)),
      absl::StrCat("--heartbeat-interval-ms=", options_.heartbeat_interval_ms),
      // A new data dir writes its whole write-ahead ring (512 MiB by
      // default): small rings keep the many brokers of the suite cheap.
      "--wal-bytes=16777216"};
  if (options_.metrics) {
    args.push_back(
        absl::StrCat("--metrics-listen=", broker_placement(i).host, ":", broker_metrics_ports_[i]));
  }
  args.insert(args.end(), options_.extra_broker_flags.begin(), options_.extra_broker_flags.end());
  std::string path = BinaryPath("broker/server/runnel-broker");
  WrapInNamespace(broker_placement(i).netns, &path, &args);
  brokers_[i]->Start(path, args, absl::StrCat("broker-", i + 1));
}

absl::Status TestCluster::Start() {
  StartCoordinator();
  if (absl::Status s = WaitForCoordinator(); !s.ok()) return s;
  for (int i = 0; i < options_.brokers; ++i) StartBroker(i);
  for (int i = 0; i < options_.brokers; ++i) {
    if (absl::Status s = WaitForBroker(i); !s.ok()) return s;
  }
  return absl::OkStatus();
}

absl::Status TestCluster::WaitForCoordinator(absl::Duration timeout) {
  auto stub = runnel::v1::Admin::NewStub(
      FastChannel(coordinator_address()));
  absl::Time deadline = absl::Now() + timeout;
  std::string last_error = "no answer";
  while (absl::Now() < deadline) {
    if (!coordinator_->running()) {
      return absl::InternalError(absl::StrCat("coordinator exited; stderr:\n",
                                              coordinator_->Stderr()));
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    runnel::v1::ListTopicsResponse resp;
    grpc::Status s = stub->ListTopics(&ctx, runnel::v1::ListTopicsRequest(), &resp);
    if (s.ok()) return absl::OkStatus();
    last_error = s.error_message();
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(absl::StrCat("coordinator not ready: ", last_error,
                                                  "; stderr:\n", coordinator_->Stderr()));
}

absl::Status TestCluster::WaitForBroker(int i, absl::Duration timeout) {
  auto stub = runnel::v1::Broker::NewStub(
      FastChannel(broker_address(i)));
  absl::Time deadline = absl::Now() + timeout;
  std::string last_error = "no answer";
  while (absl::Now() < deadline) {
    if (!brokers_[i]->running()) {
      return absl::InternalError(absl::StrCat("broker ", i + 1, " exited; stderr:\n",
                                              brokers_[i]->Stderr()));
    }
    grpc::ClientContext ctx;
    ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(1)));
    runnel::v1::MetadataResponse resp;
    grpc::Status s = stub->Metadata(&ctx, runnel::v1::MetadataRequest(), &resp);
    if (s.ok()) {
      for (const auto& b : resp.brokers()) {
        if (b.id() == i + 1 && b.state() == runnel::v1::BROKER_STATE_ALIVE &&
            b.address() == broker_address(i)) {
          return absl::OkStatus();
        }
      }
      last_error = "broker not yet registered in its own metadata";
    } else {
      last_error = s.error_message();
    }
    absl::SleepFor(absl::Milliseconds(50));
  }
  return absl::DeadlineExceededError(
      absl::StrCat("broker ", i + 1, " not ready: ", last_error, "; stderr:\n",
                   brokers_[i]->Stderr(), "\ncoordinator stderr:\n", coordinator_->Stderr()));
}

absl::StatusOr<int> TestCluster::AddBroker() {
  const int i = brokers();
  broker_ports_.push_back(FreePort());
  broker_metrics_ports_.push_back(options_.metrics ? FreePort() : 0);
  brokers_.push_back(std::make_unique<Process>());
  StartBroker(i);
  if (absl::Status s = WaitForBroker(i); !s.ok()) return s;
  return i;
}

void TestCluster::KillBroker(int i) { brokers_[i]->Kill(); }

absl::Status TestCluster::RestartBroker(int i) {
  brokers_[i]->Kill();
  StartBroker(i);
  return WaitForBroker(i);
}

void TestCluster::KillCoordinator() { coordinator_->Kill(); }

absl::Status TestCluster::RestartCoordinator() {
  coordinator_->Kill();
  StartCoordinator();
  if (absl::Status s = WaitForCoordinator(); !s.ok()) return s;
  for (int i = 0; i < brokers(); ++i) {
    if (!brokers_[i]->running()) continue;
    if (absl::Status s = WaitForBroker(i); !s.ok()) return s;
  }
  return absl::OkStatus();
}

}  // namespace runnel::testing
