#include "client/cli/command.h"

#include <cstdlib>
#include <map>
#include <string>
#include <vector>

#include "gtest/gtest.h"

namespace runnel::client::cli {
namespace {

class CommandTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // Flags fall back to RUNNEL_<FLAG>; keep the environment out of the way.
    for (const char* name :
         {"RUNNEL_BOOTSTRAP", "RUNNEL_PARTITION", "RUNNEL_PARTITIONS", "RUNNEL_OFFSET",
          "RUNNEL_ACKS", "RUNNEL_TIMEOUT_MS", "RUNNEL_GROUP", "RUNNEL_TOPIC"}) {
      unsetenv(name);
    }
  }

  static Command Parse(const std::vector<std::string>& args) {
    absl::StatusOr<Command> c = ParseCommandLine(args);
    EXPECT_TRUE(c.ok()) << c.status();
    return c.ok() ? *c : Command();
  }

  // The usage error for `args`, checked to be one line.
  static std::string Error(const std::vector<std::string>& args) {
    absl::StatusOr<Command> c = ParseCommandLine(args);
    if (c.ok()) return "<parsed>";
    EXPECT_EQ(c.status().code(), absl::StatusCode::kInvalidArgument);
    std::string message(c.status().message());
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  }
};

TEST_F(CommandTest, Help) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{"--help"}, {"-h"}, {"help"}}) {
    Command c = Parse(args);
    EXPECT_EQ(c.kind, CommandKind::kHelp);
    EXPECT_EQ(c.help_text, Usage());
  }
  EXPECT_NE(Usage().find("runnel produce TOPIC"), std::string::npos);
  EXPECT_NE(Usage().find("Exit status"), std::string::npos);

  Command topic = Parse({"topic", "--help"});
  EXPECT_EQ(topic.kind, CommandKind::kHelp);
  EXPECT_NE(topic.help_text.find("runnel topic describe NAME"), std::string::npos);

  Command produce = Parse({"produce", "--help"});
  EXPECT_EQ(produce.kind, CommandKind::kHelp);
  EXPECT_EQ(produce.help_text.rfind("Usage: runnel produce TOPIC", 0), 0u);
  EXPECT_NE(produce.help_text.find("--key-separator"), std::string::npos);
  EXPECT_NE(produce.help_text.find("records produced"), std::string::npos);

  Command consume = Parse({"consume", "orders", "-h"});
  EXPECT_NE(consume.help_text.find("partition=P offset=O"), std::string::npos);
}

TEST_F(CommandTest, TopicCreate) {
  Command c = Parse({"topic", "create", "orders", "--partitions=3", "--replication-factor", "2",
                     "--config=retention.ms=1000", "--config", "cleanup.policy=delete"});
  EXPECT_EQ(c.kind, CommandKind::kTopicCreate);
  EXPECT_EQ(c.topic, "orders");
  EXPECT_EQ(c.partitions, 3);
  EXPECT_EQ(c.replication_factor, 2);
  EXPECT_EQ(c.configs, (std::map<std::string, std::string>{{"retention.ms", "1000"},
                                                           {"cleanup.policy", "delete"}}));
  EXPECT_EQ(c.bootstrap, "127.0.0.1:9092");

  Command defaults = Parse({"topic", "create", "t"});
  EXPECT_EQ(defaults.partitions, 1);
  EXPECT_EQ(defaults.replication_factor, 1);
  EXPECT_TRUE(defaults.configs.empty());

  // A config value may itself contain '='.
  EXPECT_EQ(Parse({"topic", "create", "t", "--config=k=a=b"}).configs.at("k"), "a=b");
}

