// Scale-out through the Coordinator: ReassignPartitions and its lifecycle
// (copy, ISR, leader move, completion; durable across a restart),
// ListReassignments, BalanceCluster (dry run, moves, decommission) and
// auto-balance. The per-partition rules are unit-tested in
// //coordinator/election:reassignment_test.
#include <map>
#include <set>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/core/coordinator.h"
#include "coordinator/core/coordinator_fixture.h"
#include "gtest/gtest.h"

namespace runnel::coordinator {
namespace {

class ReassignmentTest : public CoordinatorFixture {
 protected:
  // Brokers 1..brokers and topic "t" with `partitions` partitions of `rf`
  // replicas.
  void Cluster(int brokers, int partitions, int rf) {
    for (int id = 1; id <= brokers; ++id) Register(id);
    auto created = Create("t", partitions, rf);
    ASSERT_TRUE(created.ok()) << created.status();
  }

  int64_t Version() { return coordinator_->metadata_version(); }

  absl::StatusOr<v1::ReassignPartitionsResponse> Reassign(
      std::vector<std::pair<int32_t, std::vector<int32_t>>> targets, int64_t throttle = 0,
      const std::string& topic = "t") {
    v1::ReassignPartitionsRequest request;
    for (const auto& [partition, target] : targets) {
      v1::PartitionReassignment* r = request.add_reassignments();
      r->set_topic(topic);
      r->set_partition(partition);
      r->mutable_target_replicas()->Add(target.begin(), target.end());
    }
    request.set_throttle_bytes_per_second(throttle);
    return coordinator_->ReassignPartitions(request);
  }

  absl::StatusOr<v1::BalanceClusterResponse> Balance(bool dry_run, std::vector<int32_t> drain = {},
                                                     int64_t throttle = 0) {
    v1::BalanceClusterRequest request;
    request.set_dry_run(dry_run);
    request.mutable_drain_brokers()->Add(drain.begin(), drain.end());
    request.set_throttle_bytes_per_second(throttle);
    return coordinator_->BalanceCluster(request);
  }

  // "replicas [..] +[..] -[..] leader L epoch E isr [..]" of partition p.
  std::string Moving(int32_t p = 0) {
    const v1::PartitionInfo info = Partition("t", p);
    return absl::StrCat("replicas [", absl::StrJoin(info.replicas(), ","), "] +[",
                        absl::StrJoin(info.adding_replicas(), ","), "] -[",
                        absl::StrJoin(info.removing_replicas(), ","), "] leader ", info.leader(),
                        " epoch ", info.leader_epoch(), " isr [", absl::StrJoin(info.isr(), ","),
                        "]");
  }

  // Each leader adds its partition's copying replicas to the ISR, as it
  // does once they caught up.
  void CatchUpEverything() {
    const v1::ListReassignmentsResponse moving = coordinator_->ListReassignments();
    for (const v1::ReassignmentStatus& r : moving.reassignments()) {
      const v1::PartitionInfo p = Partition(r.topic(), r.partition());
      std::vector<int32_t> isr(p.isr().begin(), p.isr().end());
      isr.insert(isr.end(), p.adding_replicas().begin(), p.adding_replicas().end());
      auto altered = AlterIsr(p.leader(), r.topic(), r.partition(), isr);
      ASSERT_TRUE(altered.ok()) << altered.status();
    }
  }

  // Replicas per broker over topic "t" (brokers holding none absent).
  std::map<int32_t, int> ReplicaCounts() {
    std::map<int32_t, int> counts;
    const v1::TopicInfo topic = Describe("t")->topic();
    for (const v1::PartitionInfo& p : topic.partitions()) {
      for (int32_t b : p.replicas()) ++counts[b];
    }
    return counts;
  }

