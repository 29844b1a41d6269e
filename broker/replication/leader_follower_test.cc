// Two ReplicaManagers, a leader and a follower, wired by direct calls in
// place of the network: the follower side builds its fetch exactly as
// ReplicaFetcher does (FollowerFetchPosition), the leader serves it (Fetch),
// and the follower applies the answer (ApplyFollowerFetch). The coordinator
// is a fake AlterPartition that commits every proposal.
#include <stdlib.h>

#include <atomic>
#include <memory>
#include <thread>

#include "absl/strings/match.h"
#include "absl/strings/str_join.h"
#include "broker/replication/replica_manager.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"

namespace runnel::replication {
namespace {

using runnel::v1::ErrorCode;

constexpr uint64_t kTopicId = 10;
const storage::PartitionId kId{kTopicId, 0};

std::string TempDir() { return MakeTempDir("lf"); }

std::string Batch(int records) {
  batch::BatchBuilder b;
  for (int i = 0; i < records; ++i) b.Append(1000 + i, "k" + std::to_string(i), "v");
  return *b.Build();
}

// One broker: its log store, metadata and replica manager.
struct Node {
  explicit Node(int32_t id, absl::Time* now) : id(id) {
    storage::StorageOptions so;
    so.data_dir = TempDir();
    so.wal_bytes = 8 << 20;  // small: a new store writes its ring whole
    logs = *storage::LogManager::Open(so);
    ReplicaManagerOptions ro;
    ro.broker_id = id;
    ro.replica_lag_time_max = absl::Seconds(10);
    ro.clock = [now] { return *now; };
    ro.metrics = &registry;
    ClusterHooks hooks;
    hooks.session_valid = [this] { return session_valid.load(); };
    hooks.alter_partition = [this](runnel::v1::AlterPartitionRequest req)
        -> absl::StatusOr<runnel::v1::PartitionInfo> {
      ++alter_calls;
      if (refuse_alter) return absl::FailedPreconditionError("partition epoch is not current");
      runnel::v1::PartitionInfo p = committed;
      p.clear_isr();
      for (int32_t b : req.new_isr()) p.add_isr(b);
      p.set_partition_epoch(req.partition_epoch() + 1);
      committed = p;
      return p;
    };
    hooks.refresh_metadata = [this] {
      ++refreshes;
      return absl::OkStatus();
    };
    hooks.on_follow_change = [this](const FollowSet& f) { follow = f; };
    rm = std::make_unique<ReplicaManager>(ro, logs.get(), &cache, hooks);
  }
  ~Node() {
    rm.reset();
    logs.reset();
  }

  void Install(const runnel::v1::ClusterMetadata& md) {
    committed = md.topics(0).partitions(0);
    ASSERT_TRUE(cache.Update(md));
    rm->ApplyMetadata(*cache.Snapshot());
  }

  runnel::v1::ProducePartitionResponse Produce(runnel::v1::Acks acks, int records,
                                               int timeout_ms = 10000) {
    runnel::v1::ProduceRequest req;
    req.set_acks(acks);
    req.set_timeout_ms(timeout_ms);
    auto* p = req.add_partitions();
    p->set_topic("orders");
    p->set_partition(0);
    p->set_records(Batch(records));
    runnel::v1::ProduceResponse resp;
    EXPECT_TRUE(rm->Produce(req, &resp).ok());
    return resp.partitions(0);
  }

  // A consumer's fetch: the records below the HW.
  int ConsumableRecords() {
    runnel::v1::FetchRequest req;
    req.set_replica_id(-1);
    auto* p = req.add_partitions();
    p->set_topic("orders");
    p->set_fetch_offset(0);
    runnel::v1::FetchResponse resp;
    EXPECT_TRUE(rm->Fetch(req, &resp).ok());
    std::vector<batch::Record> out;
    for (absl::string_view b : batch::SplitStoredBatches(resp.partitions(0).records())) {
      EXPECT_TRUE(batch::DecodeRecords(b, &out).ok());
    }
    return static_cast<int>(out.size());
  }

