// Command-line parsing of the `runnel` CLI: turns argv into a Command, with
// every usage error reported as one InvalidArgument line and no network
// access, so all of it is unit-tested. Running a Command is run.h's job.
//
// Flags come after the command words (`runnel topic create orders
// --partitions=3`); `--flag=value` flags may also precede them. Every flag
// can also be set by the environment variable RUNNEL_<FLAG> (e.g.
// RUNNEL_BOOTSTRAP); the command line wins.
//
// Thread-safety: pure functions (they read the environment).
#ifndef RUNNEL_CLIENT_CLI_COMMAND_H_
#define RUNNEL_CLIENT_CLI_COMMAND_H_

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/runnel/v1/admin.pb.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::client::cli {

enum class CommandKind {
  kHelp,  // print help_text on stdout and exit 0
  kTopicCreate,
  kTopicList,
  kTopicDescribe,
  kTopicAlterConfig,
  kTopicAlter,  // --partitions: grow the topic
  kTopicDelete,
  kProduce,
  kConsume,
  kGroupList,
  kGroupDescribe,
  kGroupResetOffsets,
  kGroupDelete,
  kClusterInfo,
  kPartitionsReassign,
  kPartitionsReassignments,  // list those in progress
  kClusterBalance,
  kClusterDecommission,
};

// Where `group reset-offsets` moves the offsets.
enum class ResetTo { kEarliest, kLatest, kOffset, kTimestamp };

struct Command {
  CommandKind kind = CommandKind::kHelp;
  std::string help_text;  // kHelp only
  std::string bootstrap = "127.0.0.1:9092";
  std::string topic;  // topic commands, produce, consume, group reset-offsets --topic
  std::string group;  // group describe/reset-offsets/delete, consume --group

  // topic create; topic alter (the new count)
  int32_t partitions = 1;
  int32_t replication_factor = 1;

  // topic create and alter-config: config overrides to set (--config=KEY=VALUE)
  std::map<std::string, std::string> configs;
  // topic alter-config: config overrides to remove (--reset=KEY), sorted
  std::vector<std::string> reset_configs;

  // produce
  std::optional<std::string> key_separator;
  runnel::v1::Acks acks = runnel::v1::ACKS_ALL;

  // produce (target partition), consume (the only partition read), group
  // reset-offsets (the only partition reset)
  std::optional<int32_t> partition;

  // consume
  std::optional<int64_t> offset;
  bool from_beginning = false;
  std::optional<int64_t> max_messages;
  std::optional<int64_t> timeout_ms;
  bool print_key = false;
  bool print_offset = false;
  // consume --group
  std::string client_id = "runnel-cli";
  std::string assignor = "cooperative-sticky";
  std::optional<int64_t> session_timeout_ms;  // unset: the client's default (10 s)

  // group reset-offsets
  ResetTo reset_to = ResetTo::kEarliest;
  int64_t reset_value = 0;  // the offset (kOffset) or ms since the epoch (kTimestamp)
  bool dry_run = false;     // also cluster balance / decommission

  // partitions reassign: one partition (topic, partition and --replicas,
  // preferred leader first) or a plan file in Kafka's reassignment JSON
  // (ParseReassignmentPlan), read when the command runs.
  std::vector<int32_t> replicas;
  std::string plan_file;
  // partitions reassign, cluster balance / decommission: copy rate limit per
  // new replica in bytes per second (0: none).
  int64_t throttle_bytes = 0;
  // cluster decommission
  int32_t broker = -1;
};

// Parses the arguments after the program name. Bad usage gives
// InvalidArgument with a one-line message meant to follow "runnel: ".
absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args);

// The text of `runnel --help`.
std::string Usage();

// A reassignment plan in Kafka's JSON format (what kafka-reassign-partitions
// takes with --reassignment-json-file):
//   {"version": 1, "partitions": [
//     {"topic": "orders", "partition": 0, "replicas": [4, 2, 3]}, ...]}
// "version" and each entry's "log_dirs" are accepted and ignored.
// InvalidArgument with a one-line message naming the problem.
absl::StatusOr<std::vector<runnel::v1::PartitionReassignment>> ParseReassignmentPlan(
    const std::string& json);

}  // namespace runnel::client::cli

#endif  // RUNNEL_CLIENT_CLI_COMMAND_H_
