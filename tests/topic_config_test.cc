// Topic configs through real processes: set at creation, shown by describe,
// changed by alter-config, refused when bad, and applied by the brokers, the
// partition leader that is not the bootstrap broker learning of a change only
// from its heartbeat.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/clock.h"
#include "gtest/gtest.h"
#include "tests/cli_helpers.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

constexpr int kPartitions = 2;

// Exit 2 and exactly one "runnel: " line on stderr containing `expected`.
void ExpectBadInput(const CommandResult& r, const std::string& expected) {
  EXPECT_EQ(r.exit_code, 2) << r.err;
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_TRUE(absl::StartsWith(lines[0], "runnel: ")) << lines[0];
  EXPECT_NE(lines[0].find(expected), std::string::npos)
      << "wanted: " << expected << "\ngot: " << lines[0];
  EXPECT_EQ(r.out, "");
}

class TopicConfigTest : public ::testing::Test {
 protected:
  TopicConfigTest() : cluster_(TestClusterOptions{/*brokers=*/2}) {}

  void SetUp() override { ASSERT_TRUE(cluster_.Start().ok()); }

  CommandResult Runnel(std::vector<std::string> args, const std::string& input = "") {
    return Cli(cluster_.bootstrap(), std::move(args), input);
  }

  std::string Describe(const std::string& topic) {
    CommandResult r = Runnel({"topic", "describe", topic});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    return r.out;
  }

  CommandResult Produce(int partition, const std::string& value) {
    return Runnel({"produce", "orders", absl::StrCat("--partition=", partition)}, value + "\n");
  }

  TestCluster cluster_;
};

TEST_F(TopicConfigTest, CreateDescribeAlterAndBrokersApplyTheChange) {
  CommandResult created =
      Runnel({"topic", "create", "orders", absl::StrCat("--partitions=", kPartitions),
              "--config=max.message.bytes=2000"});
  ASSERT_EQ(created.exit_code, 0) << created.err;
  EXPECT_EQ(created.out, "created topic 'orders' with 2 partitions (replication factor 1)\n");

  std::string described = Describe("orders");
  std::vector<std::string> lines = Lines(described);
  ASSERT_EQ(lines.size(), 1u + kPartitions + 8) << described;  // topic, partitions, configs
  EXPECT_TRUE(absl::EndsWith(lines[0], "\tConfigs: max.message.bytes=2000")) << lines[0];
  EXPECT_NE(described.find("\tConfig: max.message.bytes=2000\tSource: override\n"),
            std::string::npos)
      << described;
  EXPECT_NE(described.find("\tConfig: retention.ms=604800000\tSource: default\n"),
            std::string::npos)
      << described;
  // One partition is led by broker 2, which hears of config changes made
  // through the bootstrap broker (1) only at its heartbeat.
  EXPECT_NE(described.find("\tLeader: 1\t"), std::string::npos) << described;
  EXPECT_NE(described.find("\tLeader: 2\t"), std::string::npos) << described;

  CommandResult altered = Runnel({"topic", "alter-config", "orders", "--config=retention.ms=1000"});
  ASSERT_EQ(altered.exit_code, 0) << altered.err;
  EXPECT_EQ(altered.out, "altered topic 'orders': retention.ms=1000\n");
  EXPECT_EQ(altered.err, "");
  described = Describe("orders");
  EXPECT_TRUE(
      absl::EndsWith(Lines(described)[0], "\tConfigs: max.message.bytes=2000,retention.ms=1000"))
      << described;
  EXPECT_NE(described.find("\tConfig: retention.ms=1000\tSource: override\n"), std::string::npos)
      << described;

  // Refused changes say what is wrong in one line and change nothing.
  ExpectBadInput(Runnel({"topic", "alter-config", "orders", "--config=retention.msec=5"}),
                 "unknown topic config 'retention.msec' (known: cleanup.policy, ");
  ExpectBadInput(Runnel({"topic", "alter-config", "orders", "--config=retention.ms=soon",
                         "--config=cleanup.policy=compact"}),
                 "invalid value 'soon' for topic config 'retention.ms'");
  ExpectBadInput(Runnel({"topic", "alter-config", "missing", "--config=retention.ms=1"}),
                 "topic 'missing' not found");
  ExpectBadInput(Runnel({"topic", "create", "other", "--config=max.message.bytes=0"}),
                 "invalid value '0' for topic config 'max.message.bytes'");
  EXPECT_EQ(Describe("orders"), described);

  // Every broker enforces max.message.bytes=2000: the large record is refused
  // with its size named, the small one is stored.
  const std::string large(3000, 'x');
  for (int p = 0; p < kPartitions; ++p) {
    ExpectBadInput(Produce(p, large), "larger than the maximum of 2000");
    CommandResult small = Produce(p, "small");
    EXPECT_EQ(small.exit_code, 0) << small.err;
  }

  altered = Runnel({"topic", "alter-config", "orders", "--config=max.message.bytes=100000"});
  ASSERT_EQ(altered.exit_code, 0) << altered.err;
  EXPECT_EQ(altered.out, "altered topic 'orders': max.message.bytes=100000\n");

  // Each leader accepts the large record once it has the new metadata: at
  // once for the bootstrap broker, within a heartbeat (200 ms) for the other.
  for (int p = 0; p < kPartitions; ++p) {
    const absl::Time deadline = absl::Now() + absl::Seconds(10);
    CommandResult r = Produce(p, large);
    while (r.exit_code != 0 && absl::Now() < deadline) {
      EXPECT_EQ(r.exit_code, 2) << r.err;
      absl::SleepFor(absl::Milliseconds(100));
      r = Produce(p, large);
    }
    ASSERT_EQ(r.exit_code, 0) << "partition " << p << ": " << r.err;
    CommandResult consumed = Runnel({"consume", "orders", absl::StrCat("--partition=", p),
                                     "--from-beginning", "--max-messages=2", "--timeout-ms=10000"});
    ASSERT_EQ(consumed.exit_code, 0) << consumed.err;
    EXPECT_EQ(Lines(consumed.out), (std::vector<std::string>{"small", large}));
  }

  // A reset brings the default back.
  altered = Runnel({"topic", "alter-config", "orders", "--reset=retention.ms"});
  ASSERT_EQ(altered.exit_code, 0) << altered.err;
  EXPECT_EQ(altered.out, "altered topic 'orders': retention.ms=604800000 (default)\n");
  EXPECT_NE(Describe("orders").find("\tConfig: retention.ms=604800000\tSource: default\n"),
            std::string::npos);
}

}  // namespace
}  // namespace runnel::testing