  // Every record in the local log, as (offset, leader epoch of its batch).
  std::vector<std::pair<int64_t, int32_t>> LocalLog() {
    std::vector<std::pair<int64_t, int32_t>> out;
    auto log = logs->Get(kId);
    EXPECT_TRUE(log->ScanBatches(0, INT64_MAX, [&](absl::string_view b) {
                     auto h = *batch::ParseHeader(b);
                     for (int64_t o = h.base_offset; o <= h.last_offset(); ++o) {
                       out.emplace_back(o, h.partition_leader_epoch);
                     }
                     return true;
                   }).ok());
    return out;
  }

  const int32_t id;
  cluster::MetadataCache cache;
  metrics::Registry registry;
  std::unique_ptr<storage::LogManager> logs;
  std::unique_ptr<ReplicaManager> rm;
  std::atomic<bool> session_valid{true};
  std::atomic<bool> refuse_alter{false};
  std::atomic<int> alter_calls{0};
  std::atomic<int> refreshes{0};
  runnel::v1::PartitionInfo committed;
  FollowSet follow;  // as last handed to the fetchers
};

class LeaderFollowerTest : public ::testing::Test {
 protected:
  LeaderFollowerTest() : n1_(1, &now_), n2_(2, &now_) {}

  // Metadata: "orders" (1 partition, replicas {1, 2}) led by `leader`.
  runnel::v1::ClusterMetadata Metadata(int32_t leader, int32_t leader_epoch,
                                       std::vector<int32_t> isr, int min_insync = 2) {
    runnel::v1::ClusterMetadata md;
    md.set_version(++version_);
    for (int32_t b : {1, 2}) {
      auto* bi = md.add_brokers();
      bi->set_id(b);
      bi->set_broker_epoch(b == 1 ? 7 : 8);
      bi->set_state(runnel::v1::BROKER_STATE_ALIVE);
    }
    auto* t = md.add_topics();
    t->set_name("orders");
    t->set_topic_id(kTopicId);
    (*t->mutable_configs())["min.insync.replicas"] = std::to_string(min_insync);
    auto* p = t->add_partitions();
    p->set_leader(leader);
    p->set_leader_epoch(leader_epoch);
    p->add_replicas(1);
    p->add_replicas(2);
    for (int32_t b : isr) p->add_isr(b);
    p->set_partition_epoch(++partition_epoch_);
    return md;
  }
  void InstallBoth(const runnel::v1::ClusterMetadata& md) {
    n1_.Install(md);
    n2_.Install(md);
  }

  // One fetch round trip of follower `to` from leader `from`; returns the
  // leader's answer.
  runnel::v1::FetchPartitionResponse Replicate(Node& from, Node& to, int32_t leader_epoch,
                                               int64_t broker_epoch = 0) {
    auto pos = to.rm->FollowerFetchPosition(kId, leader_epoch);
    EXPECT_TRUE(pos.ok()) << pos.status();
    runnel::v1::FetchRequest req;
    req.set_replica_id(to.id);
    req.set_replica_broker_epoch(broker_epoch > 0 ? broker_epoch : (to.id == 1 ? 7 : 8));
    auto* p = req.add_partitions();
    p->set_topic("orders");
    p->set_fetch_offset(pos->fetch_offset);
    p->set_current_leader_epoch(leader_epoch);
    if (pos->last_fetched_epoch) p->set_last_fetched_epoch(*pos->last_fetched_epoch);
    runnel::v1::FetchResponse resp;
    EXPECT_TRUE(from.rm->Fetch(req, &resp).ok());
    to.rm->ApplyFollowerFetch(kId, leader_epoch, *pos, resp.partitions(0)).IgnoreError();
    return resp.partitions(0);
  }