  std::string Error(const absl::Status& s) {
    return absl::StrCat(absl::StatusCodeToString(s.code()), ": ", s.message());
  }
};

TEST_F(ReassignmentTest, NewReplicaCopiesJoinsTheIsrThenTheOldLeaderHandsOverAndLeaves) {
  Cluster(4, 1, 3);
  ASSERT_EQ(Moving(), "replicas [1,2,3] +[] -[] leader 1 epoch 0 isr [1,2,3]");
  const int64_t version = Version();
  auto started = Reassign({{0, {4, 2, 3}}}, 5000);
  ASSERT_TRUE(started.ok()) << started.status();
  ASSERT_EQ(started->reassignments_size(), 1);
  EXPECT_EQ(absl::StrJoin(started->reassignments(0).target_replicas(), ","), "4,2,3");
  EXPECT_EQ(absl::StrJoin(started->reassignments(0).adding_replicas(), ","), "4");
  EXPECT_EQ(absl::StrJoin(started->reassignments(0).removing_replicas(), ","), "1");
  // Broker 4 copies from leader 1, which keeps leading.
  EXPECT_EQ(Moving(), "replicas [4,2,3,1] +[4] -[1] leader 1 epoch 0 isr [2,3,1]");
  EXPECT_EQ(Partition("t").reassignment_throttle_bytes(), 5000);
  EXPECT_EQ(Partition("t").partition_epoch(), 1);
  EXPECT_EQ(Version(), version + 1);
  Advance(kSession + kBalanceInterval);
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Moving(), "replicas [4,2,3,1] +[4] -[1] leader 1 epoch 0 isr [2,3,1]")
      << "no preferred-leader move during the copy";
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 1);

  // The leader adds 4 once it caught up: the answer is that ISR change...
  auto altered = AlterIsr(1, "t", 0, {4, 2, 3, 1});
  ASSERT_TRUE(altered.ok()) << altered.status();
  EXPECT_EQ(altered->partition().leader(), 1);
  EXPECT_EQ(altered->partition().partition_epoch(), 2);
  // ...and the reassignment completes in the next commit: 4 leads.
  EXPECT_EQ(Moving(), "replicas [4,2,3] +[] -[] leader 4 epoch 1 isr [4,2,3]");
  EXPECT_EQ(Partition("t").partition_epoch(), 3);
  EXPECT_EQ(Partition("t").reassignment_throttle_bytes(), 0);
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);
  EXPECT_EQ(ReplicaCounts(), (std::map<int32_t, int>{{2, 1}, {3, 1}, {4, 1}}));
}

TEST_F(ReassignmentTest, LeaderKeptByTheTargetLeadsOnThenThePreferredReplicaTakesOver) {
  Cluster(4, 1, 2);
  ASSERT_TRUE(Reassign({{0, {4, 1}}}).ok());
  EXPECT_EQ(Moving(), "replicas [4,1,2] +[4] -[2] leader 1 epoch 0 isr [1,2]");
  ASSERT_TRUE(AlterIsr(1, "t", 0, {4, 1, 2}).ok());
  EXPECT_EQ(Moving(), "replicas [4,1] +[] -[] leader 1 epoch 0 isr [4,1]");
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Moving(), "replicas [4,1] +[] -[] leader 4 epoch 1 isr [4,1]");
}

TEST_F(ReassignmentTest, ReorderMovesNoDataAndLeadershipFollowsAtTheNextTick) {
  Cluster(3, 1, 3);
  auto reordered = Reassign({{0, {2, 3, 1}}});
  ASSERT_TRUE(reordered.ok()) << reordered.status();
  EXPECT_EQ(reordered->reassignments(0).adding_replicas_size(), 0);
  EXPECT_EQ(Moving(), "replicas [2,3,1] +[] -[] leader 1 epoch 0 isr [2,3,1]");
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Moving(), "replicas [2,3,1] +[] -[] leader 2 epoch 1 isr [2,3,1]");
}

TEST_F(ReassignmentTest, InProgressReassignmentSurvivesACoordinatorRestart) {
  Cluster(4, 2, 2);
  ASSERT_TRUE(Reassign({{0, {3, 4}}, {1, {4, 1}}}, 777).ok());
  const std::string before = Moving(0);
  Reopen();
  EXPECT_EQ(Moving(0), before);
  EXPECT_EQ(Partition("t", 0).reassignment_throttle_bytes(), 777);
  ASSERT_EQ(coordinator_->ListReassignments().reassignments_size(), 2);
  CatchUpEverything();
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);
  EXPECT_EQ(absl::StrJoin(Partition("t", 0).replicas(), ","), "3,4");
  EXPECT_EQ(absl::StrJoin(Partition("t", 1).replicas(), ","), "4,1");
}

