// Horizontal scale-out (docs/operations.md) with real processes: three
// brokers grow to four while an acks=all producer and a consumer group run;
// `runnel cluster balance` (throttled) moves replicas to the new broker;
// then `runnel cluster decommission` empties one of the old ones, and
// `runnel partitions reassign` reorders one partition by hand. Checks:
// the new broker holds replicas and replicas are spread evenly, the drained
// broker holds no data, every acknowledged record is consumed exactly once
// and in offset order by the group, and every partition's replicas are
// identical below the high watermark. About 10 s.
#include <algorithm>
#include <atomic>
#include <iostream>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/clock.h"
#include "client/admin.h"
#include "client/consumer.h"
#include "gtest/gtest.h"
#include "tests/cli_helpers.h"
#include "tests/harness/cluster.h"
#include "tests/replication_helpers.h"

namespace runnel::testing {
namespace {

constexpr char kTopic[] = "scale";
constexpr int kPartitions = 6;
constexpr int kReplicationFactor = 2;
// Per copying replica: well above what the producer writes to a partition
// (so copies catch up), low enough to spread a copy over several fetches.
constexpr int64_t kThrottleBytes = 64 << 10;

// A consumer-group member on its own thread, remembering how often it saw
// each (partition, offset) and whether offsets ever went backwards.
class GroupConsumer {
 public:
  explicit GroupConsumer(const std::string& bootstrap) {
    client::ConsumerOptions o;
    o.client.bootstrap = bootstrap;
    o.group_id = "scale-group";
    o.auto_offset_reset = client::OffsetReset::kEarliest;
    o.enable_auto_commit = true;
    consumer_ = std::make_unique<client::Consumer>(o);
    thread_ = std::thread([this] { Run(); });
  }
  ~GroupConsumer() { Stop(); }

  void Stop() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
  }

  // Waits until the member has read every partition up to `ends` (partition
  // -> next offset).
  bool WaitUntilConsumed(const std::map<int32_t, int64_t>& ends, absl::Duration timeout) {
    const absl::Time deadline = absl::Now() + timeout;
    while (absl::Now() < deadline) {
      {
        absl::MutexLock lock(&mu_);
        bool done = true;
        for (const auto& [p, end] : ends) done &= next_[p] >= end;
        if (done) return true;
      }
      absl::SleepFor(absl::Milliseconds(100));
    }
    return false;
  }

  std::map<std::pair<int32_t, int64_t>, std::pair<int, std::string>> Seen() {
    absl::MutexLock lock(&mu_);
    return seen_;
  }
  int out_of_order() {
    absl::MutexLock lock(&mu_);
    return out_of_order_;
  }

 private:
  void Run() {
    ASSERT_TRUE(consumer_->Subscribe({kTopic}).ok());
    while (!stop_) {
      auto records = consumer_->Poll(absl::Milliseconds(200));
      if (!records.ok()) continue;  // a leader may be moving
      absl::MutexLock lock(&mu_);
      for (const client::ConsumerRecord& r : *records) {
        auto& [count, value] = seen_[{r.partition, r.offset}];
        ++count;
        value = r.value.value_or("<null>");
        if (r.offset < next_[r.partition]) ++out_of_order_;
        next_[r.partition] = r.offset + 1;
      }
    }
    EXPECT_TRUE(consumer_->Close().ok());
  }