  absl::Time now_ = absl::FromUnixSeconds(1000);
  int64_t version_ = 0;
  int32_t partition_epoch_ = 0;
  Node n1_;
  Node n2_;
};

TEST_F(LeaderFollowerTest, AcksAllRepliesOnceTheFollowerHasTheBatch) {
  InstallBoth(Metadata(1, 3, {1, 2}));
  runnel::v1::ProducePartitionResponse result;
  std::thread producer([&] { result = n1_.Produce(runnel::v1::ACKS_ALL, 3); });
  while (n1_.logs->Get(kId)->log_end_offset() < 3) absl::SleepFor(absl::Milliseconds(1));
  EXPECT_EQ(n1_.ConsumableRecords(), 0) << "consumers read only below the HW";
  Replicate(n1_, n2_, 3);  // the follower gets the batch
  EXPECT_EQ(n2_.logs->Get(kId)->log_end_offset(), 3);
  Replicate(n1_, n2_, 3);  // the leader learns the follower's LEO: HW 3
  producer.join();
  EXPECT_EQ(result.error_code(), ErrorCode::ERROR_CODE_NONE) << result.error_message();
  EXPECT_EQ(result.base_offset(), 0);
  EXPECT_EQ(n1_.rm->HighWatermarkOf(kId), 3);
  EXPECT_EQ(n1_.ConsumableRecords(), 3);
  Replicate(n1_, n2_, 3);
  EXPECT_EQ(n2_.rm->HighWatermarkOf(kId), 3) << "follower HW = min(leader HW, own LEO)";
}

TEST_F(LeaderFollowerTest, AcksAllTimesOutWithoutTheFollower) {
  InstallBoth(Metadata(1, 3, {1, 2}));
  auto r = n1_.Produce(runnel::v1::ACKS_ALL, 1, /*timeout_ms=*/50);
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_REQUEST_TIMED_OUT);
  // acks=1 replies after the local write.
  auto one = n1_.Produce(runnel::v1::ACKS_LEADER, 1);
  EXPECT_EQ(one.error_code(), ErrorCode::ERROR_CODE_NONE);
  EXPECT_EQ(one.base_offset(), 1);
}

TEST_F(LeaderFollowerTest, TooFewInSyncReplicasRefusesAcksAll) {
  InstallBoth(Metadata(1, 3, {1}));
  auto r = n1_.Produce(runnel::v1::ACKS_ALL, 1);
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_NOT_ENOUGH_REPLICAS);
  EXPECT_EQ(r.error_message(),
            "partition orders-0 has 1 in-sync replica(s), fewer than min.insync.replicas=2");
  EXPECT_EQ(n1_.logs->Get(kId)->log_end_offset(), 0) << "refused before appending";
  EXPECT_EQ(n1_.Produce(runnel::v1::ACKS_LEADER, 1).error_code(), ErrorCode::ERROR_CODE_NONE);
}

TEST_F(LeaderFollowerTest, LeaderWithoutSessionRefusesWrites) {
  InstallBoth(Metadata(1, 3, {1, 2}));
  n1_.session_valid = false;
  auto r = n1_.Produce(runnel::v1::ACKS_LEADER, 1);
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_NOT_LEADER);
  EXPECT_EQ(r.error_message(), "broker 1 lost its coordinator session");
}

TEST_F(LeaderFollowerTest, WaitingAcksAllEndsWhenTheSessionIsLost) {
  InstallBoth(Metadata(1, 3, {1, 2}));
  runnel::v1::ProducePartitionResponse result;
  const absl::Time start = absl::Now();
  std::thread producer(
      [&] { result = n1_.Produce(runnel::v1::ACKS_ALL, 1, /*timeout_ms=*/30000); });
  while (n1_.logs->Get(kId)->log_end_offset() < 1) absl::SleepFor(absl::Milliseconds(1));
  n1_.session_valid = false;  // cut off: the follower will never catch up here
  producer.join();
  EXPECT_LT(absl::Now() - start, absl::Seconds(10)) << "held until the request timeout";
  EXPECT_EQ(result.error_code(), ErrorCode::ERROR_CODE_NOT_LEADER);
  EXPECT_TRUE(absl::StrContains(result.error_message(), "lost its coordinator session"))
      << result.error_message();
}

TEST_F(LeaderFollowerTest, FollowerWithStaleBrokerEpochIsRefused) {
  InstallBoth(Metadata(1, 3, {1, 2}));
  n1_.Produce(runnel::v1::ACKS_LEADER, 2);
  auto r = Replicate(n1_, n2_, 3, /*broker_epoch=*/5);
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_INVALID_REQUEST);
  EXPECT_TRUE(absl::StrContains(r.error_message(), "stale")) << r.error_message();
  EXPECT_EQ(n2_.logs->Get(kId)->log_end_offset(), 0);
}

