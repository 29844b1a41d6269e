#include "broker/replication/replica_manager.h"

#include <stdlib.h>

#include <atomic>
#include <thread>

#include "absl/time/clock.h"
#include "broker/replication/errors.h"
#include "common/temp_dir.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"

namespace runnel::replication {
namespace {

using runnel::v1::ErrorCode;

constexpr int32_t kSelf = 1;

std::string TempDir() { return MakeTempDir("rm"); }

std::string Batch(int records, int value_size = 10) {
  batch::BatchBuilder b;
  for (int i = 0; i < records; ++i) {
    b.Append(1000 + i, std::string("k") + std::to_string(i), std::string(value_size, 'v'));
  }
  return *b.Build();
}

class ReplicaManagerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    storage::StorageOptions so;
    so.data_dir = TempDir();
    so.wal_bytes = 8 << 20;  // small: a new store writes its ring whole
    logs_ = *storage::LogManager::Open(so);
    ReplicaManagerOptions ro;
    ro.broker_id = kSelf;
    ro.metrics = &registry_;
    rm_ = std::make_unique<ReplicaManager>(ro, logs_.get(), &cache_);
    // "orders": 2 partitions led here; "remote": led by broker 2.
    runnel::v1::ClusterMetadata md;
    md.set_version(1);
    AddTopic(&md, "orders", 10, 2, kSelf);
    AddTopic(&md, "remote", 11, 1, 2);
    Install(md);
  }
  void TearDown() override {
    rm_.reset();
    logs_.reset();
  }

  static runnel::v1::TopicInfo* AddTopic(runnel::v1::ClusterMetadata* md, const std::string& name,
                                         uint64_t id, int partitions, int32_t leader) {
    auto* t = md->add_topics();
    t->set_name(name);
    t->set_topic_id(id);
    for (int p = 0; p < partitions; ++p) {
      auto* pi = t->add_partitions();
      pi->set_partition(p);
      pi->set_leader(leader);
      pi->set_leader_epoch(3);
      pi->add_replicas(leader);
      pi->add_isr(leader);
    }
    return t;
  }

  void Install(const runnel::v1::ClusterMetadata& md) {
    ASSERT_TRUE(cache_.Update(md));
    rm_->ApplyMetadata(*cache_.Snapshot());
  }

  runnel::v1::ProducePartitionResponse Produce(const std::string& topic, int32_t partition,
                                               const std::string& records) {
    runnel::v1::ProduceRequest req;
    auto* p = req.add_partitions();
    p->set_topic(topic);
    p->set_partition(partition);
    p->set_records(records);
    runnel::v1::ProduceResponse resp;
    EXPECT_TRUE(rm_->Produce(req, &resp).ok());
    return resp.partitions(0);
  }

  runnel::v1::FetchPartitionResponse Fetch(const std::string& topic, int32_t partition,
                                           int64_t offset, int wait_ms = 0) {
    runnel::v1::FetchRequest req;
    req.set_max_wait_ms(wait_ms);
    req.set_min_bytes(1);
    auto* p = req.add_partitions();
    p->set_topic(topic);
    p->set_partition(partition);
    p->set_fetch_offset(offset);
    runnel::v1::FetchResponse resp;
    EXPECT_TRUE(rm_->Fetch(req, &resp).ok());
    return resp.partitions(0);
  }

  static std::vector<batch::Record> Decode(const std::string& records) {
    std::vector<batch::Record> out;
    for (absl::string_view b : batch::SplitStoredBatches(records)) {
      EXPECT_TRUE(batch::DecodeRecords(b, &out).ok());
    }
    return out;
  }

  cluster::MetadataCache cache_;
  metrics::Registry registry_;
  std::unique_ptr<storage::LogManager> logs_;
  std::unique_ptr<ReplicaManager> rm_;
};

// Whether `rendered` has the exposition line `line`.
bool HasLine(const std::string& rendered, const std::string& line) {
  return rendered.find("\n" + line + "\n") != std::string::npos;
}