TEST_F(CommandTest, TopicAlterConfig) {
  Command c = Parse({"topic", "alter-config", "orders", "--config=retention.ms=1000", "--config",
                     "max.message.bytes=2000", "--reset=cleanup.policy", "--reset",
                     "delete.retention.ms"});
  EXPECT_EQ(c.kind, CommandKind::kTopicAlterConfig);
  EXPECT_EQ(c.topic, "orders");
  EXPECT_EQ(c.configs, (std::map<std::string, std::string>{{"max.message.bytes", "2000"},
                                                           {"retention.ms", "1000"}}));
  EXPECT_EQ(c.reset_configs, (std::vector<std::string>{"cleanup.policy", "delete.retention.ms"}));

  Command only_set = Parse({"topic", "alter-config", "t", "--config=retention.ms=-1"});
  EXPECT_EQ(only_set.configs.at("retention.ms"), "-1");
  EXPECT_TRUE(only_set.reset_configs.empty());
  Command only_reset = Parse({"topic", "alter-config", "t", "--reset=retention.ms"});
  EXPECT_TRUE(only_reset.configs.empty());
  EXPECT_EQ(only_reset.reset_configs, std::vector<std::string>{"retention.ms"});
  // Keys and values are the server's to judge (it may know keys this CLI does not).
  EXPECT_EQ(Parse({"topic", "alter-config", "t", "--config=some.new.key=x"}).configs.size(), 1u);

  Command help = Parse({"topic", "alter-config", "--help"});
  EXPECT_EQ(help.kind, CommandKind::kHelp);
  EXPECT_NE(help.help_text.find("altered topic 'NAME': "), std::string::npos) << help.help_text;
  EXPECT_NE(help.help_text.find("  retention.ms=604800000\n"), std::string::npos)
      << help.help_text;
  EXPECT_NE(Parse({"topic", "create", "--help"}).help_text.find("  max.message.bytes=1048576\n"),
            std::string::npos);
  EXPECT_NE(Parse({"topic", "--help"}).help_text.find("runnel topic alter-config NAME"),
            std::string::npos);
}

TEST_F(CommandTest, TopicAlterConfigErrors) {
  EXPECT_EQ(Error({"topic", "alter-config", "t"}),
            "nothing to alter: give --config=KEY=VALUE or --reset=KEY");
  EXPECT_EQ(
      Error({"topic", "alter-config", "--config=retention.ms=1"}),
      "missing NAME for 'runnel topic alter-config' (see 'runnel topic alter-config --help')");
  EXPECT_EQ(Error({"topic", "alter-config", "t", "--config=retention.ms"}),
            "invalid --config 'retention.ms': expected KEY=VALUE");
  EXPECT_EQ(Error({"topic", "alter-config", "t", "--config=a=1", "--config=a=2"}),
            "--config key 'a' given twice");
  EXPECT_EQ(Error({"topic", "alter-config", "t", "--reset=a", "--reset=a"}),
            "--reset key 'a' given twice");
  EXPECT_EQ(Error({"topic", "alter-config", "t", "--reset="}),
            "invalid --reset '': expected a config KEY");
  EXPECT_EQ(Error({"topic", "alter-config", "t", "--config=a=1", "--reset=a"}),
            "config 'a' given to both --config and --reset");
  EXPECT_EQ(Error({"topic", "alter-config", "bad name", "--reset=a"}).rfind(
                "invalid topic name 'bad name'", 0),
            0u);
  // --reset belongs to alter-config only.
  EXPECT_EQ(Error({"topic", "create", "t", "--reset=a"}),
            "unknown flag --reset (see 'runnel topic create --help')");
}

TEST_F(CommandTest, OtherTopicCommandsAndCluster) {
  EXPECT_EQ(Parse({"topic", "list"}).kind, CommandKind::kTopicList);
  Command describe = Parse({"topic", "describe", "orders"});
  EXPECT_EQ(describe.kind, CommandKind::kTopicDescribe);
  EXPECT_EQ(describe.topic, "orders");
  EXPECT_EQ(Parse({"topic", "delete", "orders"}).kind, CommandKind::kTopicDelete);
  EXPECT_EQ(Parse({"cluster", "info"}).kind, CommandKind::kClusterInfo);
}

TEST_F(CommandTest, Bootstrap) {
  EXPECT_EQ(Parse({"topic", "list", "--bootstrap=10.0.0.1:1"}).bootstrap, "10.0.0.1:1");
  EXPECT_EQ(Parse({"topic", "list", "--bootstrap", "h:2"}).bootstrap, "h:2");
  // --flag=value may come before the command.
  EXPECT_EQ(Parse({"--bootstrap=h:3", "cluster", "info"}).bootstrap, "h:3");
  setenv("RUNNEL_BOOTSTRAP", "env:4", 1);
  EXPECT_EQ(Parse({"topic", "list"}).bootstrap, "env:4");
  EXPECT_EQ(Parse({"topic", "list", "--bootstrap=cli:5"}).bootstrap, "cli:5");
  unsetenv("RUNNEL_BOOTSTRAP");
  EXPECT_EQ(Error({"topic", "list", "--bootstrap="}), "--bootstrap must not be empty");
}