TEST_F(LeaderFollowerTest, FollowerNeverReceivesBeyondWhatItAsks) {
  InstallBoth(Metadata(1, 3, {1, 2}));
  n1_.Produce(runnel::v1::ACKS_LEADER, 2);
  n1_.Produce(runnel::v1::ACKS_LEADER, 3);
  Replicate(n1_, n2_, 3);
  EXPECT_EQ(n2_.LocalLog(), n1_.LocalLog()) << "followers read up to the leader's log end";
}

TEST_F(LeaderFollowerTest, DivergedFollowerTruncatesToTheLeadersEpochEnd) {
  // Broker 2 leads epoch 2; three records reach broker 1, two more do not.
  InstallBoth(Metadata(2, 2, {1, 2}, /*min_insync=*/1));
  n2_.Produce(runnel::v1::ACKS_LEADER, 3);
  Replicate(n2_, n1_, 2);
  n2_.Produce(runnel::v1::ACKS_LEADER, 2);
  // Broker 1 takes over in epoch 3 and writes two records at offsets 3-4.
  InstallBoth(Metadata(1, 3, {1, 2}, /*min_insync=*/1));
  n1_.Produce(runnel::v1::ACKS_LEADER, 2);
  // Broker 2 last fetched in epoch 2 up to 5; the leader's epoch 2 ends at 3.
  auto r = Replicate(n1_, n2_, 3);
  ASSERT_TRUE(r.has_diverging_epoch());
  EXPECT_EQ(r.diverging_epoch().epoch(), 2);
  EXPECT_EQ(r.diverging_epoch().end_offset(), 3);
  EXPECT_EQ(n2_.logs->Get(kId)->log_end_offset(), 3) << "truncated to the divergence point";
  Replicate(n1_, n2_, 3);
  EXPECT_EQ(n2_.LocalLog(), n1_.LocalLog());
  std::vector<std::pair<int64_t, int32_t>> want = {{0, 2}, {1, 2}, {2, 2}, {3, 3}, {4, 3}};
  EXPECT_EQ(n2_.LocalLog(), want);
}

TEST_F(LeaderFollowerTest, FollowerBelowTheLeadersLogStartStartsOverThere) {
  InstallBoth(Metadata(1, 3, {1}, /*min_insync=*/1));
  for (int i = 0; i < 5; ++i) n1_.Produce(runnel::v1::ACKS_LEADER, 1);
  ASSERT_TRUE(n1_.logs->Get(kId)->TruncatePrefix(3).ok());  // retention
  auto r = Replicate(n1_, n2_, 3);
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(n2_.logs->Get(kId)->log_start_offset(), 3);
  Replicate(n1_, n2_, 3);
  std::vector<std::pair<int64_t, int32_t>> want = {{3, 3}, {4, 3}};
  EXPECT_EQ(n2_.LocalLog(), want);
}