TEST_F(ReplicaManagerTest, CountsTrafficPerPartitionAndReportsLeaderState) {
  const std::string batch = Batch(3);
  ASSERT_EQ(Produce("orders", 0, batch).error_code(), ErrorCode::ERROR_CODE_NONE);
  ASSERT_EQ(Produce("orders", 0, Batch(2)).error_code(), ErrorCode::ERROR_CODE_NONE);
  auto f = Fetch("orders", 0, 0);
  ASSERT_EQ(f.error_code(), ErrorCode::ERROR_CODE_NONE);
  // A long poll that times out empty counts nothing; a refused one neither.
  Fetch("orders", 0, 5, 50);
  Fetch("remote", 0, 0);
  const std::string out = registry_.Render();
  const std::string labels = "topic=\"orders\",partition=\"0\"";
  EXPECT_TRUE(HasLine(out, "runnel_partition_records_in_total{" + labels + "} 5")) << out;
  EXPECT_TRUE(HasLine(out, "runnel_partition_bytes_in_total{" + labels + "} " +
                               std::to_string(batch.size() + Batch(2).size())))
      << out;
  EXPECT_TRUE(
      HasLine(out, "runnel_partition_records_out_total{" + labels + ",reader=\"consumer\"} 5"))
      << out;
  EXPECT_TRUE(HasLine(out, "runnel_partition_bytes_out_total{" + labels + ",reader=\"consumer\"} " +
                               std::to_string(f.records().size())))
      << out;
  EXPECT_TRUE(
      HasLine(out, "runnel_partition_records_out_total{" + labels + ",reader=\"replica\"} 0"))
      << out;

  const std::vector<runnel::v1::PartitionHighWatermark> hws = rm_->LeaderHighWatermarks();
  ASSERT_EQ(hws.size(), 2u);  // the two "orders" partitions led here
  EXPECT_EQ(hws[0].topic_id(), 10u);
  EXPECT_EQ(hws[0].partition(), 0);
  EXPECT_EQ(hws[0].high_watermark(), 5);
  bool found = false;
  for (const ReplicaStats& s : rm_->Stats()) {
    if (s.topic != "orders" || s.partition != 0) continue;
    found = true;
    EXPECT_TRUE(s.leader);
    EXPECT_FALSE(s.offline);
    EXPECT_EQ(s.log_end_offset, 5);
    EXPECT_EQ(s.high_watermark, 5);
    EXPECT_EQ(s.log_start_offset, 0);
    EXPECT_EQ(s.replicas, 1);
    EXPECT_EQ(s.isr, 1);
    EXPECT_GT(s.size_bytes, 0);
  }
  EXPECT_TRUE(found);
}

TEST_F(ReplicaManagerTest, ProduceAssignsConsecutiveOffsetsPerPartition) {
  EXPECT_EQ(Produce("orders", 0, Batch(3)).base_offset(), 0);
  EXPECT_EQ(Produce("orders", 0, Batch(2)).base_offset(), 3);
  EXPECT_EQ(Produce("orders", 1, Batch(1)).base_offset(), 0);
  auto f = Fetch("orders", 0, 0);
  EXPECT_EQ(f.error_code(), ErrorCode::ERROR_CODE_NONE);
  EXPECT_EQ(f.high_watermark(), 5);
  auto records = Decode(f.records());
  ASSERT_EQ(records.size(), 5u);
  for (int i = 0; i < 5; ++i) EXPECT_EQ(records[i].offset, i);
}

TEST_F(ReplicaManagerTest, TwoBatchesInOneRequestAreStoredTogether) {
  auto r = Produce("orders", 0, Batch(2) + Batch(3));
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_NONE) << r.error_message();
  EXPECT_EQ(Produce("orders", 0, Batch(1)).base_offset(), 5);
}

