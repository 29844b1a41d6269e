// Graceful shutdown on SIGTERM (docs/architecture.md, "Graceful shutdown"): a
// broker first reports NOT_SERVING on gRPC health, asks the coordinator to
// move its leaderships to other in-sync replicas (retrying while a follower
// catches up), then stops serving and exits 0. Checked on real processes:
// leadership has moved by the time the process is gone, far sooner than the
// session timeout a crash would wait for; no acknowledged record is lost;
// and a leader whose only follower is behind keeps serving until the
// follower is back in sync, then hands over.
#include <grpcpp/grpcpp.h>
#include <signal.h>

#include <iostream>
#include <memory>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "proto/grpc/health/v1/health.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"
#include "tests/harness/cluster.h"
#include "tests/replication_helpers.h"

namespace runnel::testing {
namespace {

using grpc::health::v1::HealthCheckResponse;

constexpr int64_t kSessionTimeoutMs = 20000;

std::unique_ptr<grpc::ClientContext> Context() {
  auto context = std::make_unique<grpc::ClientContext>();
  context->set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(2)));
  return context;
}

// The broker's gRPC health status; UNKNOWN when it does not answer.
HealthCheckResponse::ServingStatus Health(const std::string& address) {
  auto stub = grpc::health::v1::Health::NewStub(
      grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  HealthCheckResponse response;
  if (!stub->Check(Context().get(), grpc::health::v1::HealthCheckRequest(), &response).ok()) {
    return HealthCheckResponse::UNKNOWN;
  }
  return response.status();
}

// Whether the broker still answers a Metadata call.
bool Answers(const std::string& address) {
  auto stub = v1::Broker::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  v1::MetadataResponse response;
  return stub->Metadata(Context().get(), v1::MetadataRequest(), &response).ok();
}

// Waits up to `timeout` for the process to exit; its exit code, or -1 if it
// is still running (then killed).
int WaitForExit(Process& process, absl::Duration timeout) {
  for (absl::Time deadline = absl::Now() + timeout; absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(10))) {
    if (!process.running()) return process.Terminate();  // reaped: just the code
  }
  process.Kill();
  return -1;
}

TestClusterOptions Options(int brokers, std::vector<std::string> extra_flags = {}) {
  TestClusterOptions o;
  o.brokers = brokers;
  // Long, so that a leadership moved by a session expiry cannot be mistaken
  // for one moved by controlled shutdown.
  o.session_timeout_ms = kSessionTimeoutMs;
  o.heartbeat_interval_ms = 200;
  o.extra_broker_flags = std::move(extra_flags);
  return o;
}

TEST(ShutdownTest, LeadershipMovesBeforeTheBrokerExitsAndNothingAcknowledgedIsLost) {
  constexpr int kBrokers = 3;
  constexpr int kPartitions = 3;
  TestCluster cluster(Options(kBrokers));
  ASSERT_TRUE(cluster.Start().ok());
  for (int i = 0; i < kBrokers; ++i) {
    EXPECT_EQ(Health(cluster.broker_address(i)), HealthCheckResponse::SERVING) << i;
  }
  CreateReplicatedTopic(cluster, kBrokers, "orders", kPartitions, 2);
  ASSERT_TRUE(WaitForFullIsr(cluster, "orders", absl::Seconds(20)));

  // The victim leads a partition and is not the producer's bootstrap broker.
  v1::TopicInfo topic = Describe(cluster, "orders");
  int32_t victim = -1;
  for (const v1::PartitionInfo& p : topic.partitions()) {
    if (p.leader() != 1) victim = p.leader();
  }
  ASSERT_GT(victim, 1) << "every partition is led by broker 1";

  BackgroundProducer producer(cluster.bootstrap(), "orders");
  ASSERT_TRUE(producer.WaitForMoreAcks(1000));
  const absl::Time sigterm = absl::Now();
  cluster.broker(victim - 1).Signal(SIGTERM);
  const int code = WaitForExit(cluster.broker(victim - 1), absl::Seconds(30));
  const absl::Duration took = absl::Now() - sigterm;
  // Right after it exited, the coordinator already has new leaders: only
  // controlled shutdown moves them this soon (a crash waits for the 20 s
  // session timeout).
  topic = Describe(cluster, "orders");
  EXPECT_EQ(code, 0) << cluster.broker(victim - 1).Stderr();
  EXPECT_LT(took, absl::Seconds(5));
  for (const v1::PartitionInfo& p : topic.partitions()) {
    EXPECT_GE(p.leader(), 1) << "partition " << p.partition();
    EXPECT_NE(p.leader(), victim) << "partition " << p.partition();
    for (int32_t b : p.isr()) EXPECT_NE(b, victim) << "partition " << p.partition();
  }
  const std::string log = cluster.broker(victim - 1).Stderr();
  EXPECT_NE(log.find("leaderships handed off"), std::string::npos) << log;
  std::cout << "broker " << victim << " exited " << absl::ToInt64Milliseconds(took)
            << " ms after SIGTERM\n";

  // Producing goes on at the new leaders.
  ASSERT_TRUE(producer.WaitForMoreAcks(1000)) << "failed=" << producer.failed();
  producer.Stop();
  std::cout << "acknowledged " << producer.acked() << ", failed " << producer.failed() << "\n";
  ASSERT_TRUE(cluster.RestartBroker(victim - 1).ok());
  ASSERT_TRUE(WaitForFullIsr(cluster, "orders", absl::Seconds(30)));
  auto hws =
      CheckAcknowledgedReadable(cluster.bootstrap(), "orders", kPartitions, producer.Acked());
  CheckReplicasIdentical(cluster, kBrokers, "orders", hws);
}