TEST_F(CommandTest, Produce) {
  Command c = Parse({"produce", "orders"});
  EXPECT_EQ(c.kind, CommandKind::kProduce);
  EXPECT_EQ(c.topic, "orders");
  EXPECT_FALSE(c.key_separator.has_value());
  EXPECT_FALSE(c.partition.has_value());
  EXPECT_EQ(c.acks, runnel::v1::ACKS_ALL);

  c = Parse({"produce", "orders", "--key-separator=:", "--partition=2", "--acks=1"});
  EXPECT_EQ(c.key_separator, ":");
  EXPECT_EQ(c.partition, 2);
  EXPECT_EQ(c.acks, runnel::v1::ACKS_LEADER);
  EXPECT_EQ(Parse({"produce", "t", "--acks=0"}).acks, runnel::v1::ACKS_NONE);
  EXPECT_EQ(Parse({"produce", "t", "--acks=-1"}).acks, runnel::v1::ACKS_ALL);
  EXPECT_EQ(Parse({"produce", "t", "--partition=0"}).partition, 0);
}

TEST_F(CommandTest, Consume) {
  Command c = Parse({"consume", "orders"});
  EXPECT_EQ(c.kind, CommandKind::kConsume);
  EXPECT_FALSE(c.partition || c.offset || c.max_messages || c.timeout_ms);
  EXPECT_FALSE(c.from_beginning || c.print_key || c.print_offset);

  c = Parse({"consume", "orders", "--partition=1", "--offset=42", "--max-messages=10",
             "--timeout-ms=500", "--print-key", "--print-offset"});
  EXPECT_EQ(c.partition, 1);
  EXPECT_EQ(c.offset, 42);
  EXPECT_EQ(c.max_messages, 10);
  EXPECT_EQ(c.timeout_ms, 500);
  EXPECT_TRUE(c.print_key);
  EXPECT_TRUE(c.print_offset);
  EXPECT_TRUE(Parse({"consume", "t", "--from-beginning"}).from_beginning);
  // 0 means "no limit" / "never".
  c = Parse({"consume", "t", "--max-messages=0", "--timeout-ms=0"});
  EXPECT_FALSE(c.max_messages || c.timeout_ms);
}

TEST_F(CommandTest, TopicAlterPartitions) {
  Command c = Parse({"topic", "alter", "orders", "--partitions=6"});
  EXPECT_EQ(c.kind, CommandKind::kTopicAlter);
  EXPECT_EQ(c.topic, "orders");
  EXPECT_EQ(c.partitions, 6);
  EXPECT_EQ(Error({"topic", "alter", "orders"}), "missing --partitions=N: the new partition count");
  EXPECT_EQ(Error({"topic", "alter", "orders", "--partitions=-2"}),
            "--partitions must be at least 1 (got -2)");
  EXPECT_EQ(Error({"topic", "alter", "orders", "--config=a=b"}),
            "unknown flag --config (see 'runnel topic alter --help')");
  EXPECT_NE(Parse({"topic", "--help"}).help_text.find("runnel topic alter NAME --partitions=N"),
            std::string::npos);
}