TEST_F(ReplicaManagerTest, UnknownTopicAndPartitionAreNamed) {
  auto r = Produce("nope", 0, Batch(1));
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(r.error_message(), "topic 'nope' not found");
  auto p = Produce("orders", 9, Batch(1));
  EXPECT_EQ(p.error_code(), ErrorCode::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION);
  EXPECT_EQ(p.error_message(), "partition 9 out of range for topic 'orders' (2 partitions: 0-1)");
}

TEST_F(ReplicaManagerTest, NonLeaderRefusesProduceAndFetch) {
  auto r = Produce("remote", 0, Batch(1));
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_NOT_LEADER);
  EXPECT_EQ(r.error_message(), "broker 1 is not the leader of remote-0 (leader is broker 2)");
  EXPECT_EQ(Fetch("remote", 0, 0).error_code(), ErrorCode::ERROR_CODE_NOT_LEADER);
}

TEST_F(ReplicaManagerTest, CorruptBatchIsRejectedAndNothingStored) {
  std::string bad = Batch(3);
  bad[bad.size() - 1] ^= 0x5a;
  auto r = Produce("orders", 0, bad);
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_CORRUPT_BATCH);
  EXPECT_FALSE(r.error_message().empty());
  // A good batch followed by a corrupt one in the same request: all or nothing.
  auto mixed = Produce("orders", 0, Batch(2) + bad);
  EXPECT_EQ(mixed.error_code(), ErrorCode::ERROR_CODE_CORRUPT_BATCH);
  EXPECT_EQ(Produce("orders", 0, Batch(1)).base_offset(), 0);
  EXPECT_EQ(Produce("orders", 0, "").error_code(), ErrorCode::ERROR_CODE_INVALID_REQUEST);
}

TEST_F(ReplicaManagerTest, TopicMaxMessageBytesIsEnforced) {
  runnel::v1::ClusterMetadata md = cache_.Snapshot()->metadata();
  md.set_version(2);
  (*AddTopic(&md, "small", 12, 1, kSelf)->mutable_configs())["max.message.bytes"] = "200";
  Install(md);
  auto r = Produce("small", 0, Batch(10, 100));
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_BATCH_TOO_LARGE);
  EXPECT_NE(r.error_message().find("200"), std::string::npos) << r.error_message();
  EXPECT_EQ(Produce("small", 0, Batch(1, 10)).error_code(), ErrorCode::ERROR_CODE_NONE);
}

TEST_F(ReplicaManagerTest, CompactedTopicRejectsKeylessRecords) {
  runnel::v1::ClusterMetadata md = cache_.Snapshot()->metadata();
  md.set_version(2);
  (*AddTopic(&md, "latest", 12, 1, kSelf)->mutable_configs())["cleanup.policy"] = "compact";
  Install(md);
  batch::BatchBuilder keyless;
  keyless.Append(1000, "k", "v");
  keyless.Append(1001, std::nullopt, "v");
  const std::string bad = *keyless.Build();
  auto r = Produce("latest", 0, Batch(2) + bad);
  EXPECT_EQ(r.error_code(), ErrorCode::ERROR_CODE_INVALID_REQUEST);
  EXPECT_EQ(r.error_message(),
            "compacted topic 'latest' requires a key on every record: batch 1 at byte " +
                std::to_string(Batch(2).size()) + ": record 1 has no key");
  EXPECT_EQ(Produce("latest", 0, Batch(2)).base_offset(), 0);  // nothing was stored
  EXPECT_EQ(Produce("orders", 0, bad).error_code(), ErrorCode::ERROR_CODE_NONE);
}

