// Every bad input the runnel CLI can get: a one-line error naming the
// problem on stderr, exit code 2, and nothing already stored is lost.
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "gtest/gtest.h"
#include "tests/cli_helpers.h"
#include "tests/harness/cluster.h"

namespace runnel::testing {
namespace {

class CliErrorsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    cluster_ = new TestCluster();
    ASSERT_TRUE(cluster_->Start().ok());
    ASSERT_EQ(Cli(cluster_->bootstrap(), {"topic", "create", "kept", "--partitions=3"}).exit_code,
              0);
    ASSERT_EQ(Cli(cluster_->bootstrap(), {"produce", "kept", "--partition=0"}, "r1\nr2\nr3\n")
                  .exit_code,
              0);
  }
  static void TearDownTestSuite() {
    delete cluster_;
    cluster_ = nullptr;
  }
  void TearDown() override {
    // Nothing lost: the three records written at setup are all still there.
    CommandResult r = Cli(cluster_->bootstrap(), {"consume", "kept", "--partition=0",
                                                  "--from-beginning", "--max-messages=3",
                                                  "--timeout-ms=5000"});
    EXPECT_EQ(r.exit_code, 0) << r.err;
    EXPECT_EQ(r.out, "r1\nr2\nr3\n");
  }

  // Runs the CLI and checks: exit 2, exactly one stderr line, starting with
  // "runnel: " and containing `expected`.
  static void ExpectBadInput(std::vector<std::string> args, const std::string& expected,
                             const std::string& input = "",
                             const std::string& bootstrap = "") {
    CommandResult r = Cli(bootstrap.empty() ? cluster_->bootstrap() : bootstrap, args, input);
    std::string cmd = absl::StrJoin(args, " ");
    EXPECT_EQ(r.exit_code, 2) << cmd << "\nstderr: " << r.err;
    std::vector<std::string> lines = Lines(r.err);
    ASSERT_EQ(lines.size(), 1u) << cmd << "\nstderr: " << r.err;
    EXPECT_TRUE(absl::StartsWith(lines[0], "runnel: ")) << lines[0];
    EXPECT_NE(lines[0].find(expected), std::string::npos)
        << cmd << "\nwanted: " << expected << "\ngot: " << lines[0];
    EXPECT_TRUE(r.out.empty()) << cmd << "\nstdout: " << r.out;
  }

  static TestCluster* cluster_;
};

TestCluster* CliErrorsTest::cluster_ = nullptr;

TEST_F(CliErrorsTest, UnknownTopic) {
  ExpectBadInput({"consume", "missing", "--timeout-ms=1000"}, "topic 'missing' not found");
  ExpectBadInput({"produce", "missing"}, "topic 'missing' not found", "lost?\n");
  ExpectBadInput({"topic", "describe", "missing"}, "topic 'missing' not found");
  ExpectBadInput({"topic", "delete", "missing"}, "topic 'missing' not found");
}

TEST_F(CliErrorsTest, InvalidTopicName) {
  ExpectBadInput({"topic", "create", "has space"}, "invalid topic name 'has space'");
  ExpectBadInput({"topic", "create", "slash/name"}, "invalid topic name 'slash/name'");
  ExpectBadInput({"topic", "create", std::string(250, 'a')}, "invalid topic name");
  ExpectBadInput({"topic", "create", ".."}, "invalid topic name '..'");
}

TEST_F(CliErrorsTest, ZeroOrNegativePartitions) {
  ExpectBadInput({"topic", "create", "p0", "--partitions=0"}, "partitions");
  ExpectBadInput({"topic", "create", "pneg", "--partitions=-3"}, "partitions");
  // Nothing was created by the refused commands.
  CommandResult list = Cli(cluster_->bootstrap(), {"topic", "list"});
  EXPECT_EQ(list.out, "kept\n");
}

TEST_F(CliErrorsTest, PartitionOutOfRange) {
  const std::string msg = "partition 3 out of range for topic 'kept' (3 partitions: 0-2)";
  ExpectBadInput({"produce", "kept", "--partition=3"}, msg, "lost?\n");
  ExpectBadInput({"consume", "kept", "--partition=3", "--timeout-ms=1000"}, msg);
  ExpectBadInput({"consume", "kept", "--partition=-1", "--timeout-ms=1000"}, "partition");
}

TEST_F(CliErrorsTest, OffsetOutOfRangeSaysTheValidRange) {
  ExpectBadInput({"consume", "kept", "--partition=0", "--offset=50", "--timeout-ms=2000"},
                 "offset 50 out of range for kept-0: valid offsets are 0 to 3");
}

TEST_F(CliErrorsTest, UnreachableBootstrapIsNamed) {
  const std::string dead = absl::StrCat("127.0.0.1:", FreePort());
  ExpectBadInput({"topic", "list"}, absl::StrCat("cannot reach bootstrap broker ", dead), "",
                 dead);
  ExpectBadInput({"produce", "kept"}, absl::StrCat("cannot reach bootstrap broker ", dead),
                 "lost?\n", dead);
}

TEST_F(CliErrorsTest, UsageErrors) {
  ExpectBadInput({"topic", "frobnicate"}, "unknown command");
  ExpectBadInput({"consume", "kept", "--no-such-flag"}, "unknown flag --no-such-flag");
  ExpectBadInput({"consume", "kept", "--offset=1", "--from-beginning"}, "--from-beginning");
  ExpectBadInput({"topic", "create", "x", "--partitions=abc"}, "--partitions");
}

}  // namespace
}  // namespace runnel::testing