TEST_F(LeaderFollowerTest, LaggingFollowerLeavesTheIsrAndRejoinsWhenCaughtUp) {
  InstallBoth(Metadata(1, 3, {1, 2}, /*min_insync=*/1));
  n1_.Produce(runnel::v1::ACKS_LEADER, 2);
  n1_.rm->MaintainIsr();
  EXPECT_EQ(n1_.alter_calls.load(), 0);
  EXPECT_EQ(n1_.rm->HighWatermarkOf(kId), 0) << "the follower holds the HW back";
  now_ += absl::Seconds(11);
  n1_.rm->MaintainIsr();
  ASSERT_EQ(n1_.alter_calls.load(), 1);
  EXPECT_EQ(n1_.committed.isr_size(), 1);
  EXPECT_EQ(n1_.rm->HighWatermarkOf(kId), 2) << "the ISR is the leader alone";
  auto has = [](Node& n, const std::string& line) {
    return n.registry.Render().find("\n" + line + "\n") != std::string::npos;
  };
  EXPECT_TRUE(has(n1_, "runnel_broker_isr_shrinks_total 1"));
  EXPECT_TRUE(has(n1_, "runnel_broker_isr_expands_total 0"));
  Replicate(n1_, n2_, 3);
  Replicate(n1_, n2_, 3);
  n1_.rm->MaintainIsr();
  ASSERT_EQ(n1_.alter_calls.load(), 2);
  EXPECT_EQ(n1_.committed.isr_size(), 2) << "caught up: back in the ISR";
  EXPECT_TRUE(has(n1_, "runnel_broker_isr_shrinks_total 1"));
  EXPECT_TRUE(has(n1_, "runnel_broker_isr_expands_total 1"));
  // The follower counts what it appended, the leader what it sent it.
  const std::string p0 = "topic=\"orders\",partition=\"0\"";
  EXPECT_TRUE(has(n2_, "runnel_partition_replication_bytes_in_total{" + p0 + "} " +
                           std::to_string(Batch(2).size())));
  EXPECT_TRUE(has(n1_, "runnel_partition_records_out_total{" + p0 + ",reader=\"replica\"} 2"));
}

TEST_F(LeaderFollowerTest, RefusedIsrChangeRefreshesAndProposesAgain) {
  InstallBoth(Metadata(1, 3, {1, 2}, /*min_insync=*/1));
  now_ += absl::Seconds(11);
  n1_.refuse_alter = true;
  n1_.rm->MaintainIsr();
  EXPECT_EQ(n1_.alter_calls.load(), 1);
  EXPECT_EQ(n1_.refreshes.load(), 1);
  n1_.refuse_alter = false;
  n1_.rm->MaintainIsr();
  EXPECT_EQ(n1_.alter_calls.load(), 2) << "proposed again from the current state";
  EXPECT_EQ(n1_.committed.isr_size(), 1);
}

// Reassignment of "orders-0" from replicas {1, 2} to {3, 2}: broker 3 starts
// empty, copies from leader 1 under the throttle and joins the ISR; the
// completed reassignment makes 3 the leader and broker 1 drops its copy.
class ReassignmentTest : public LeaderFollowerTest {
 protected:
  ReassignmentTest() : n3_(3, &now_) {}

  runnel::v1::ClusterMetadata Moving(int32_t leader, int32_t leader_epoch,
                                     std::vector<int32_t> replicas, std::vector<int32_t> isr,
                                     std::vector<int32_t> adding, std::vector<int32_t> removing,
                                     int64_t throttle) {
    runnel::v1::ClusterMetadata md = Metadata(leader, leader_epoch, isr, /*min_insync=*/2);
    auto* b3 = md.add_brokers();
    b3->set_id(3);
    b3->set_broker_epoch(9);
    b3->set_state(runnel::v1::BROKER_STATE_ALIVE);
    auto* p = md.mutable_topics(0)->mutable_partitions(0);
    p->clear_replicas();
    p->mutable_replicas()->Add(replicas.begin(), replicas.end());
    p->mutable_adding_replicas()->Add(adding.begin(), adding.end());
    p->mutable_removing_replicas()->Add(removing.begin(), removing.end());
    p->set_reassignment_throttle_bytes(throttle);
    return md;
  }
  void InstallAll(const runnel::v1::ClusterMetadata& md) {
    InstallBoth(md);
    n3_.Install(md);
  }

  Node n3_;
};