TEST_F(ReassignmentTest, CompletionWaitsForTheNewReplicaEvenIfItWasFenced) {
  Cluster(4, 1, 2);
  ASSERT_TRUE(Reassign({{0, {1, 4}}}).ok());
  Fence({4});
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(Moving(), "replicas [1,4,2] +[4] -[2] leader 1 epoch 0 isr [1,2]");
  Register(4);
  ASSERT_TRUE(AlterIsr(1, "t", 0, {1, 4, 2}).ok());
  EXPECT_EQ(Moving(), "replicas [1,4] +[] -[] leader 1 epoch 0 isr [1,4]");
}

TEST_F(ReassignmentTest, BadRequestsAreRefusedNamingTheProblemAndChangeNothing) {
  Cluster(4, 2, 2);
  Fence({4});
  const int64_t version = Version();
  EXPECT_EQ(Error(Reassign({}).status()), "INVALID_ARGUMENT: no partitions to reassign");
  EXPECT_EQ(Error(Reassign({{0, {1, 3}}}, 0, "nope").status()),
            "INVALID_ARGUMENT: cannot reassign: topic 'nope' not found");
  EXPECT_EQ(Error(Reassign({{2, {1, 3}}}).status()),
            "INVALID_ARGUMENT: cannot reassign: partition 2 out of range for topic 't' (2 "
            "partitions)");
  EXPECT_EQ(Error(Reassign({{0, {1, 3}}, {0, {2, 3}}}).status()),
            "INVALID_ARGUMENT: partition t-0 is listed twice");
  EXPECT_EQ(Error(Reassign({{0, {3, 3}}}).status()),
            "INVALID_ARGUMENT: target replicas of t-0 list broker 3 twice");
  EXPECT_EQ(Error(Reassign({{0, {1}}}).status()),
            "INVALID_ARGUMENT: target replicas of t-0 must be 2 broker(s) (the topic's "
            "replication factor), got 1");
  EXPECT_EQ(Error(Reassign({{0, {1, 9}}}).status()),
            "INVALID_ARGUMENT: broker 9 is not registered");
  EXPECT_EQ(Error(Reassign({{1, {1, 3}}, {0, {1, 4}}}).status()),
            "FAILED_PRECONDITION: broker 4 is not live: it cannot become a replica of t-0");
  EXPECT_EQ(Error(Reassign({{0, {1, 3}}}, -1).status()),
            "INVALID_ARGUMENT: throttle_bytes_per_second must be >= 0, got -1");
  EXPECT_EQ(Version(), version) << "all or nothing";
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);
}

TEST_F(ReassignmentTest, BalanceSpreadsReplicasToANewBrokerAndADryRunChangesNothing) {
  Cluster(3, 6, 2);
  Register(4);
  const int64_t version = Version();
  auto plan = Balance(/*dry_run=*/true);
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_GT(plan->moves_size(), 0);
  int copies = 0;
  for (const v1::PlannedMove& m : plan->moves()) copies += m.added_replicas_size();
  EXPECT_EQ(copies, 3) << "12 replicas over 4 brokers: 3 move to broker 4";
  EXPECT_EQ(Version(), version);
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);

  auto run = Balance(/*dry_run=*/false, {}, 1 << 20);
  ASSERT_TRUE(run.ok()) << run.status();
  EXPECT_EQ(run->moves_size(), plan->moves_size()) << "the dry run showed what runs";
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 3);
  // Planned again while copying: the targets are already balanced.
  EXPECT_EQ(Balance(/*dry_run=*/true)->moves_size(), 0);
  CatchUpEverything();
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);
  EXPECT_EQ(ReplicaCounts(), (std::map<int32_t, int>{{1, 3}, {2, 3}, {3, 3}, {4, 3}}));
  // Preferred leaders are spread too, and leadership follows them.
  Advance(kSession + kBalanceInterval);
  ASSERT_TRUE(coordinator_->Tick().ok());
  std::map<int32_t, int> leaders;
  const v1::TopicInfo topic = Describe("t")->topic();
  for (const v1::PartitionInfo& p : topic.partitions()) {
    EXPECT_EQ(p.leader(), p.replicas(0));
    ++leaders[p.leader()];
  }
  for (const auto& [broker, n] : leaders) EXPECT_LE(n, 2) << broker;
}