  std::unique_ptr<client::Consumer> consumer_;
  std::atomic<bool> stop_{false};
  absl::Mutex mu_;
  // (partition, offset) -> (times consumed, value)
  std::map<std::pair<int32_t, int64_t>, std::pair<int, std::string>> seen_ ABSL_GUARDED_BY(mu_);
  std::map<int32_t, int64_t> next_ ABSL_GUARDED_BY(mu_);
  int out_of_order_ ABSL_GUARDED_BY(mu_) = 0;
  std::thread thread_;
};

// Replicas per broker id over `topic`.
std::map<int32_t, int> ReplicaCounts(const runnel::v1::TopicInfo& topic) {
  std::map<int32_t, int> counts;
  for (const auto& p : topic.partitions()) {
    for (int32_t b : p.replicas()) ++counts[b];
  }
  return counts;
}

std::string Placement(const runnel::v1::TopicInfo& topic) {
  std::string out;
  for (const auto& p : topic.partitions()) {
    absl::StrAppend(&out, " ", p.partition(), ":[", absl::StrJoin(p.replicas(), ","), "]/",
                    p.leader());
  }
  return out;
}

// Waits until no reassignment is in progress.
bool WaitForReassignments(client::Admin& admin, absl::Duration timeout) {
  const absl::Time deadline = absl::Now() + timeout;
  while (absl::Now() < deadline) {
    auto moving = admin.ListReassignments();
    if (moving.ok() && moving->reassignments().empty()) return true;
    absl::SleepFor(absl::Milliseconds(200));
  }
  return false;
}

TEST(ScaleOutTest, GrowThreeToFourBrokersThenDecommissionOneUnderLoad) {
  TestClusterOptions options;
  options.brokers = 3;
  TestCluster cluster(options);
  ASSERT_TRUE(cluster.Start().ok());
  CreateReplicatedTopic(cluster, kReplicationFactor, kTopic, kPartitions, /*min_insync=*/2);
  ASSERT_TRUE(WaitForFullIsr(cluster, kTopic, absl::Seconds(20)));
  const std::string bootstrap = cluster.bootstrap();
  client::ClientOptions client_options;
  client_options.bootstrap = bootstrap;
  client::Admin admin(client_options);

  BackgroundProducer producer(bootstrap, kTopic);
  GroupConsumer consumer(bootstrap);
  ASSERT_TRUE(producer.WaitForMoreAcks(5000));

  // --- Scale out: broker 4 joins empty; balance moves replicas to it. ---
  absl::StatusOr<int> added = cluster.AddBroker();
  ASSERT_TRUE(added.ok()) << added.status();
  ASSERT_EQ(*added, 3);
  CommandResult plan = Cli(bootstrap, {"cluster", "balance", "--dry-run"});
  ASSERT_EQ(plan.exit_code, 0) << plan.err;
  EXPECT_TRUE(absl::StrContains(plan.out, "dry run, nothing started")) << plan.out;
  EXPECT_TRUE(absl::StrContains(plan.out, "Copies: 4")) << plan.out;
  auto still = admin.ListReassignments();
  ASSERT_TRUE(still.ok());
  EXPECT_EQ(still->reassignments_size(), 0) << "a dry run starts nothing";

  CommandResult balance =
      Cli(bootstrap, {"cluster", "balance", absl::StrCat("--throttle-bytes=", kThrottleBytes)});
  ASSERT_EQ(balance.exit_code, 0) << balance.err;
  EXPECT_TRUE(absl::StrContains(balance.out, ": started")) << balance.out;
  std::cout << "balance plan:\n" << balance.out;
  CommandResult listed = Cli(bootstrap, {"partitions", "reassignments"});
  EXPECT_EQ(listed.exit_code, 0) << listed.err;
  std::cout << "in progress:\n" << listed.out;
  const absl::Time started = absl::Now();
  ASSERT_TRUE(producer.WaitForMoreAcks(2000));
  ASSERT_TRUE(WaitForReassignments(admin, absl::Seconds(40)));
  std::cout << "balance done in " << absl::Now() - started << "\n";

  runnel::v1::TopicInfo grown = Describe(cluster, kTopic);
  std::cout << "after balance:" << Placement(grown) << "\n";
  std::map<int32_t, int> counts = ReplicaCounts(grown);
  EXPECT_GT(counts[4], 0) << "broker 4 holds replicas";
  for (int32_t b = 1; b <= 4; ++b) {
    EXPECT_EQ(counts[b], kPartitions * kReplicationFactor / 4)
        << "broker " << b << " of" << Placement(grown);
  }
  CommandResult again = Cli(bootstrap, {"cluster", "balance", "--dry-run"});
  EXPECT_EQ(again.out, "nothing to move: the cluster is balanced\n") << "the plan ended balanced";
  ASSERT_TRUE(producer.WaitForMoreAcks(2000));

  // --- Decommission broker 2 the same way. ---
  CommandResult drain = Cli(bootstrap, {"cluster", "decommission", "2",
                                        absl::StrCat("--throttle-bytes=", kThrottleBytes)});
  ASSERT_EQ(drain.exit_code, 0) << drain.err;
  std::cout << "decommission plan:\n" << drain.out;
  ASSERT_TRUE(WaitForReassignments(admin, absl::Seconds(40)));
  runnel::v1::TopicInfo drained = Describe(cluster, kTopic);
  std::cout << "after decommission:" << Placement(drained) << "\n";
  counts = ReplicaCounts(drained);
  EXPECT_EQ(counts.count(2), 0u) << "broker 2 holds nothing:" << Placement(drained);
  for (int32_t b : {1, 3, 4}) {
    EXPECT_EQ(counts[b], kPartitions * kReplicationFactor / 3)
        << "broker " << b << " of" << Placement(drained);
  }
  ASSERT_TRUE(producer.WaitForMoreAcks(2000));

  // --- A single move by hand: a reorder copies nothing and is done at once. ---
  const auto& p0 = drained.partitions(0).replicas();
  const std::string reversed = absl::StrCat(p0[1], ",", p0[0]);
  CommandResult reorder =
      Cli(bootstrap, {"partitions", "reassign", absl::StrCat("--topic=", kTopic), "--partition=0",
                      "--replicas=" + reversed});
  ASSERT_EQ(reorder.exit_code, 0) << reorder.err;
  EXPECT_TRUE(absl::StrContains(reorder.out, "Target: " + reversed)) << reorder.out;
  EXPECT_TRUE(absl::StrContains(reorder.out, "State: done")) << reorder.out;
  CommandResult bad = Cli(bootstrap, {"partitions", "reassign", absl::StrCat("--topic=", kTopic),
                                      "--partition=0", "--replicas=1,9"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_EQ(bad.err, "runnel: broker 9 is not registered\n");

  // --- Everything acknowledged is consumed once, in order. ---
  producer.Stop();
  const RecordsByOffset acked = producer.Acked();
  std::map<int32_t, int64_t> ends;
  for (const auto& [where, value] : acked) {
    ends[where.first] = std::max(ends[where.first], where.second + 1);
  }
  EXPECT_TRUE(consumer.WaitUntilConsumed(ends, absl::Seconds(30)));
  consumer.Stop();
  const auto seen = consumer.Seen();
  int missing = 0;
  int duplicated = 0;
  for (const auto& [where, value] : acked) {
    auto it = seen.find(where);
    if (it == seen.end() || it->second.second != value) {
      if (++missing <= 5) {
        ADD_FAILURE() << "acknowledged " << value << " at " << where.first << "/" << where.second
                      << " but consumed " << (it == seen.end() ? "nothing" : it->second.second);
      }
    } else if (it->second.first != 1) {
      if (++duplicated <= 5) {
        ADD_FAILURE() << "consumed " << it->second.first << " times: " << where.first << "/"
                      << where.second;
      }
    }
  }
  EXPECT_EQ(missing, 0) << "of " << acked.size() << " acknowledged records";
  EXPECT_EQ(duplicated, 0);
  EXPECT_EQ(consumer.out_of_order(), 0);
  std::cout << acked.size() << " records acknowledged, " << producer.failed()
            << " sends failed (retried or not acknowledged)\n";

  // --- Replicas identical where the metadata places them; none elsewhere. ---
  const std::vector<int64_t> hws = CheckAcknowledgedReadable(bootstrap, kTopic, kPartitions, acked);
  CheckPlacedReplicasIdentical(cluster, kTopic, hws);
}

}  // namespace
}  // namespace runnel::testing