TEST(ShutdownTest, ALeaderWaitsNotServingUntilItsFollowerIsInSync) {
  // Followers leave the ISR after 1 s behind; a stopping broker waits up to
  // 30 s for one to be back.
  TestCluster cluster(
      Options(2, {"--replica-lag-time-max-ms=1000", "--shutdown-timeout-ms=30000"}));
  ASSERT_TRUE(cluster.Start().ok());
  CreateReplicatedTopic(cluster, 2, "slow", 1, 1);
  ASSERT_TRUE(WaitForFullIsr(cluster, "slow", absl::Seconds(20)));
  const int32_t leader = Describe(cluster, "slow").partitions(0).leader();
  ASSERT_GE(leader, 1);
  const int32_t follower = 3 - leader;
  const std::string leader_address = cluster.broker_address(leader - 1);

  // The follower freezes (still registered: its session lasts 20 s) and
  // falls out of the ISR as records arrive.
  cluster.broker(follower - 1).Signal(SIGSTOP);
  for (absl::Time deadline = absl::Now() + absl::Seconds(15);
       Describe(cluster, "slow").partitions(0).isr_size() != 1 && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(100))) {
    RawProduce(leader_address, "slow", 0, v1::ACKS_LEADER, 2000);
  }
  ASSERT_EQ(Describe(cluster, "slow").partitions(0).isr_size(), 1);

  // SIGTERM: no in-sync replica can take over, so the leader keeps leading
  // and serving, but tells health checks it is going.
  cluster.broker(leader - 1).Signal(SIGTERM);
  HealthCheckResponse::ServingStatus health = HealthCheckResponse::SERVING;
  for (absl::Time deadline = absl::Now() + absl::Seconds(5);
       health == HealthCheckResponse::SERVING && absl::Now() < deadline;
       absl::SleepFor(absl::Milliseconds(20))) {
    health = Health(leader_address);
  }
  EXPECT_EQ(health, HealthCheckResponse::NOT_SERVING);
  absl::SleepFor(absl::Seconds(1));
  EXPECT_TRUE(cluster.broker(leader - 1).running());
  EXPECT_TRUE(Answers(leader_address));
  EXPECT_EQ(Describe(cluster, "slow").partitions(0).leader(), leader);

  // The follower resumes, catches up and rejoins the ISR; the leadership
  // moves to it and the broker exits.
  cluster.broker(follower - 1).Signal(SIGCONT);
  const int code = WaitForExit(cluster.broker(leader - 1), absl::Seconds(25));
  EXPECT_EQ(code, 0) << cluster.broker(leader - 1).Stderr();
  const v1::PartitionInfo p = Describe(cluster, "slow").partitions(0);
  EXPECT_EQ(p.leader(), follower);
  const std::string log = cluster.broker(leader - 1).Stderr();
  EXPECT_NE(log.find("leaderships handed off"), std::string::npos) << log;
}

}  // namespace
}  // namespace runnel::testing