TEST_F(ReplicaManagerTest, CleanerPolicyComesFromMetadataAndTheLog) {
  runnel::v1::ClusterMetadata md = cache_.Snapshot()->metadata();
  md.set_version(2);
  auto* configs = AddTopic(&md, "latest", 12, 1, kSelf)->mutable_configs();
  (*configs)["cleanup.policy"] = "compact,delete";
  (*configs)["retention.ms"] = "60000";
  Install(md);
  Produce("latest", 0, Batch(3));
  std::optional<storage::CleanerPolicy> policy = rm_->CleanerPolicyFor({12, 0});
  ASSERT_TRUE(policy.has_value());
  EXPECT_TRUE(policy->config.cleanup_compact);
  EXPECT_TRUE(policy->config.cleanup_delete);
  EXPECT_EQ(policy->config.retention_ms, 60000);
  EXPECT_EQ(policy->high_watermark, 3);
  // Defaults for a topic without overrides.
  policy = rm_->CleanerPolicyFor({10, 1});
  ASSERT_TRUE(policy.has_value());
  EXPECT_FALSE(policy->config.cleanup_compact);
  EXPECT_EQ(policy->high_watermark, 0);
  // Unknown topic or partition: left alone.
  EXPECT_FALSE(rm_->CleanerPolicyFor({99, 0}).has_value());
  EXPECT_FALSE(rm_->CleanerPolicyFor({12, 1}).has_value());
}

