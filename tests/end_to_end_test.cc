// End to end through real processes: a coordinator, a broker and the runnel
// CLI. Produces keyed records, reads them back, kill -9s the broker and
// checks that every acknowledged record is still there at the same offset.
#include <map>
#include <set>
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/partitioner.h"
#include "gtest/gtest.h"
#include "tests/cli_helpers.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

constexpr int kRecords = 10000;
constexpr int kPartitions = 3;

std::string KeyOf(int i) { return absl::StrCat("user-", i % 97); }

std::string ProduceInput(int first, int count) {
  std::string input;
  for (int i = first; i < first + count; ++i) absl::StrAppend(&input, KeyOf(i), "=v", i, "\n");
  return input;
}

int SequenceOf(const std::string& value) {
  int n = -1;
  EXPECT_TRUE(absl::SimpleAtoi(value.substr(1), &n)) << value;
  return n;
}

std::vector<ConsumedLine> ConsumeAll(const TestCluster& cluster, const std::string& topic,
                                     int expected) {
  CommandResult r = Cli(cluster.bootstrap(),
                        {"consume", topic, "--from-beginning",
                         absl::StrCat("--max-messages=", expected), "--timeout-ms=15000",
                         "--print-key", "--print-offset"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  return ParseConsumed(r.out);
}

// Every record once; per partition, offsets contiguous from 0 and in the
// order produced; each key always in the partition Kafka's partitioner picks.
void CheckComplete(const std::vector<ConsumedLine>& lines, int expected) {
  ASSERT_EQ(lines.size(), expected);
  std::set<int> seen;
  std::map<int32_t, int64_t> next_offset;
  std::map<int32_t, int> last_sequence;
  std::map<std::string, int32_t> partition_of_key;
  for (const ConsumedLine& c : lines) {
    const int seq = SequenceOf(c.value);
    EXPECT_TRUE(seen.insert(seq).second) << "duplicate record " << c.value;
    EXPECT_EQ(c.key, KeyOf(seq));
    EXPECT_EQ(c.offset, next_offset[c.partition]) << "gap or reorder in partition " << c.partition;
    next_offset[c.partition] = c.offset + 1;
    auto last = last_sequence.find(c.partition);
    if (last != last_sequence.end()) {
      EXPECT_GT(seq, last->second) << "records out of order in partition " << c.partition;
    }
    last_sequence[c.partition] = seq;
    auto [it, inserted] = partition_of_key.emplace(c.key, c.partition);
    EXPECT_EQ(it->second, c.partition) << "key " << c.key << " in two partitions";
    EXPECT_EQ(c.partition, client::PartitionForKey(c.key, kPartitions)) << c.key;
  }
  EXPECT_EQ(seen.size(), expected);
  EXPECT_EQ(next_offset.size(), kPartitions) << "every partition should get keys";
}

using Row = std::tuple<int32_t, int64_t, std::string, std::string>;
std::vector<Row> Rows(const std::vector<ConsumedLine>& lines) {
  std::vector<Row> rows;
  for (const auto& c : lines) rows.emplace_back(c.partition, c.offset, c.key, c.value);
  std::sort(rows.begin(), rows.end());
  return rows;
}

TEST(EndToEndTest, KeyedRecordsSurviveBrokerKill9) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  CommandResult create = Cli(cluster.bootstrap(), {"topic", "create", "events",
                                                   absl::StrCat("--partitions=", kPartitions)});
  ASSERT_EQ(create.exit_code, 0) << create.err;

  CommandResult produce = Cli(cluster.bootstrap(), {"produce", "events", "--key-separator=="},
                              ProduceInput(0, kRecords));
  ASSERT_EQ(produce.exit_code, 0) << produce.err;
  EXPECT_NE(produce.err.find(absl::StrCat(kRecords, " records produced")), std::string::npos)
      << produce.err;

  std::vector<ConsumedLine> before = ConsumeAll(cluster, "events", kRecords);
  CheckComplete(before, kRecords);

  // kill -9: no clean shutdown, no flush. Every acknowledged record must be
  // back after the restart, at the same offset.
  cluster.KillBroker(0);
  ASSERT_TRUE(cluster.RestartBroker(0).ok());
  std::vector<ConsumedLine> after = ConsumeAll(cluster, "events", kRecords);
  CheckComplete(after, kRecords);
  EXPECT_EQ(Rows(before), Rows(after));

  // New records continue the offsets rather than overwrite.
  CommandResult more = Cli(cluster.bootstrap(), {"produce", "events", "--key-separator=="},
                           ProduceInput(kRecords, 300));
  ASSERT_EQ(more.exit_code, 0) << more.err;
  CheckComplete(ConsumeAll(cluster, "events", kRecords + 300), kRecords + 300);
}

TEST(EndToEndTest, CoordinatorRestartKeepsMetadata) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_EQ(Cli(cluster.bootstrap(), {"topic", "create", "audit", "--partitions=2"}).exit_code, 0);
  CommandResult before = Cli(cluster.bootstrap(), {"topic", "describe", "audit"});
  ASSERT_EQ(before.exit_code, 0) << before.err;

  cluster.KillCoordinator();
  ASSERT_TRUE(cluster.RestartCoordinator().ok());
  CommandResult after = Cli(cluster.bootstrap(), {"topic", "describe", "audit"});
  ASSERT_EQ(after.exit_code, 0) << after.err;
  EXPECT_EQ(Lines(after.out).front(), Lines(before.out).front());  // same topic id and configs

  ASSERT_EQ(Cli(cluster.bootstrap(), {"produce", "audit"}, "a\nb\nc\n").exit_code, 0);
  CommandResult consumed = Cli(cluster.bootstrap(), {"consume", "audit", "--from-beginning",
                                                     "--max-messages=3", "--timeout-ms=10000"});
  ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
  std::vector<std::string> values = Lines(consumed.out);
  std::sort(values.begin(), values.end());
  EXPECT_EQ(values, (std::vector<std::string>{"a", "b", "c"}));
}

TEST(EndToEndTest, BrokerKeepsServingWhileCoordinatorIsDown) {
  TestCluster cluster;
  ASSERT_TRUE(cluster.Start().ok());
  ASSERT_EQ(Cli(cluster.bootstrap(), {"topic", "create", "logs", "--partitions=1"}).exit_code, 0);
  cluster.KillCoordinator();
  CommandResult produce = Cli(cluster.bootstrap(), {"produce", "logs"}, "x\ny\n");
  EXPECT_EQ(produce.exit_code, 0) << produce.err;
  CommandResult consumed = Cli(cluster.bootstrap(), {"consume", "logs", "--from-beginning",
                                                     "--max-messages=2", "--timeout-ms=5000"});
  EXPECT_EQ(consumed.exit_code, 0) << consumed.err;
  EXPECT_EQ(consumed.out, "x\ny\n");
  // Admin calls need the coordinator: a clear error, not a hang.
  CommandResult create = Cli(cluster.bootstrap(), {"topic", "create", "other"});
  EXPECT_NE(create.exit_code, 0);
  EXPECT_NE(create.err.find("coordinator"), std::string::npos) << create.err;
}

}  // namespace
}  // namespace runnel::testing