TEST_F(CommandTest, ConsumeWithAGroup) {
  Command c = Parse({"consume", "orders", "--group=billing", "--from-beginning"});
  EXPECT_EQ(c.kind, CommandKind::kConsume);
  EXPECT_EQ(c.group, "billing");
  EXPECT_TRUE(c.from_beginning);
  EXPECT_EQ(c.client_id, "runnel-cli");
  EXPECT_EQ(c.assignor, "cooperative-sticky");
  c = Parse({"consume", "orders", "--group", "g", "--client-id=worker-1", "--assignor=range"});
  EXPECT_EQ(c.client_id, "worker-1");
  EXPECT_EQ(c.assignor, "range");
  EXPECT_FALSE(c.session_timeout_ms.has_value());
  EXPECT_EQ(Parse({"consume", "t", "--group=g", "--session-timeout-ms=2000"}).session_timeout_ms,
            2000);
  EXPECT_EQ(Error({"consume", "t", "--session-timeout-ms=2000"}),
            "--session-timeout-ms needs --group");
  EXPECT_EQ(Error({"consume", "t", "--group=g", "--session-timeout-ms=-1"}),
            "--session-timeout-ms must be 0 (default) or more (got -1)");
  EXPECT_TRUE(Parse({"consume", "orders"}).group.empty());

  EXPECT_EQ(Error({"consume", "orders", "--group=a b"}).rfind("invalid group id 'a b'", 0), 0u);
  EXPECT_EQ(Error({"consume", "orders", "--group=g", "--partition=1"}),
            "--partition cannot be used with --group: the group assigns the partitions");
  EXPECT_EQ(Error({"consume", "orders", "--group=g", "--offset=1"})
                .rfind("--offset cannot be used with --group", 0),
            0u);
  EXPECT_EQ(Error({"consume", "orders", "--group=g", "--assignor=sticky"}),
            "invalid --assignor 'sticky': expected range, roundrobin or cooperative-sticky");
  EXPECT_EQ(Error({"consume", "orders", "--assignor=range"}), "--assignor needs --group");
  EXPECT_EQ(Error({"consume", "orders", "--client-id=x"}), "--client-id needs --group");
  EXPECT_NE(Parse({"consume", "--help"}).help_text.find("With --group=G"), std::string::npos);
}

TEST_F(CommandTest, GroupCommands) {
  EXPECT_EQ(Parse({"group", "list"}).kind, CommandKind::kGroupList);
  Command describe = Parse({"group", "describe", "billing"});
  EXPECT_EQ(describe.kind, CommandKind::kGroupDescribe);
  EXPECT_EQ(describe.group, "billing");
  EXPECT_TRUE(describe.topic.empty());
  Command del = Parse({"group", "delete", "billing"});
  EXPECT_EQ(del.kind, CommandKind::kGroupDelete);
  EXPECT_EQ(del.group, "billing");
  // Group ids may be what topic names may not.
  EXPECT_EQ(Parse({"group", "describe", ".."}).group, "..");

  Command help = Parse({"group", "--help"});
  EXPECT_EQ(help.kind, CommandKind::kHelp);
  EXPECT_NE(help.help_text.find("runnel group reset-offsets GROUP"), std::string::npos);
  EXPECT_NE(Usage().find("runnel group describe GROUP"), std::string::npos);
  EXPECT_NE(Parse({"group", "describe", "--help"}).help_text.find("Lag: 2"), std::string::npos);

  EXPECT_EQ(Error({"group"}), "missing subcommand for 'runnel group' (see 'runnel group --help')");
  EXPECT_EQ(Error({"group", "describe"}),
            "missing GROUP for 'runnel group describe' (see 'runnel group describe --help')");
  EXPECT_EQ(Error({"group", "delete", "a/b"}),
            "invalid group id 'a/b': use 1-249 characters from [A-Za-z0-9._-]");
  EXPECT_EQ(Error({"group", "rename", "g"}),
            "unknown command 'group rename' (see 'runnel group --help')");
}