TEST_F(ReassignmentTest, DecommissionEmptiesTheBrokerAndKeepsNewTopicsOffIt) {
  Cluster(4, 4, 2);
  EXPECT_EQ(Error(Balance(false, {9}).status()), "INVALID_ARGUMENT: broker 9 is not registered");
  auto run = Balance(/*dry_run=*/false, {2});
  ASSERT_TRUE(run.ok()) << run.status();
  for (const v1::PlannedMove& m : run->moves()) {
    for (int32_t b : m.to_replicas()) EXPECT_NE(b, 2);
  }
  CatchUpEverything();
  EXPECT_EQ(ReplicaCounts().count(2), 0u);
  EXPECT_EQ(Balance(/*dry_run=*/true)->moves_size(), 0) << "stays drained";
  auto created = Create("u", 6, 3);
  ASSERT_TRUE(created.ok()) << created.status();
  for (const v1::PartitionInfo& p : created->topic().partitions()) {
    for (int32_t b : p.replicas()) EXPECT_NE(b, 2);
  }
  // Nowhere to go: 3 replicas of "u" but 2 brokers left besides 1.
  EXPECT_EQ(Balance(false, {1}).status().code(), absl::StatusCode::kFailedPrecondition);
}

class AutoBalanceTest : public ReassignmentTest {
 protected:
  void SetUp() override {
    configure_ = [](CoordinatorOptions* options) {
      options->auto_balance = true;
      options->auto_balance_delay = absl::Minutes(1);
      options->auto_balance_throttle_bytes = 4096;
    };
    Reopen();
  }
};

TEST_F(AutoBalanceTest, ABrokerJoiningEmptyGetsReplicasASessionTimeoutLater) {
  Cluster(3, 6, 2);
  Register(4);
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0) << "not at once";
  Advance(kSession);
  ASSERT_TRUE(coordinator_->Tick().ok());
  auto moving = coordinator_->ListReassignments();
  ASSERT_EQ(moving.reassignments_size(), 3);
  for (const v1::ReassignmentStatus& r : moving.reassignments()) {
    EXPECT_EQ(absl::StrJoin(r.adding_replicas(), ","), "4");
    EXPECT_EQ(Partition("t", r.partition()).reassignment_throttle_bytes(), 4096);
  }
}

TEST_F(AutoBalanceTest, ABrokerFencedForTheDelayIsDrained) {
  Cluster(4, 4, 2);
  Fence({3});
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);
  Advance(absl::Minutes(1));
  ASSERT_TRUE(coordinator_->Tick().ok());
  auto moving = coordinator_->ListReassignments();
  ASSERT_EQ(moving.reassignments_size(), 2) << "broker 3 held 2 replicas";
  for (const v1::ReassignmentStatus& r : moving.reassignments()) {
    EXPECT_EQ(absl::StrJoin(r.removing_replicas(), ","), "3");
  }
  CatchUpEverything();
  EXPECT_EQ(ReplicaCounts().count(3), 0u);
}

TEST_F(AutoBalanceTest, OffWithoutTheOption) {
  configure_ = nullptr;
  Reopen();
  Cluster(3, 6, 2);
  Register(4);
  Advance(kSession * 2);
  ASSERT_TRUE(coordinator_->Tick().ok());
  EXPECT_EQ(coordinator_->ListReassignments().reassignments_size(), 0);
}

}  // namespace
}  // namespace runnel::coordinator
