// Retention and log compaction through real processes: a broker with a fast
// log cleaner, topics created and fed with the runnel CLI. Checks that a
// compacted topic keeps the latest value of every key at its original offset
// (also after kill -9 and restart), and that retention.ms deletes old records
// so that reading below the new start fails naming the valid range.
#include <string>
#include <tuple>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/time/clock.h"
#include "absl/time/time.h"
#include "gtest/gtest.h"
#include "tests/cli_helpers.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

constexpr int kKeys = 5;
constexpr int kRounds = 4;

TestClusterOptions FastCleaner() {
  TestClusterOptions options;
  options.extra_broker_flags = {"--log-cleaner-interval-ms=200"};
  return options;
}

// Every record of the topic from its earliest offset, as (offset, key, value).
using Row = std::tuple<int64_t, std::string, std::string>;
std::vector<Row> ConsumeFromBeginning(const TestCluster& cluster, const std::string& topic) {
  CommandResult r = Cli(
      cluster.bootstrap(),
      {"consume", topic, "--from-beginning", "--timeout-ms=1500", "--print-key", "--print-offset"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<Row> rows;
  for (const ConsumedLine& c : ParseConsumed(r.out)) rows.emplace_back(c.offset, c.key, c.value);
  return rows;
}

// Consumes until the topic reads as `want` or 30 s pass; returns the last read.
std::vector<Row> WaitForContents(const TestCluster& cluster, const std::string& topic,
                                 const std::vector<Row>& want) {
  const absl::Time deadline = absl::Now() + absl::Seconds(30);
  std::vector<Row> rows = ConsumeFromBeginning(cluster, topic);
  while (rows != want && absl::Now() < deadline) {
    absl::SleepFor(absl::Milliseconds(300));
    rows = ConsumeFromBeginning(cluster, topic);
  }
  return rows;
}

TEST(RetentionCompactionTest, CompactedTopicKeepsTheLatestValuePerKeyAcrossKill9) {
  TestCluster cluster(FastCleaner());
  ASSERT_TRUE(cluster.Start().ok());
  CommandResult create = Cli(cluster.bootstrap(), {"topic", "create", "latest", "--partitions=1",
                                                   "--config=cleanup.policy=compact"});
  ASSERT_EQ(create.exit_code, 0) << create.err;

  // kRounds produce calls (so several batches), each setting every key:
  // round r's value of key i lands at offset r * kKeys + i.
  for (int r = 0; r < kRounds; ++r) {
    std::string input;
    for (int i = 0; i < kKeys; ++i) absl::StrAppend(&input, "key", i, "=v", r, "\n");
    CommandResult produce =
        Cli(cluster.bootstrap(), {"produce", "latest", "--key-separator=="}, input);
    ASSERT_EQ(produce.exit_code, 0) << produce.err;
  }
  std::vector<Row> want;
  for (int i = 0; i < kKeys; ++i) {
    want.emplace_back((kRounds - 1) * kKeys + i, absl::StrCat("key", i),
                      absl::StrCat("v", kRounds - 1));
  }
  EXPECT_EQ(WaitForContents(cluster, "latest", want), want);

  // A compacted topic refuses records without a key.
  CommandResult keyless = Cli(cluster.bootstrap(), {"produce", "latest"}, "no key\n");
  EXPECT_NE(keyless.exit_code, 0);
  EXPECT_NE(keyless.err.find("compacted topic 'latest' requires a key on every record"),
            std::string::npos)
      << keyless.err;

  // kill -9 and restart: the compacted log reads the same, and new records
  // continue after the old log end, not after the last surviving record.
  cluster.KillBroker(0);
  ASSERT_TRUE(cluster.RestartBroker(0).ok());
  EXPECT_EQ(WaitForContents(cluster, "latest", want), want);
  // (A whole new round: the cleaner waits until at least half the log is new
  // since its last pass, Kafka's min.cleanable.dirty.ratio.)
  std::string input;
  for (int i = 0; i < kKeys; ++i) absl::StrAppend(&input, "key", i, "=v9\n");
  CommandResult more = Cli(cluster.bootstrap(), {"produce", "latest", "--key-separator=="}, input);
  ASSERT_EQ(more.exit_code, 0) << more.err;
  std::vector<Row> after;
  for (int i = 0; i < kKeys; ++i) {
    after.emplace_back(kRounds * kKeys + i, absl::StrCat("key", i), "v9");
  }
  EXPECT_EQ(WaitForContents(cluster, "latest", after), after);
}

TEST(RetentionCompactionTest, RetentionMsDeletesOldRecordsAndMovesTheStart) {
  TestCluster cluster(FastCleaner());
  ASSERT_TRUE(cluster.Start().ok());
  CommandResult create = Cli(cluster.bootstrap(), {"topic", "create", "short", "--partitions=1",
                                                   "--config=retention.ms=2000"});
  ASSERT_EQ(create.exit_code, 0) << create.err;
  CommandResult produce =
      Cli(cluster.bootstrap(), {"produce", "short", "--key-separator=="}, "a=1\nb=2\nc=3\n");
  ASSERT_EQ(produce.exit_code, 0) << produce.err;
  EXPECT_EQ(ConsumeFromBeginning(cluster, "short").size(), 3u);

  // Timestamps are produce times: 2 s plus a cleaner pass later they are gone.
  EXPECT_EQ(WaitForContents(cluster, "short", {}), std::vector<Row>{});
  CommandResult below =
      Cli(cluster.bootstrap(), {"consume", "short", "--offset=0", "--timeout-ms=5000"});
  EXPECT_NE(below.exit_code, 0);
  EXPECT_NE(below.err.find("valid offsets are 3 to 3"), std::string::npos) << below.err;

  // The log continues at offset 3.
  ASSERT_EQ(Cli(cluster.bootstrap(), {"produce", "short", "--key-separator=="}, "d=4\n").exit_code,
            0);
  CommandResult fresh =
      Cli(cluster.bootstrap(), {"consume", "short", "--from-beginning", "--max-messages=1",
                                "--timeout-ms=5000", "--print-key", "--print-offset"});
  ASSERT_EQ(fresh.exit_code, 0) << fresh.err;
  std::vector<ConsumedLine> lines = ParseConsumed(fresh.out);
  ASSERT_EQ(lines.size(), 1u);
  EXPECT_EQ(lines[0].offset, 3);
  EXPECT_EQ(lines[0].value, "4");
}

}  // namespace
}  // namespace runnel::testing