TEST_F(CommandTest, GroupResetOffsets) {
  Command c = Parse({"group", "reset-offsets", "g", "--topic=orders", "--to-earliest"});
  EXPECT_EQ(c.kind, CommandKind::kGroupResetOffsets);
  EXPECT_EQ(c.group, "g");
  EXPECT_EQ(c.topic, "orders");
  EXPECT_EQ(c.reset_to, ResetTo::kEarliest);
  EXPECT_FALSE(c.partition || c.dry_run);
  EXPECT_EQ(Parse({"group", "reset-offsets", "g", "--topic=t", "--to-latest"}).reset_to,
            ResetTo::kLatest);
  c = Parse(
      {"group", "reset-offsets", "g", "--topic=t", "--to-offset=42", "--partition=3", "--dry-run"});
  EXPECT_EQ(c.reset_to, ResetTo::kOffset);
  EXPECT_EQ(c.reset_value, 42);
  EXPECT_EQ(c.partition, 3);
  EXPECT_TRUE(c.dry_run);
  c = Parse({"group", "reset-offsets", "g", "--topic=t", "--to-timestamp=1700000000000"});
  EXPECT_EQ(c.reset_to, ResetTo::kTimestamp);
  EXPECT_EQ(c.reset_value, 1700000000000);
  c = Parse({"group", "reset-offsets", "g", "--topic=t", "--to-timestamp=2024-05-01T12:00:00Z"});
  EXPECT_EQ(c.reset_value, 1714564800000);
  c = Parse(
      {"group", "reset-offsets", "g", "--topic=t", "--to-timestamp=2024-05-01T14:00:00.5+02:00"});
  EXPECT_EQ(c.reset_value, 1714564800500);

  const std::string one_of =
      "give exactly one of --to-earliest, --to-latest, --to-offset=N or --to-timestamp=TIME";
  EXPECT_EQ(Error({"group", "reset-offsets", "g", "--topic=t"}), one_of);
  EXPECT_EQ(Error({"group", "reset-offsets", "g", "--topic=t", "--to-earliest", "--to-latest"}),
            one_of);
  EXPECT_EQ(
      Error({"group", "reset-offsets", "g", "--topic=t", "--to-offset=1", "--to-timestamp=5"}),
      one_of);
  EXPECT_EQ(Error({"group", "reset-offsets", "g", "--to-earliest"}),
            "missing --topic=T: the topic whose offsets move");
  EXPECT_EQ(Error({"group", "reset-offsets", "g", "--topic=a b", "--to-earliest"})
                .rfind("invalid topic name 'a b'", 0),
            0u);
  EXPECT_EQ(Error({"group", "reset-offsets", "g", "--topic=t", "--to-offset=-1"}),
            "invalid --to-offset '-1': expected an offset (0 or more)");
  EXPECT_EQ(Error({"group", "reset-offsets", "g", "--topic=t", "--to-timestamp=yesterday"}),
            "invalid --to-timestamp 'yesterday': expected milliseconds since the Unix epoch or an "
            "RFC 3339 time such as 2024-05-01T12:00:00Z");
  EXPECT_EQ(Error({"group", "reset-offsets", "g", "--topic=t", "--to-latest", "--partition=x"}),
            "invalid --partition 'x': expected a partition (0 or more)");
}

TEST_F(CommandTest, UsageErrors) {
  EXPECT_EQ(Error({}), "missing command (see 'runnel --help')");
  EXPECT_EQ(Error({"frobnicate"}), "unknown command 'frobnicate' (see 'runnel --help')");
  EXPECT_EQ(Error({"topic"}), "missing subcommand for 'runnel topic' (see 'runnel topic --help')");
  EXPECT_EQ(Error({"topic", "rename", "x"}),
            "unknown command 'topic rename' (see 'runnel topic --help')");
  EXPECT_EQ(Error({"cluster"}),
            "missing subcommand for 'runnel cluster' (see 'runnel cluster --help')");
  EXPECT_EQ(Error({"produce", "t", "--bogus"}),
            "unknown flag --bogus (see 'runnel produce --help')");
  // A flag of another command is unknown here.
  EXPECT_EQ(Error({"topic", "list", "--partitions=3"}),
            "unknown flag --partitions (see 'runnel topic list --help')");
  EXPECT_EQ(Error({"produce"}), "missing TOPIC for 'runnel produce' (see 'runnel produce --help')");
  EXPECT_EQ(Error({"topic", "create"}),
            "missing NAME for 'runnel topic create' (see 'runnel topic create --help')");
  EXPECT_EQ(Error({"topic", "list", "extra"}),
            "unexpected argument 'extra' for 'runnel topic list' (see 'runnel topic list --help')");
  EXPECT_EQ(Error({"consume", "a", "b"}),
            "unexpected argument 'b' for 'runnel consume' (see 'runnel consume --help')");
}

