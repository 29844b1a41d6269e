#include "client/cli/run.h"

#include <algorithm>
#include <atomic>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "client/consumer.h"
#include "client/errors.h"
#include "client/partitioner.h"
#include "client/testing/fake_cluster.h"
#include "gtest/gtest.h"

namespace runnel::client::cli {
namespace {

using testing::FakeCluster;

// Runs `runnel ARGS` against a fake cluster with `input` on stdin.
struct Result {
  int code = -1;
  std::string out;
  std::string err;
  std::string unread_input;  // what the command left of stdin
};

class RunTest : public ::testing::Test {
 protected:
  RunTest() : cluster_(2) { unsetenv("RUNNEL_BOOTSTRAP"); }

  Result Runnel(std::vector<std::string> args, const std::string& input = "",
                const std::atomic<bool>* stop = nullptr) {
    if (std::none_of(args.begin(), args.end(),
                     [](const std::string& a) { return a.rfind("--bootstrap", 0) == 0; })) {
      args.push_back("--bootstrap=" + cluster_.Address(1));
    }
    Result r;
    absl::StatusOr<Command> command = ParseCommandLine(args);
    std::ostringstream err;
    if (!command.ok()) {
      r.code = Fail(err, command.status());
      r.err = err.str();
      return r;
    }
    std::istringstream in(input);
    std::ostringstream out;
    r.code = cli::Run(*command, cluster_.Options(), in, out, err, stop);
    r.out = out.str();
    r.err = err.str();
    std::string rest((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    r.unread_input = rest;
    return r;
  }

  // Bad input: exit 2 and exactly one "runnel: " line on stderr.
  static void ExpectBadInput(const Result& r, const std::string& message) {
    EXPECT_EQ(r.code, 2) << r.err;
    EXPECT_EQ(r.err, "runnel: " + message + "\n");
  }

  FakeCluster cluster_;
};

TEST_F(RunTest, TopicLifecycle) {
  Result r = Runnel({"topic", "create", "orders", "--partitions=3", "--config=retention.ms=5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "created topic 'orders' with 3 partitions (replication factor 1)\n");
  EXPECT_EQ(r.err, "");

  ExpectBadInput(Runnel({"topic", "create", "orders"}), "topic 'orders' already exists");
  ExpectBadInput(Runnel({"topic", "create", "wide", "--replication-factor=3"}),
                 "replication factor 3 exceeds the 2 live brokers");

  r = Runnel({"topic", "list"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "orders\n");

  r = Runnel({"topic", "describe", "orders"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out.rfind("Topic: orders\tTopicId: ", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("Configs: retention.ms=5\n"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("\tConfig: retention.ms=5\tSource: override\n"), std::string::npos);
  EXPECT_EQ(std::count(r.out.begin(), r.out.end(), '\n'), 4 + 8);  // 3 partitions, 8 configs

  r = Runnel({"topic", "alter-config", "orders", "--config=retention.ms=1000",
              "--reset=cleanup.policy"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "altered topic 'orders': retention.ms=1000, cleanup.policy=delete (default)\n");
  EXPECT_EQ(r.err, "");
  r = Runnel({"topic", "describe", "orders"});
  EXPECT_NE(r.out.find("Configs: retention.ms=1000\n"), std::string::npos) << r.out;
  ExpectBadInput(Runnel({"topic", "alter-config", "nope", "--config=retention.ms=1"}),
                 "topic 'nope' not found");
  ExpectBadInput(Runnel({"topic", "alter-config", "orders"}),
                 "nothing to alter: give --config=KEY=VALUE or --reset=KEY");

  r = Runnel({"topic", "delete", "orders"});
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.out, "deleted topic 'orders'\n");
  ExpectBadInput(Runnel({"topic", "describe", "orders"}), "topic 'orders' not found");
  ExpectBadInput(Runnel({"topic", "delete", "orders"}), "topic 'orders' not found");
}

TEST_F(RunTest, ClusterInfo) {
  cluster_.CreateTopic("t", 2);
  Result r = Runnel({"cluster", "info"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("ClusterId: fake-cluster\nBroker: 1\tAddress: fake-broker-1:9092\t", 0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("Broker: 2\tAddress: fake-broker-2:9092"), std::string::npos);
}

TEST_F(RunTest, UnreachableBootstrapIsBadInput) {
  Result r = Runnel({"topic", "list", "--bootstrap=fake-broker-9:9092"});
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.err.rfind("runnel: cannot reach bootstrap broker fake-broker-9:9092: ", 0), 0u)
      << r.err;
  EXPECT_EQ(std::count(r.err.begin(), r.err.end(), '\n'), 1);
  r = Runnel({"produce", "t", "--bootstrap=fake-broker-9:9092"}, "a\n");
  EXPECT_EQ(r.code, 2);
  EXPECT_EQ(r.unread_input, "a\n");
}

TEST_F(RunTest, ProduceKeyedLinesInBatches) {
  cluster_.CreateTopic("orders", 3);
  std::string input;
  for (int i = 0; i < 1000; ++i) input += "user-" + std::to_string(i) + ":payload " + std::to_string(i) + "\n";
  input += "no separator here\n";
  input += "\n";                // an empty record
  input += "last:line-no-eol";  // no trailing newline
  Result r = Runnel({"produce", "orders", "--key-separator=:"}, input);
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "1003 records produced\n");
  EXPECT_EQ(r.out, "");
  // Batched: far fewer Produce calls than lines.
  EXPECT_LT(cluster_.produce_calls(), 50);

  int total = 0;
  bool saw_unkeyed = false, saw_empty = false, saw_last = false;
  for (int p = 0; p < 3; ++p) {
    for (const runnel::batch::Record& rec : cluster_.Records("orders", p)) {
      ++total;
      if (!rec.key) {
        saw_unkeyed |= rec.value == "no separator here";
        saw_empty |= rec.value == "";
        continue;
      }
      EXPECT_EQ(PartitionForKey(*rec.key, 3), p) << *rec.key;
      if (*rec.key == "last") saw_last = rec.value == "line-no-eol";
      if (rec.key->rfind("user-", 0) == 0) {
        EXPECT_EQ(*rec.value, "payload " + rec.key->substr(5));
      }
    }
  }
  EXPECT_EQ(total, 1003);
  EXPECT_TRUE(saw_unkeyed);
  EXPECT_TRUE(saw_empty);
  EXPECT_TRUE(saw_last);
}

TEST_F(RunTest, ProduceWithoutSeparatorKeepsWholeLines) {
  cluster_.CreateTopic("t", 1);
  Result r = Runnel({"produce", "t", "--acks=1"}, "a:b\nc\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "2 records produced\n");
  std::vector<runnel::batch::Record> log = cluster_.Records("t", 0);
  ASSERT_EQ(log.size(), 2u);
  EXPECT_FALSE(log[0].key.has_value());
  EXPECT_EQ(log[0].value, "a:b");
}

TEST_F(RunTest, ProduceToAPartition) {
  cluster_.CreateTopic("t", 3);
  Result r = Runnel({"produce", "t", "--partition=2", "--key-separator=,"}, "k,v\nx\n");
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(cluster_.HighWatermark("t", 2), 2);
}

TEST_F(RunTest, ProduceBadInputConsumesNothing) {
  cluster_.CreateTopic("orders", 3);
  Result r = Runnel({"produce", "orders", "--partition=5"}, "a\nb\n");
  ExpectBadInput(r, "partition 5 out of range for topic 'orders' (3 partitions: 0-2)");
  EXPECT_EQ(r.unread_input, "a\nb\n");
  r = Runnel({"produce", "nope"}, "a\n");
  ExpectBadInput(r, "topic 'nope' not found");
  EXPECT_EQ(r.unread_input, "a\n");
  EXPECT_EQ(cluster_.produce_calls(), 0);
}

TEST_F(RunTest, ProduceDeliveryFailure) {
  cluster_.CreateTopic("t", 1);
  cluster_.InjectError(FakeCluster::Rpc::kProduce, "t", 0, runnel::v1::ERROR_CODE_STORAGE_ERROR,
                       "disk full");
  Result r = Runnel({"produce", "t"}, "a\nb\n");
  EXPECT_EQ(r.code, 1);
  EXPECT_EQ(r.err, "runnel: failed to produce 2 of 2 records: disk full\n");
}

TEST_F(RunTest, ConsumeFromBeginning) {
  cluster_.CreateTopic("t", 2);
  cluster_.Append("t", 0, {"a", "b"});
  cluster_.Append("t", 1, {"c"});
  Result r = Runnel({"consume", "t", "--from-beginning", "--max-messages=3"});
  EXPECT_EQ(r.code, 0) << r.err;
  std::vector<std::string> lines;
  std::istringstream out(r.out);
  for (std::string line; std::getline(out, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  EXPECT_EQ(lines, (std::vector<std::string>{"a", "b", "c"}));
  EXPECT_EQ(r.err, "3 records consumed\n");
}

TEST_F(RunTest, ConsumeStopsAtMaxMessages) {
  cluster_.CreateTopic("t", 1);
  cluster_.Append("t", 0, {"a", "b", "c", "d"});
  Result r = Runnel({"consume", "t", "--partition=0", "--offset=1", "--max-messages=2",
                     "--print-offset", "--print-key"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "partition=0 offset=1\tnull\tb\npartition=0 offset=2\tnull\tc\n");
}

TEST_F(RunTest, ConsumeTimesOutWithoutNewRecords) {
  cluster_.CreateTopic("t", 1);
  cluster_.Append("t", 0, {"old"});
  const absl::Time start = absl::Now();
  Result r = Runnel({"consume", "t", "--timeout-ms=300"});  // latest: "old" is not shown
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "");
  EXPECT_EQ(r.err, "0 records consumed\n");
  EXPECT_GE(absl::Now() - start, absl::Milliseconds(300));
}

TEST_F(RunTest, ConsumeFollowsUntilStopped) {
  cluster_.CreateTopic("t", 1);
  std::atomic<bool> stop{true};  // already interrupted: exits at once, status 0
  Result r = Runnel({"consume", "t"}, "", &stop);
  EXPECT_EQ(r.code, 0);
  EXPECT_EQ(r.err, "0 records consumed\n");
}

TEST_F(RunTest, ConsumeBadInput) {
  cluster_.CreateTopic("orders", 3);
  cluster_.Append("orders", 0, {"a", "b", "c"});
  ExpectBadInput(Runnel({"consume", "orders", "--partition=5"}),
                 "partition 5 out of range for topic 'orders' (3 partitions: 0-2)");
  ExpectBadInput(Runnel({"consume", "nope"}), "topic 'nope' not found");
  ExpectBadInput(Runnel({"consume", "orders", "--partition=0", "--offset=100"}),
                 "offset 100 is out of range for orders-0: valid offsets are 0 to 3");
  ExpectBadInput(Runnel({"consume", "orders", "--offset=1", "--from-beginning"}),
                 "--offset and --from-beginning cannot be used together");
  ExpectBadInput(Runnel({"consume", "orders", "--max-messages=x"}),
                 "invalid value 'x' for --max-messages (see 'runnel consume --help')");
}

TEST_F(RunTest, TopicAlterAddsPartitions) {
  cluster_.CreateTopic("t", 2);
  Result r = Runnel({"topic", "alter", "t", "--partitions=5"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "altered topic 't': partitions=5\n");
  // Usable at once.
  r = Runnel({"produce", "t", "--partition=4"}, "x\n");
  EXPECT_EQ(r.code, 0) << r.err;
  ExpectBadInput(Runnel({"topic", "alter", "t", "--partitions=3"}),
                 "topic 't' has 5 partitions; the new count must be larger, got 3");
  ExpectBadInput(Runnel({"topic", "alter", "nope", "--partitions=3"}), "topic 'nope' not found");
}

// Output lines, sorted.
std::vector<std::string> SortedLines(const std::string& text) {
  std::vector<std::string> lines;
  std::istringstream in(text);
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::sort(lines.begin(), lines.end());
  return lines;
}

TEST_F(RunTest, ConsumeWithAGroupCommitsWhatItPrinted) {
  cluster_.CreateTopic("t", 2);
  cluster_.Append("t", 0, {"a0", "a1", "a2"});
  cluster_.Append("t", 1, {"b0"});
  // Stops in the middle of partition 0's batch: only printed records count.
  Result r = Runnel({"consume", "t", "--group=g", "--partition-count-ignored"});
  ExpectBadInput(r, "unknown flag --partition-count-ignored (see 'runnel consume --help')");
  r = Runnel(
      {"consume", "t", "--group=g", "--from-beginning", "--max-messages=3", "--print-offset"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.err, "3 records consumed\n");
  std::map<TopicPartition, int64_t> committed = cluster_.groups().Offsets("g");
  const TopicPartition t0{"t", 0}, t1{"t", 1};
  EXPECT_EQ(committed[t0] + committed[t1], 3) << r.out;
  EXPECT_TRUE(cluster_.groups().Members("g").empty());  // left at exit

  // The next member continues where the group stopped.
  Result rest = Runnel({"consume", "t", "--group=g", "--timeout-ms=500"});
  EXPECT_EQ(rest.code, 0) << rest.err;
  EXPECT_EQ(rest.err, "1 records consumed\n");
  std::vector<std::string> all = SortedLines(rest.out);
  for (const std::string& line : SortedLines(r.out))
    all.push_back(line.substr(line.find('\t') + 1));
  std::sort(all.begin(), all.end());
  EXPECT_EQ(all, (std::vector<std::string>{"a0", "a1", "a2", "b0"}));
  EXPECT_EQ(cluster_.groups().Offsets("g"),
            (std::map<TopicPartition, int64_t>{{{"t", 0}, 3}, {{"t", 1}, 1}}));

  // Without --from-beginning a new group starts at the end.
  Result latest = Runnel({"consume", "t", "--group=fresh", "--timeout-ms=300"});
  EXPECT_EQ(latest.code, 0) << latest.err;
  EXPECT_EQ(latest.out, "");
  ExpectBadInput(Runnel({"consume", "nope", "--group=g"}), "topic 'nope' not found");
}

TEST_F(RunTest, GroupListDescribeResetDelete) {
  cluster_.CreateTopic("t", 2);
  cluster_.Append("t", 0, {"a0", "a1"}, 1000);
  cluster_.Append("t", 0, {"a2"}, 5000);
  cluster_.Append("t", 1, {"b0"}, 1000);
  ASSERT_EQ(Runnel({"consume", "t", "--group=g", "--from-beginning", "--max-messages=4"}).code, 0);

  Result r = Runnel({"group", "list"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "Group: g\tState: empty\tMembers: 0\tAssignor: none\n");

  cluster_.Append("t", 1, {"b1", "b2"});
  r = Runnel({"group", "describe", "g"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out,
            "Group: g\tState: empty\tGeneration: 2\tAssignor: none\tMembers: 0\n"
            "\tPartition: t-0\tCommitted: 3\tLogEnd: 3\tLag: 0\tMember: none\n"
            "\tPartition: t-1\tCommitted: 1\tLogEnd: 3\tLag: 2\tMember: none\n");

  r = Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-timestamp=2000", "--dry-run"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "would reset offsets of group 'g': t-0=2, t-1=3\n");
  const TopicPartition t0{"t", 0};
  EXPECT_EQ(cluster_.groups().Offsets("g")[t0], 3);  // unchanged
  r = Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-earliest", "--partition=1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "reset offsets of group 'g': t-1=0\n");
  r = Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-offset=1"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "reset offsets of group 'g': t-0=1, t-1=1\n");
  ExpectBadInput(Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-offset=4"}),
                 "offset 4 is out of range for t-0: valid offsets are 0 to 3");
  r = Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-latest"});
  EXPECT_EQ(r.out, "reset offsets of group 'g': t-0=3, t-1=3\n");
  EXPECT_EQ(cluster_.groups().Offsets("g"),
            (std::map<TopicPartition, int64_t>{{{"t", 0}, 3}, {{"t", 1}, 3}}));
  ExpectBadInput(Runnel({"group", "reset-offsets", "g", "--topic=nope", "--to-latest"}),
                 "topic 'nope' not found");
  ExpectBadInput(
      Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-latest", "--partition=2"}),
      "partition 2 out of range for topic 't' (2 partitions: 0-1)");

  r = Runnel({"group", "delete", "g"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out, "deleted group 'g'\n");
  ExpectBadInput(Runnel({"group", "describe", "g"}), "group 'g' not found");
  ExpectBadInput(Runnel({"group", "delete", "g"}), "group 'g' not found");
  EXPECT_EQ(Runnel({"group", "list"}).out, "");
}

TEST_F(RunTest, GroupWithLiveMembers) {
  cluster_.CreateTopic("t", 2);
  ConsumerOptions options;
  options.client = cluster_.Options();
  options.group_id = "g";
  options.client.client_id = "worker-7";
  Consumer member(options);
  ASSERT_TRUE(member.Subscribe({"t"}).ok());
  const absl::Time deadline = absl::Now() + absl::Seconds(5);
  while (member.assignment().size() < 2 && absl::Now() < deadline) {
    ASSERT_TRUE(member.Poll(absl::Milliseconds(10)).ok());
  }
  ASSERT_TRUE(member.CommitSync().ok());

  Result r = Runnel({"group", "describe", "g"});
  EXPECT_EQ(r.code, 0) << r.err;
  EXPECT_EQ(r.out.rfind("Group: g\tState: stable\tGeneration: 1\tAssignor: cooperative-sticky\t"
                        "Members: 1\n\tMember: " +
                            member.member_id() + "\tClientId: worker-7\t",
                        0),
            0u)
      << r.out;
  EXPECT_NE(r.out.find("\tTopics: t\tAssignment: t-0,t-1\tOwned: t-0,t-1\t"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("\tPartition: t-1\tCommitted: 0\tLogEnd: 0\tLag: 0\tMember: " +
                       member.member_id() + "\n"),
            std::string::npos)
      << r.out;
  r = Runnel({"group", "list"});
  EXPECT_EQ(r.out, "Group: g\tState: stable\tMembers: 1\tAssignor: cooperative-sticky\n");

  // The coordinator refuses to move or delete the offsets of a live group.
  ExpectBadInput(Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-earliest"}),
                 "group 'g' has 1 live member(s): stop its consumers first");
  ExpectBadInput(Runnel({"group", "reset-offsets", "g", "--topic=t", "--to-earliest", "--dry-run"}),
                 "group 'g' has 1 live member(s): stop its consumers first");
  ExpectBadInput(Runnel({"group", "delete", "g"}),
                 "group 'g' has 1 live member(s): stop its consumers first");
  ASSERT_TRUE(member.Close().ok());
  EXPECT_EQ(Runnel({"group", "delete", "g"}).code, 0);
}

TEST(ExitCodeForTest, Rule) {
  EXPECT_EQ(ExitCodeFor(absl::OkStatus()), 0);
  EXPECT_EQ(ExitCodeFor(absl::InvalidArgumentError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::NotFoundError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::AlreadyExistsError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::OutOfRangeError("")), 2);
  EXPECT_EQ(ExitCodeFor(absl::FailedPreconditionError("")), 2);
  EXPECT_EQ(ExitCodeFor(BootstrapUnreachable("h:1", "refused")), 2);
  EXPECT_EQ(ExitCodeFor(absl::UnavailableError("leader gone")), 1);
  EXPECT_EQ(ExitCodeFor(absl::InternalError("")), 1);
  EXPECT_EQ(ExitCodeFor(absl::DeadlineExceededError("")), 1);
}

}  // namespace
}  // namespace runnel::client::cli