TEST_F(ReassignmentTest, AddedReplicaCopiesThrottledJoinsTheIsrAndTheRemovedOneDropsItsLog) {
  InstallAll(Moving(1, 3, {1, 2}, {1, 2}, {}, {}, 0));
  EXPECT_EQ(n3_.logs->Get(kId), nullptr) << "not a replica yet";
  n1_.Produce(runnel::v1::ACKS_LEADER, 4);
  Replicate(n1_, n2_, 3);
  Replicate(n1_, n2_, 3);

  InstallAll(Moving(1, 3, {3, 2, 1}, {2, 1}, {3}, {1}, 5000));
  ASSERT_NE(n3_.logs->Get(kId), nullptr) << "an added replica starts an empty log";
  ASSERT_EQ(n3_.follow.count(1), 1u);
  EXPECT_EQ(n3_.follow[1].second.at(0).throttle_bytes_per_second, 5000) << "copying: throttled";
  EXPECT_EQ(n2_.follow[1].second.at(0).throttle_bytes_per_second, 0) << "not copying";
  EXPECT_EQ(n1_.follow.size(), 0u) << "still leading";

  Replicate(n1_, n3_, 3, /*broker_epoch=*/9);
  EXPECT_EQ(n3_.LocalLog(), n1_.LocalLog());
  Replicate(n1_, n3_, 3, /*broker_epoch=*/9);  // the leader learns it caught up
  n1_.rm->MaintainIsr();
  ASSERT_EQ(n1_.alter_calls.load(), 1);
  EXPECT_EQ(absl::StrJoin(n1_.committed.isr(), ","), "3,2,1") << "joined the ISR";
  partition_epoch_ = n1_.committed.partition_epoch();

  // An acks=all write on leader 1 is in flight when the reassignment
  // completes: broker 3 leads, broker 1 is no replica.
  runnel::v1::ProducePartitionResponse late;
  std::thread producer([&] { late = n1_.Produce(runnel::v1::ACKS_ALL, 1, 30000); });
  while (n1_.logs->Get(kId)->log_end_offset() < 5) absl::SleepFor(absl::Milliseconds(1));
  InstallAll(Moving(3, 4, {3, 2}, {3, 2}, {}, {}, 0));
  producer.join();
  EXPECT_EQ(late.error_code(), ErrorCode::ERROR_CODE_NOT_LEADER) << late.error_message();
  EXPECT_EQ(n1_.logs->Get(kId), nullptr) << "removed: its data is deleted";
  EXPECT_EQ(n1_.Produce(runnel::v1::ACKS_LEADER, 1).error_code(), ErrorCode::ERROR_CODE_NOT_LEADER);
  EXPECT_EQ(n3_.Produce(runnel::v1::ACKS_LEADER, 1).error_code(), ErrorCode::ERROR_CODE_NONE);
  EXPECT_EQ(n3_.logs->Get(kId)->log_end_offset(), 5);
  EXPECT_EQ(n2_.follow[3].second.at(0).throttle_bytes_per_second, 0);
}

TEST_F(ReassignmentTest, LeaderKeptByTheTargetTracksTheNewFollowerAndForgetsTheOldOne) {
  InstallAll(Moving(1, 3, {1, 2}, {1, 2}, {}, {}, 0));
  n1_.Produce(runnel::v1::ACKS_LEADER, 2);
  InstallAll(Moving(1, 3, {1, 3, 2}, {1, 2}, {3}, {2}, 0));
  Replicate(n1_, n3_, 3, /*broker_epoch=*/9);
  Replicate(n1_, n3_, 3, /*broker_epoch=*/9);
  n1_.rm->MaintainIsr();
  EXPECT_EQ(absl::StrJoin(n1_.committed.isr(), ","), "1,3,2");
  partition_epoch_ = n1_.committed.partition_epoch();  // the next metadata is newer
  // Completed: {1, 3}, same leader epoch. Broker 2 no longer holds the HW.
  InstallAll(Moving(1, 3, {1, 3}, {1, 3}, {}, {}, 0));
  EXPECT_EQ(n2_.logs->Get(kId), nullptr);
  runnel::v1::ProducePartitionResponse acked;
  std::thread producer([&] { acked = n1_.Produce(runnel::v1::ACKS_ALL, 1, 30000); });
  while (n1_.logs->Get(kId)->log_end_offset() < 3) absl::SleepFor(absl::Milliseconds(1));
  Replicate(n1_, n3_, 3, /*broker_epoch=*/9);
  Replicate(n1_, n3_, 3, /*broker_epoch=*/9);
  producer.join();
  EXPECT_EQ(acked.error_code(), ErrorCode::ERROR_CODE_NONE) << acked.error_message();
}

}  // namespace
}  // namespace runnel::replication