TEST_F(CommandTest, ValueErrors) {
  EXPECT_EQ(Error({"topic", "create", "bad name"}),
            "invalid topic name 'bad name': use 1-249 characters from [A-Za-z0-9._-], other "
            "than '.' and '..'");
  EXPECT_EQ(Error({"produce", ".."}).rfind("invalid topic name '..'", 0), 0u);
  EXPECT_EQ(Error({"topic", "create", "t", "--partitions=0"}),
            "--partitions must be at least 1 (got 0)");
  EXPECT_EQ(Error({"topic", "create", "t", "--partitions=-3"}),
            "--partitions must be at least 1 (got -3)");
  EXPECT_EQ(Error({"topic", "create", "t", "--partitions=abc"}),
            "invalid value 'abc' for --partitions (see 'runnel topic create --help')");
  EXPECT_EQ(Error({"topic", "create", "t", "--partitions=99999999999"}),
            "--partitions must be at least 1 (got 99999999999)");
  EXPECT_EQ(Error({"topic", "create", "t", "--replication-factor=0"}),
            "--replication-factor must be at least 1 (got 0)");
  EXPECT_EQ(Error({"topic", "create", "t", "--config=novalue"}),
            "invalid --config 'novalue': expected KEY=VALUE");
  EXPECT_EQ(Error({"topic", "create", "t", "--config==v"}),
            "invalid --config '=v': expected KEY=VALUE");
  EXPECT_EQ(Error({"topic", "create", "t", "--config=a=1", "--config=a=2"}),
            "--config key 'a' given twice");
  EXPECT_EQ(Error({"produce", "t", "--acks=2"}), "invalid --acks '2': expected all, 1 or 0");
  EXPECT_EQ(Error({"produce", "t", "--partition=-1"}),
            "invalid --partition '-1': expected a partition (0 or more)");
  EXPECT_EQ(Error({"consume", "t", "--partition=x"}),
            "invalid --partition 'x': expected a partition (0 or more)");
  EXPECT_EQ(Error({"consume", "t", "--offset=-5"}),
            "invalid --offset '-5': expected an offset (0 or more)");
  EXPECT_EQ(Error({"consume", "t", "--offset=3", "--from-beginning"}),
            "--offset and --from-beginning cannot be used together");
  EXPECT_EQ(Error({"consume", "t", "--max-messages=-1"}),
            "--max-messages must be 0 (no limit) or more (got -1)");
  EXPECT_EQ(Error({"consume", "t", "--timeout-ms=-1"}),
            "--timeout-ms must be 0 (never) or more (got -1)");
  EXPECT_EQ(Error({"consume", "t", "--timeout-ms"}),
            "flag --timeout-ms needs a value (see 'runnel consume --help')");
}

TEST_F(CommandTest, ScaleOutCommands) {
  Command r = Parse({"partitions", "reassign", "--topic=orders", "--partition=2",
                     "--replicas=4,2,3", "--throttle-bytes=1048576"});
  EXPECT_EQ(r.kind, CommandKind::kPartitionsReassign);
  EXPECT_EQ(r.topic, "orders");
  EXPECT_EQ(r.partition, 2);
  EXPECT_EQ(r.replicas, (std::vector<int32_t>{4, 2, 3}));
  EXPECT_EQ(r.throttle_bytes, 1048576);
  EXPECT_TRUE(r.plan_file.empty());
  Command plan = Parse({"partitions", "reassign", "--plan=/tmp/p.json"});
  EXPECT_EQ(plan.plan_file, "/tmp/p.json");
  EXPECT_EQ(plan.throttle_bytes, 0);
  EXPECT_EQ(Parse({"partitions", "reassignments"}).kind, CommandKind::kPartitionsReassignments);

  Command balance = Parse({"cluster", "balance", "--dry-run", "--throttle-bytes=500"});
  EXPECT_EQ(balance.kind, CommandKind::kClusterBalance);
  EXPECT_TRUE(balance.dry_run);
  EXPECT_EQ(balance.throttle_bytes, 500);
  EXPECT_FALSE(Parse({"cluster", "balance"}).dry_run);
  Command decommission = Parse({"cluster", "decommission", "3"});
  EXPECT_EQ(decommission.kind, CommandKind::kClusterDecommission);
  EXPECT_EQ(decommission.broker, 3);
  EXPECT_FALSE(decommission.dry_run);

  EXPECT_NE(Parse({"partitions", "--help"}).help_text.find("runnel partitions reassignments"),
            std::string::npos);
  EXPECT_NE(Parse({"cluster", "balance", "--help"}).help_text.find("Copies: 4"), std::string::npos);
}

