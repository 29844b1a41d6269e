#include "tests/replication_helpers.h"

#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <iostream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/clock.h"
#include "broker/replication/stopped_replica.h"
#include "client/consumer.h"
#include "gtest/gtest.h"
#include "proto/batch/record_batch.h"
#include "proto/runnel/v1/admin.grpc.pb.h"
#include "proto/runnel/v1/broker.grpc.pb.h"

namespace runnel::testing {

namespace {
std::unique_ptr<runnel::v1::Admin::Stub> AdminStub(TestCluster& cluster) {
  return runnel::v1::Admin::NewStub(
      grpc::CreateChannel(cluster.coordinator_address(), grpc::InsecureChannelCredentials()));
}
}  // namespace

runnel::v1::TopicInfo Describe(TestCluster& cluster, const std::string& topic) {
  grpc::ClientContext ctx;
  ctx.set_deadline(absl::ToChronoTime(absl::Now() + absl::Seconds(5)));
  runnel::v1::DescribeTopicRequest req;
  req.set_name(topic);
  runnel::v1::DescribeTopicResponse resp;
  grpc::Status s = AdminStub(cluster)->DescribeTopic(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.topic();
}

void CreateReplicatedTopic(TestCluster& cluster, int brokers, const std::string& topic,
                           int partitions, int min_insync) {
  grpc::ClientContext ctx;
  runnel::v1::CreateTopicRequest req;
  req.set_name(topic);
  req.set_partitions(partitions);
  req.set_replication_factor(brokers);
  (*req.mutable_configs())["min.insync.replicas"] = absl::StrCat(min_insync);
  runnel::v1::CreateTopicResponse resp;
  grpc::Status s = AdminStub(cluster)->CreateTopic(&ctx, req, &resp);
  ASSERT_TRUE(s.ok()) << s.error_message();
}

bool WaitForFullIsr(TestCluster& cluster, const std::string& topic, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    runnel::v1::TopicInfo t = Describe(cluster, topic);
    bool full = t.partitions_size() > 0;
    for (const auto& p : t.partitions()) {
      full &= p.leader() >= 0 && p.isr_size() == p.replicas_size();
    }
    if (full) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

BackgroundProducer::BackgroundProducer(const std::string& bootstrap, std::string topic)
    : topic_(std::move(topic)) {
  client::ProducerOptions popts;
  popts.client.bootstrap = bootstrap;
  popts.batch_bytes = 2048;
  popts.acks = runnel::v1::ACKS_ALL;
  producer_ = std::make_unique<client::Producer>(popts);
  thread_ = std::thread([this] { Run(); });
}

void BackgroundProducer::Stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

bool BackgroundProducer::WaitForMoreAcks(int n) {
  const int target = acked() + n;
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (acked() < target && absl::Now() < deadline) absl::SleepFor(absl::Milliseconds(10));
  return acked() >= target;
}

int64_t BackgroundProducer::MaxAckedOffset(int32_t partition) {
  absl::MutexLock lock(&mu_);
  auto it = acked_.lower_bound({partition + 1, -1});
  if (it == acked_.begin()) return -1;
  --it;
  return it->first.first == partition ? it->first.second : -1;
}

RecordsByOffset BackgroundProducer::Acked() {
  absl::MutexLock lock(&mu_);
  return acked_;
}

void BackgroundProducer::Run() {
  int sent = 0;
  while (!stop_) {
    std::string value = absl::StrCat("value-", sent);
    client::ProducerRecord rec;
    rec.topic = topic_;
    rec.key = absl::StrCat("k", sent % 64);
    rec.value = value;
    absl::Status s = producer_->Send(std::move(rec), [this, value](const auto& md) {
      if (!md.ok()) {
        failed_count_++;
        return;
      }
      absl::MutexLock lock(&mu_);
      auto [it, inserted] = acked_.emplace(std::make_pair(md->partition, md->offset), value);
      if (!inserted && it->second != value) {
        ADD_FAILURE() << "offset " << md->offset << " of partition " << md->partition
                      << " acknowledged twice: " << it->second << " and " << value;
      }
      acked_count_++;
    });
    if (!s.ok()) {
      failed_count_++;
      absl::SleepFor(absl::Milliseconds(50));
    }
    ++sent;
    // Pace the run: a few thousand records a second is plenty to land
    // failures inside writes, and keeps the check at the end quick.
    if (sent % 100 == 0) absl::SleepFor(absl::Milliseconds(20));
  }
  producer_->Flush().IgnoreError();
}

std::vector<int64_t> CheckAcknowledgedReadable(const std::string& bootstrap,
                                               const std::string& topic, int partitions,
                                               const RecordsByOffset& acked,
                                               RecordsByOffset* stored_out) {
  client::ConsumerOptions conf;
  conf.client.bootstrap = bootstrap;
  client::Consumer consumer(conf);
  std::vector<client::PartitionAssignment> assign;
  for (int p = 0; p < partitions; ++p) {
    assign.push_back({topic, p, client::StartOffset::Earliest()});
  }
  EXPECT_TRUE(consumer.Assign(assign).ok());
  RecordsByOffset stored;
  std::vector<int64_t> hws(partitions, -1);
  const absl::Time deadline = absl::Now() + absl::Seconds(60);
  while (absl::Now() < deadline) {
    auto records = consumer.Poll(absl::Milliseconds(500));
    if (!records.ok()) continue;  // a leader may still be moving
    for (const auto& r : *records) stored[{r.partition, r.offset}] = r.value.value_or("<null>");
    if (records->empty()) {
      int64_t total = 0;
      for (int p = 0; p < partitions; ++p) {
        auto hw = consumer.HighWatermark(client::TopicPartition{topic, p});
        hws[p] = hw.ok() ? *hw : -1;
        total += hws[p];
      }
      if (static_cast<int64_t>(stored.size()) >= total) break;
    }
  }
  int lost = 0;
  for (const auto& [where, value] : acked) {
    auto it = stored.find(where);
    if (it == stored.end() || it->second != value) {
      if (++lost <= 5) {
        ADD_FAILURE() << "acknowledged " << value << " at partition " << where.first << " offset "
                      << where.second << " but found "
                      << (it == stored.end() ? "nothing" : it->second);
      }
    }
  }
  EXPECT_EQ(lost, 0) << "of " << acked.size() << " acknowledged records";
  if (stored_out != nullptr) *stored_out = std::move(stored);
  return hws;
}

void PrintReplicationEvents(TestCluster& cluster, int brokers) {
  const char* kEvents[] = {"leading",       "ISR",        "diverged",
                           "starting over", "level=warn", "level=error"};
  for (int i = 0; i < brokers; ++i) {
    std::cout << "--- broker " << i + 1 << " replication events\n";
    const std::string log = cluster.broker(i).Stderr();
    for (absl::string_view line : absl::StrSplit(log, '\n')) {
      for (const char* e : kEvents) {
        if (absl::StrContains(line, e)) {
          std::cout << line << "\n";
          break;
        }
      }
    }
  }
  std::cout << "--- coordinator events\n";
  for (absl::string_view line : absl::StrSplit(cluster.coordinator().Stderr(), '\n')) {
    if (!absl::StrContains(line, "level=debug")) std::cout << line << "\n";
  }
}

namespace {

// Checks that brokers `holders` (indexes) hold the same record at every
// offset of partition `p` below `hw`; the brokers must be stopped.
void CompareReplicas(TestCluster& cluster, uint64_t topic_id, int p, int64_t hw,
                     const std::vector<int>& holders) {
  ASSERT_GE(hw, 0);
  std::vector<std::map<int64_t, std::string>> logs;
  for (int i : holders) {
    auto log = replication::ReadStoppedReplica(cluster.broker_data_dir(i), topic_id, p, hw);
    ASSERT_TRUE(log.ok()) << "broker " << i + 1 << " partition " << p << ": " << log.status();
    EXPECT_EQ(static_cast<int64_t>(log->size()), hw)
        << "broker " << i + 1 << " partition " << p << " lacks offsets below the HW";
    logs.push_back(*std::move(log));
  }
  for (size_t j = 1; j < logs.size(); ++j) {
    int diffs = 0;
    for (const auto& [offset, value] : logs[0]) {
      auto it = logs[j].find(offset);
      if (it == logs[j].end() || it->second != value) {
        if (++diffs <= 3) {
          ADD_FAILURE() << "partition " << p << " offset " << offset << ": broker "
                        << holders[0] + 1 << " has " << value << ", broker " << holders[j] + 1
                        << " has " << (it == logs[j].end() ? "nothing" : it->second);
        }
      }
    }
    EXPECT_EQ(diffs, 0) << "partition " << p << ", broker " << holders[0] + 1 << " vs broker "
                        << holders[j] + 1;
  }
}

// Prints the replication events, lets followers settle and stops every broker.
void StopBrokers(TestCluster& cluster, int brokers) {
  PrintReplicationEvents(cluster, brokers);
  // Followers in the ISR hold at least the HW; give them a moment to fetch
  // the last acknowledgements' successors too (not needed for the check).
  absl::SleepFor(absl::Milliseconds(500));
  for (int i = 0; i < brokers; ++i) cluster.KillBroker(i);
}

}  // namespace

void CheckReplicasIdentical(TestCluster& cluster, int brokers, const std::string& topic,
                            const std::vector<int64_t>& hws) {
  const uint64_t topic_id = Describe(cluster, topic).topic_id();
  StopBrokers(cluster, brokers);
  std::vector<int> all;
  for (int i = 0; i < brokers; ++i) all.push_back(i);
  for (int p = 0; p < static_cast<int>(hws.size()); ++p) {
    CompareReplicas(cluster, topic_id, p, hws[p], all);
  }
}

void CheckPlacedReplicasIdentical(TestCluster& cluster, const std::string& topic,
                                  const std::vector<int64_t>& hws) {
  const runnel::v1::TopicInfo info = Describe(cluster, topic);
  StopBrokers(cluster, cluster.brokers());
  for (int p = 0; p < static_cast<int>(hws.size()) && p < info.partitions_size(); ++p) {
    std::vector<int> holders;
    for (int32_t id : info.partitions(p).replicas()) holders.push_back(id - 1);
    CompareReplicas(cluster, info.topic_id(), p, hws[p], holders);
    for (int i = 0; i < cluster.brokers(); ++i) {
      if (std::find(holders.begin(), holders.end(), i) != holders.end()) continue;
      auto log =
          replication::ReadStoppedReplica(cluster.broker_data_dir(i), info.topic_id(), p, hws[p]);
      EXPECT_TRUE(absl::IsNotFound(log.status()))
          << "broker " << i + 1 << " still holds partition " << p << " it was moved off";
    }
  }
}

runnel::v1::ProducePartitionResponse RawProduce(const std::string& address,
                                                const std::string& topic, int32_t partition,
                                                runnel::v1::Acks acks, int timeout_ms,
                                                const std::string& value) {
  batch::BatchBuilder builder;
  builder.Append(1000, std::string("k"), value);
  auto stub =
      runnel::v1::Broker::NewStub(grpc::CreateChannel(address, grpc::InsecureChannelCredentials()));
  runnel::v1::ProduceRequest req;
  req.set_acks(acks);
  req.set_timeout_ms(timeout_ms);
  auto* p = req.add_partitions();
  p->set_topic(topic);
  p->set_partition(partition);
  p->set_records(*builder.Build());
  runnel::v1::ProduceResponse resp;
  grpc::ClientContext ctx;
  ctx.set_deadline(
      absl::ToChronoTime(absl::Now() + absl::Milliseconds(timeout_ms) + absl::Seconds(8)));
  grpc::Status s = stub->Produce(&ctx, req, &resp);
  EXPECT_TRUE(s.ok()) << s.error_message();
  return resp.partitions_size() > 0 ? resp.partitions(0) : runnel::v1::ProducePartitionResponse();
}

}  // namespace runnel::testing