TEST_F(ReplicaManagerTest, FetchBelowARetainedStartIsOutOfRange) {
  Produce("orders", 0, Batch(3));
  Produce("orders", 0, Batch(2));
  std::optional<storage::CleanerPolicy> policy = rm_->CleanerPolicyFor({10, 0});
  ASSERT_TRUE(policy.has_value());
  policy->config.retention_bytes = 1;  // keep as little as possible
  std::shared_ptr<storage::PartitionLog> log = logs_->Get({10, 0});
  absl::StatusOr<storage::RetentionResult> r =
      storage::ApplyRetention(*log, policy->config, policy->high_watermark, /*now_ms=*/0);
  ASSERT_TRUE(r.ok()) << r.status();
  EXPECT_EQ(r->log_start_offset, 5);
  auto f = Fetch("orders", 0, 0);
  EXPECT_EQ(f.error_code(), ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(f.error_message(), "offset 0 out of range for orders-0: valid offsets are 5 to 5");
  EXPECT_EQ(Produce("orders", 0, Batch(1)).base_offset(), 5);
}

TEST_F(ReplicaManagerTest, FetchOutOfRangeNamesValidRange) {
  Produce("orders", 0, Batch(4));
  auto f = Fetch("orders", 0, 99);
  EXPECT_EQ(f.error_code(), ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(f.error_message(), "offset 99 out of range for orders-0: valid offsets are 0 to 4");
  // Fetching at the end is not an error: it is simply empty.
  auto end = Fetch("orders", 0, 4);
  EXPECT_EQ(end.error_code(), ErrorCode::ERROR_CODE_NONE);
  EXPECT_TRUE(end.records().empty());
}

TEST_F(ReplicaManagerTest, LongPollWakesOnAppend) {
  std::thread producer([this] {
    absl::SleepFor(absl::Milliseconds(100));
    Produce("orders", 1, Batch(2));
  });
  auto f = Fetch("orders", 1, 0, /*wait_ms=*/10000);
  producer.join();
  EXPECT_EQ(Decode(f.records()).size(), 2u);
}

TEST_F(ReplicaManagerTest, LongPollTimesOutEmpty) {
  absl::Time start = absl::Now();
  auto f = Fetch("orders", 1, 0, /*wait_ms=*/150);
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(140));
  EXPECT_EQ(f.error_code(), ErrorCode::ERROR_CODE_NONE);
  EXPECT_TRUE(f.records().empty());
}

TEST_F(ReplicaManagerTest, ShutdownReleasesWaitingFetch) {
  std::thread stopper([this] {
    absl::SleepFor(absl::Milliseconds(100));
    rm_->Shutdown();
  });
  auto f = Fetch("orders", 1, 0, /*wait_ms=*/20000);
  stopper.join();
  EXPECT_TRUE(f.records().empty());
}

runnel::v1::FetchRequest StreamRequest() {
  runnel::v1::FetchRequest req;
  req.set_max_wait_ms(50);
  req.set_min_bytes(1);
  req.set_replica_id(-1);
  return req;
}

void AddPartition(runnel::v1::FetchRequest* req, const std::string& topic, int32_t partition,
                  int64_t offset, int32_t max_bytes = 0) {
  auto* p = req->add_partitions();
  p->set_topic(topic);
  p->set_partition(partition);
  p->set_fetch_offset(offset);
  p->set_max_bytes(max_bytes);
}

TEST_F(ReplicaManagerTest, FetchStreamContinuesEachPartitionAndDropsOneThatFails) {
  Produce("orders", 0, Batch(3));  // [0-2]
  Produce("orders", 0, Batch(2));  // [3-4]
  Produce("orders", 1, Batch(1));  // [0]
  runnel::v1::FetchRequest req = StreamRequest();
  AddPartition(&req, "orders", 0, 0, /*max_bytes=*/1);  // one batch per answer
  AddPartition(&req, "orders", 1, 0);
  AddPartition(&req, "remote", 0, 0);  // led by broker 2
  std::vector<runnel::v1::FetchResponse> answers;
  absl::Status s = rm_->FetchStream(
      req, [] { return false; },
      [&answers](const runnel::v1::FetchResponse& answer) {
        answers.push_back(answer);
        return answers.size() < 2;
      });
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(answers.size(), 2u);
  ASSERT_EQ(answers[0].partitions_size(), 3);
  EXPECT_EQ(Decode(answers[0].partitions(0).records()).front().offset, 0);
  EXPECT_EQ(Decode(answers[0].partitions(0).records()).size(), 3u);
  EXPECT_EQ(answers[0].partitions(1).partition(), 1);
  EXPECT_EQ(answers[0].partitions(2).error_code(), ErrorCode::ERROR_CODE_NOT_LEADER);
  // Then only what is new: orders-0 from offset 3; orders-1 has nothing
  // more and remote-0 failed, so neither appears.
  ASSERT_EQ(answers[1].partitions_size(), 1);
  EXPECT_EQ(answers[1].partitions(0).partition(), 0);
  EXPECT_EQ(Decode(answers[1].partitions(0).records()).front().offset, 3);
}

TEST_F(ReplicaManagerTest, FetchStreamSendsNewRecordsAsTheyArrive) {
  runnel::v1::FetchRequest req = StreamRequest();
  AddPartition(&req, "orders", 1, 0);
  std::thread producer([this] {
    for (int i = 0; i < 3; ++i) {
      absl::SleepFor(absl::Milliseconds(30));
      Produce("orders", 1, Batch(1));
    }
  });
  std::vector<int64_t> offsets;
  absl::Status s = rm_->FetchStream(
      req, [] { return false; },
      [&offsets](const runnel::v1::FetchResponse& answer) {
        for (const batch::Record& r : Decode(answer.partitions(0).records())) {
          offsets.push_back(r.offset);
        }
        return offsets.size() < 3;
      });
  producer.join();
  ASSERT_TRUE(s.ok()) << s;
  EXPECT_EQ(offsets, (std::vector<int64_t>{0, 1, 2}));
}

TEST_F(ReplicaManagerTest, FetchStreamEndsWhenCancelledOrShutDown) {
  runnel::v1::FetchRequest req = StreamRequest();
  AddPartition(&req, "orders", 0, 0);
  std::atomic<bool> cancelled{false};
  std::thread canceller([&cancelled] {
    absl::SleepFor(absl::Milliseconds(100));
    cancelled = true;
  });
  int answers = 0;
  absl::Status s = rm_->FetchStream(
      req, [&cancelled] { return cancelled.load(); },
      [&answers](const runnel::v1::FetchResponse&) { return ++answers > 0; });
  canceller.join();
  EXPECT_TRUE(s.ok()) << s;
  EXPECT_EQ(answers, 0);  // nothing to send, and it did not spin on empty answers

  std::thread stopper([this] {
    absl::SleepFor(absl::Milliseconds(100));
    rm_->Shutdown();
  });
  s = rm_->FetchStream(
      req, [] { return false; }, [](const runnel::v1::FetchResponse&) { return true; });
  stopper.join();
  EXPECT_TRUE(s.ok()) << s;
}

TEST_F(ReplicaManagerTest, FetchStreamIsForConsumersOnly) {
  runnel::v1::FetchRequest req = StreamRequest();
  req.set_replica_id(2);
  req.set_replica_broker_epoch(7);
  AddPartition(&req, "orders", 0, 0);
  const absl::Time give_up = absl::Now() + absl::Seconds(5);
  absl::Status s = rm_->FetchStream(
      req, [give_up] { return absl::Now() > give_up; },
      [](const runnel::v1::FetchResponse&) { return true; });
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
}

TEST_F(ReplicaManagerTest, StaleLeaderEpochIsFenced) {
  runnel::v1::FetchRequest req;
  auto* p = req.add_partitions();
  p->set_topic("orders");
  p->set_partition(0);
  p->set_current_leader_epoch(2);
  runnel::v1::FetchResponse resp;
  ASSERT_TRUE(rm_->Fetch(req, &resp).ok());
  EXPECT_EQ(resp.partitions(0).error_code(), ErrorCode::ERROR_CODE_FENCED_LEADER_EPOCH);
  p->set_current_leader_epoch(4);
  resp.Clear();
  ASSERT_TRUE(rm_->Fetch(req, &resp).ok());
  EXPECT_EQ(resp.partitions(0).error_code(), ErrorCode::ERROR_CODE_UNKNOWN_LEADER_EPOCH);
}

TEST_F(ReplicaManagerTest, ListOffsetsEarliestLatestAndByTime) {
  Produce("orders", 0, Batch(3));  // timestamps 1000..1002
  runnel::v1::ListOffsetsRequest req;
  for (auto spec : {runnel::v1::OFFSET_SPEC_EARLIEST, runnel::v1::OFFSET_SPEC_LATEST,
                    runnel::v1::OFFSET_SPEC_TIMESTAMP}) {
    auto* p = req.add_partitions();
    p->set_topic("orders");
    p->set_partition(0);
    p->set_spec(spec);
    p->set_timestamp_ms(5000);
  }
  runnel::v1::ListOffsetsResponse resp;
  ASSERT_TRUE(rm_->ListOffsets(req, &resp).ok());
  EXPECT_EQ(resp.partitions(0).offset(), 0);
  EXPECT_EQ(resp.partitions(1).offset(), 3);
  EXPECT_EQ(resp.partitions(2).offset(), 3);  // no record that late: the end
  EXPECT_EQ(resp.partitions(1).leader_epoch(), 3);
}

TEST_F(ReplicaManagerTest, ListOffsetsByTimeFindsTheRecordInsideTheBatch) {
  Produce("orders", 0, Batch(3));  // offsets 0..2, timestamps 1000..1002
  Produce("orders", 0, Batch(2));  // offsets 3..4, timestamps 1000..1001
  auto lookup = [this](int64_t ts) {
    runnel::v1::ListOffsetsRequest req;
    auto* p = req.add_partitions();
    p->set_topic("orders");
    p->set_partition(0);
    p->set_spec(runnel::v1::OFFSET_SPEC_TIMESTAMP);
    p->set_timestamp_ms(ts);
    runnel::v1::ListOffsetsResponse resp;
    EXPECT_TRUE(rm_->ListOffsets(req, &resp).ok());
    return resp.partitions(0).offset();
  };
  EXPECT_EQ(lookup(0), 0);
  EXPECT_EQ(lookup(1001), 1);  // not 0, the start of the batch
  EXPECT_EQ(lookup(1002), 2);
}

TEST_F(ReplicaManagerTest, EmptyRequestsAreInvalid) {
  runnel::v1::ProduceResponse pr;
  EXPECT_TRUE(absl::IsInvalidArgument(rm_->Produce(runnel::v1::ProduceRequest(), &pr)));
  runnel::v1::FetchResponse fr;
  EXPECT_TRUE(absl::IsInvalidArgument(rm_->Fetch(runnel::v1::FetchRequest(), &fr)));
}

TEST_F(ReplicaManagerTest, DeletedTopicLosesItsLogs) {
  Produce("orders", 0, Batch(3));
  ASSERT_NE(logs_->Get({10, 0}), nullptr);
  runnel::v1::ClusterMetadata md;
  md.set_version(5);
  AddTopic(&md, "remote", 11, 1, 2);
  Install(md);
  EXPECT_EQ(logs_->Get({10, 0}), nullptr);
  EXPECT_EQ(logs_->Get({10, 1}), nullptr);
}

TEST_F(ReplicaManagerTest, PartitionMovedAwayLosesItsLogAndItsOtherPartitionsStay) {
  Produce("orders", 0, Batch(3));
  Produce("orders", 1, Batch(2));
  // A reassignment moved orders-0 to broker 2 (a newer partition epoch).
  runnel::v1::ClusterMetadata md;
  md.set_version(5);
  runnel::v1::TopicInfo* orders = AddTopic(&md, "orders", 10, 2, kSelf);
  runnel::v1::PartitionInfo* moved = orders->mutable_partitions(0);
  moved->set_leader(2);
  moved->set_leader_epoch(4);
  moved->set_replicas(0, 2);
  moved->set_isr(0, 2);
  moved->set_partition_epoch(1);
  AddTopic(&md, "remote", 11, 1, 2);
  Install(md);
  EXPECT_EQ(logs_->Get({10, 0}), nullptr);
  ASSERT_NE(logs_->Get({10, 1}), nullptr);
  EXPECT_EQ(logs_->Get({10, 1})->log_end_offset(), 2);
  EXPECT_EQ(Produce("orders", 0, Batch(1)).error_code(), ErrorCode::ERROR_CODE_NOT_LEADER);
  EXPECT_EQ(Produce("orders", 1, Batch(1)).error_code(), ErrorCode::ERROR_CODE_NONE);
  // Placed here again later: a new, empty replica.
  md.set_version(6);
  moved->add_replicas(kSelf);
  moved->set_partition_epoch(2);
  Install(md);
  ASSERT_NE(logs_->Get({10, 0}), nullptr);
  EXPECT_EQ(logs_->Get({10, 0})->log_end_offset(), 0);
}

TEST_F(ReplicaManagerTest, LeftoverLogOfAPartitionPlacedElsewhereIsDeleted) {
  // E.g. moved away while this broker was down: no replica, just the log.
  ASSERT_TRUE(logs_->GetOrCreate({11, 0}).ok());
  runnel::v1::ClusterMetadata md;
  md.set_version(5);
  AddTopic(&md, "orders", 10, 2, kSelf);
  AddTopic(&md, "remote", 11, 1, 2);
  Install(md);
  EXPECT_EQ(logs_->Get({11, 0}), nullptr);
  EXPECT_NE(logs_->Get({10, 0}), nullptr);
}

TEST(ErrorsTest, PayloadCarriesExactCodeAndFallbackMapsCanonical) {
  auto s = PartitionError(ErrorCode::ERROR_CODE_NOT_LEADER, "x");
  EXPECT_TRUE(absl::IsFailedPrecondition(s));
  EXPECT_EQ(ErrorCodeOf(s), ErrorCode::ERROR_CODE_NOT_LEADER);
  EXPECT_EQ(ErrorCodeOf(absl::OutOfRangeError("y")), ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE);
  EXPECT_EQ(ErrorCodeOf(absl::OkStatus()), ErrorCode::ERROR_CODE_NONE);
}

}  // namespace
}  // namespace runnel::replication