TEST_F(CommandTest, ScaleOutUsageErrors) {
  EXPECT_EQ(Error({"partitions", "reassign", "--partition=0", "--replicas=1"}),
            "missing --topic=T (or --plan=FILE)");
  EXPECT_EQ(Error({"partitions", "reassign", "--topic=t", "--replicas=1"}),
            "missing --partition=P");
  EXPECT_EQ(Error({"partitions", "reassign", "--topic=t", "--partition=0"}),
            "missing --replicas=B1,B2,...: the brokers to move to");
  EXPECT_EQ(Error({"partitions", "reassign", "--topic=t", "--partition=0", "--replicas=1,x"}),
            "invalid --replicas '1,x': expected comma-separated broker ids such as 1,2,4");
  EXPECT_EQ(Error({"partitions", "reassign", "--topic=t", "--partition=-1", "--replicas=1"}),
            "invalid --partition '-1': expected a partition (0 or more)");
  EXPECT_EQ(Error({"partitions", "reassign", "--plan=p.json", "--topic=t"}),
            "--plan cannot be used with --topic, --partition or --replicas");
  EXPECT_EQ(Error({"partitions", "reassign", "--plan=p.json", "--throttle-bytes=-1"}),
            "--throttle-bytes must be 0 (none) or more (got -1)");
  EXPECT_EQ(Error({"cluster", "balance", "--throttle-bytes=-2"}),
            "--throttle-bytes must be 0 (none) or more (got -2)");
  EXPECT_EQ(Error({"cluster", "decommission"}),
            "missing BROKER for 'runnel cluster decommission' (see 'runnel cluster decommission "
            "--help')");
  EXPECT_EQ(Error({"cluster", "decommission", "two"}),
            "invalid BROKER 'two': expected a broker id (0 or more)");
  EXPECT_EQ(Error({"partitions"}),
            "missing subcommand for 'runnel partitions' (see 'runnel partitions --help')");
}

TEST(ReassignmentPlanTest, ReadsKafkasFormat) {
  auto plan = ParseReassignmentPlan(
      R"({"version": 1, "partitions": [
           {"topic": "orders", "partition": 0, "replicas": [4, 2, 3], "log_dirs": ["any"]},
           {"topic": "clicks", "partition": 5, "replicas": [1]}]})");
  ASSERT_TRUE(plan.ok()) << plan.status();
  ASSERT_EQ(plan->size(), 2u);
  EXPECT_EQ((*plan)[0].topic(), "orders");
  EXPECT_EQ((*plan)[0].partition(), 0);
  EXPECT_EQ(std::vector<int32_t>((*plan)[0].target_replicas().begin(),
                                 (*plan)[0].target_replicas().end()),
            (std::vector<int32_t>{4, 2, 3}));
  EXPECT_EQ((*plan)[1].topic(), "clicks");
  EXPECT_EQ((*plan)[1].partition(), 5);
}

TEST(ReassignmentPlanTest, NamesTheProblem) {
  auto error = [](const std::string& json) {
    auto plan = ParseReassignmentPlan(json);
    if (plan.ok()) return std::string("<parsed>");
    EXPECT_EQ(plan.status().code(), absl::StatusCode::kInvalidArgument);
    std::string message(plan.status().message());
    EXPECT_EQ(message.find('\n'), std::string::npos) << message;
    return message;
  };
  EXPECT_EQ(error("[1,2]").rfind("invalid plan: not a JSON object", 0), 0u);
  EXPECT_EQ(error(R"({"version": 1})"), R"(invalid plan: expected {"partitions": [...]})");
  EXPECT_EQ(error(R"({"partitions": []})"), "invalid plan: no partitions");
  EXPECT_EQ(error(R"({"partitions": [{"partition": 0, "replicas": [1]}]})"),
            R"(invalid plan: entry 1: expected "topic": a string)");
  EXPECT_EQ(error(R"({"partitions": [{"topic": "t", "partition": 0.5, "replicas": [1]}]})"),
            R"(invalid plan: entry 1: expected "partition": a partition index (0 or more))");
  EXPECT_EQ(error(R"({"partitions": [{"topic": "t", "partition": 0, "replicas": [1]},
                                     {"topic": "t", "partition": 1, "replicas": ["a"]}]})"),
            R"(invalid plan: entry 2: expected "replicas": a list of broker ids)");
}

}  // namespace
}  // namespace runnel::client::cli
