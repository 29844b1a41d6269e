#include "client/cli/command.h"

#include <limits>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "client/group_membership.h"
#include "client/types.h"
#include "common/flags.h"
#include "common/topic_config.h"
#include "google/protobuf/struct.pb.h"
#include "google/protobuf/util/json_util.h"

namespace runnel::client::cli {
namespace {

constexpr char kDefaultBootstrap[] = "127.0.0.1:9092";

// One command's grammar and documentation.
struct Spec {
  const char* words;     // "topic create"
  CommandKind kind;
  const char* name;      // the positional argument ("NAME", "TOPIC") or ""
  const char* synopsis;  // what follows the words in the usage line
  const char* summary;   // one line for `runnel --help`
  const char* details;   // appended to `runnel <words> --help`
};

const Spec kSpecs[] = {
    {"topic create", CommandKind::kTopicCreate, "NAME",
     "NAME [--partitions=P] [--replication-factor=R] [--config=KEY=VALUE ...]", "Create a topic.",
     "Creates topic NAME (1-249 characters from [A-Za-z0-9._-]) and waits until the bootstrap\n"
     "broker knows it, so that a produce right after finds it. Prints on stdout:\n"
     "  created topic 'NAME' with P partitions (replication factor R)\n"},
    {"topic list", CommandKind::kTopicList, "", "", "List topic names.",
     "Prints the topic names on stdout, one per line, sorted.\n"},
    {"topic describe", CommandKind::kTopicDescribe, "NAME", "NAME",
     "Show a topic's partitions and configs.",
     "Prints on stdout a line for the topic, a line per partition, then a line per topic config\n"
     "(every known key, with its effective value), fields separated by TAB:\n"
     "  Topic: NAME  TopicId: ID  PartitionCount: P  ReplicationFactor: R  Configs: K=V,K2=V2\n"
     "  <TAB>Partition: 0  Leader: 1  LeaderEpoch: 0  Replicas: 1,2  Isr: 1,2  PartitionEpoch: 0\n"
     "  <TAB>Config: cleanup.policy=delete  Source: default\n"
     "  <TAB>Config: retention.ms=1000  Source: override\n"
     "Leader is \"none\" for a partition without a leader. The topic line's Configs lists only\n"
     "the topic's overrides (\"none\" without any); Source is override for a value set on the\n"
     "topic, default otherwise.\n"},
    {"topic alter-config", CommandKind::kTopicAlterConfig, "NAME",
     "NAME [--config=KEY=VALUE ...] [--reset=KEY ...]", "Change a topic's configs.",
     "Changes the config overrides of topic NAME: each --config=KEY=VALUE sets one, each\n"
     "--reset=KEY removes one so that the default applies again. All or nothing: if any key or\n"
     "value is refused, nothing changes. Brokers apply the change within a heartbeat interval.\n"
     "Prints on stdout the changed keys with their values now, a reset one marked (default):\n"
     "  altered topic 'NAME': retention.ms=1000, cleanup.policy=delete (default)\n"},
    {"topic alter", CommandKind::kTopicAlter, "NAME", "NAME --partitions=N",
     "Add partitions to a topic.",
     "Grows topic NAME to N partitions, more than it has (partitions are never removed: records\n"
     "are placed by key). New partitions are placed like at creation; from then on keys may map\n"
     "to other partitions, as in Kafka, and consumer groups reading the topic rebalance to take\n"
     "the new partitions. Waits until the bootstrap broker knows them. Prints on stdout:\n"
     "  altered topic 'NAME': partitions=N\n"},
    {"topic delete", CommandKind::kTopicDelete, "NAME", "NAME", "Delete a topic.",
     "Deletes topic NAME and its data. Prints on stdout: deleted topic 'NAME'\n"},
    {"produce", CommandKind::kProduce, "TOPIC",
     "TOPIC [--key-separator=SEP] [--partition=N] [--acks=all|1|0]",
     "Publish stdin to a topic, one record per line.",
     "Reads stdin and publishes one record per line (without its trailing newline; an empty\n"
     "line is a record with an empty value). With --key-separator each line splits at the first\n"
     "SEP into key and value; a line without SEP becomes a record without a key. Keyed records go\n"
     "to the partition Kafka's default partitioner picks (murmur2 of the key); records without a\n"
     "key fill a batch on one partition, then move to the next. --partition sends every record\n"
     "to partition N. Records are sent in batches and flushed at end of input; then\n"
     "\"N records produced\" is printed on stderr.\n"},
    {"consume", CommandKind::kConsume, "TOPIC",
     "TOPIC [--group=G [--client-id=ID] [--assignor=A] [--session-timeout-ms=T]] [--partition=N] "
     "[--offset=O|--from-beginning] [--max-messages=N] [--timeout-ms=T] [--print-key] "
     "[--print-offset]",
     "Print a topic's records, one value per line.",
     "Prints one record per line on stdout: its value, or \"null\" for a record without one.\n"
     "--print-key puts the key (\"null\" if none) and a TAB before the value; --print-offset puts\n"
     "\"partition=P offset=O\" and a TAB before that, e.g.\n"
     "  partition=0 offset=42<TAB>user-7<TAB>clicked\n"
     "Reads every partition unless --partition is given. Starts at the latest offset (only new\n"
     "records) unless --offset=O (in each partition read) or --from-beginning is given. Stops\n"
     "after --max-messages records or --timeout-ms without a new record; with neither, follows\n"
     "new records until interrupted (SIGINT exits 0). Then \"N records consumed\" is printed on\n"
     "stderr. An offset outside a partition's log fails with the broker's message, which names\n"
     "the valid range.\n"
     "\n"
     "With --group=G the command joins consumer group G instead: the group's members (several\n"
     "such commands, or any client) split the topic's partitions, and partitions move when\n"
     "members come and go. Each partition starts at the group's committed offset; a partition\n"
     "without one starts at the latest offset, or the earliest with --from-beginning. The offsets\n"
     "of printed records are committed every second, when a partition moves away, and at exit\n"
     "(records printed but not yet committed when the process is killed are printed again by\n"
     "the next member: at-least-once). --partition and --offset do not apply; to move a group's\n"
     "offsets use 'runnel group reset-offsets'. --client-id names the member in 'runnel group\n"
     "describe'; --assignor picks how partitions are spread (range, roundrobin or\n"
     "cooperative-sticky; the group's first member chooses, the others must agree);\n"
     "--session-timeout-ms how long after this process dies (without leaving) its partitions\n"
     "move to other members.\n"},
    {"group list", CommandKind::kGroupList, "", "", "List consumer groups.",
     "Prints a line per group, sorted, fields separated by TAB:\n"
     "  Group: G  State: stable  Members: 2  Assignor: cooperative-sticky\n"
     "State is empty (no live members; the group may still hold offsets), stable (every member\n"
     "owns its share) or reconciling (partitions are moving). Assignor is \"none\" for a group\n"
     "that never had members.\n"},
    {"group describe", CommandKind::kGroupDescribe, "GROUP", "GROUP",
     "Show a group's members, offsets and lag.",
     "Prints on stdout a line for the group, a TAB-indented line per live member, then one per\n"
     "partition of the topics it subscribes to or holds offsets for, fields separated by TAB:\n"
     "  Group: G  State: stable  Generation: 4  Assignor: cooperative-sticky  Members: 2\n"
     "  <TAB>Member: ID  ClientId: runnel-cli  Host: 127.0.0.1  Topics: orders\n"
     "       Assignment: orders-0,orders-1  Owned: orders-0,orders-1  MillisSinceHeartbeat: 120\n"
     "  <TAB>Partition: orders-0  Committed: 40  LogEnd: 42  Lag: 2  Member: ID\n"
     "(a member's line is one line). Assignment is what the member is to own, Owned what it\n"
     "reported owning (they differ while partitions move). Committed is the next offset the\n"
     "group will read, LogEnd the partition's log end offset (high watermark) and Lag their\n"
     "difference; \"none\" where nothing is committed, \"unknown\" where the log end could not be\n"
     "read. Member is the partition's assigned member, or \"none\".\n"},
    {"group reset-offsets", CommandKind::kGroupResetOffsets, "GROUP",
     "GROUP --topic=T (--to-earliest|--to-latest|--to-offset=N|--to-timestamp=TIME) "
     "[--partition=N] [--dry-run]",
     "Move a group's committed offsets.",
     "Sets group GROUP's committed offset of every partition of topic T (or only --partition)\n"
     "to the partition's log start (--to-earliest), log end (--to-latest), offset N (which must\n"
     "be within the log in every partition reset), or the first record at or after TIME\n"
     "(--to-timestamp: milliseconds since the Unix epoch, or RFC 3339 such as\n"
     "2024-05-01T12:00:00Z; the log end where there is none). Exactly one of them. Offsets are\n"
     "resolved on the partitions' leaders. Refused while the group has live members: stop its\n"
     "consumers first. Creates the group if it does not exist. Prints on stdout:\n"
     "  reset offsets of group 'G': orders-0=0, orders-1=0\n"
     "With --dry-run nothing changes and the line starts \"would reset\".\n"},
    {"group delete", CommandKind::kGroupDelete, "GROUP", "GROUP", "Delete a group and its offsets.",
     "Deletes consumer group GROUP and its committed offsets; refused while it has live\n"
     "members. Prints on stdout: deleted group 'GROUP'\n"},
    {"cluster info", CommandKind::kClusterInfo, "", "", "List the brokers.",
     "Prints on stdout the cluster id, then a line per broker, fields separated by TAB:\n"
     "  ClusterId: ID\n"
     "  Broker: 1  Address: HOST:PORT  Rack: none  State: alive  BrokerEpoch: 3  "
     "MillisSinceHeartbeat: 120  PartitionsLed: 2  PartitionsFollowed: 4\n"
     "State is alive or fenced; Rack is \"none\" when unset.\n"},
    {"partitions reassign", CommandKind::kPartitionsReassign, "",
     "(--topic=T --partition=P --replicas=B1,B2,...|--plan=FILE) [--throttle-bytes=N]",
     "Move partitions' replicas to other brokers.",
     "Moves partition P of topic T to the brokers --replicas lists (as many as the topic's\n"
     "replication factor; the first is the preferred leader), or every partition of a plan file\n"
     "in Kafka's reassignment JSON format:\n"
     "  {\"partitions\": [{\"topic\": \"T\", \"partition\": 0, \"replicas\": [4, 2, 3]}, ...]}\n"
     "(\"version\" and \"log_dirs\" are accepted and ignored).\n"
     "Producers and consumers keep running: each new replica copies from the leader (at most\n"
     "--throttle-bytes bytes per second each; 0: unthrottled) and joins the in-sync replicas,\n"
     "then leadership moves to the first new replica if the leader is leaving, and the replicas\n"
     "left out drop their data. A partition already being moved gets the new target instead.\n"
     "Returns at once; 'runnel partitions reassignments' shows the progress. Prints on stdout a\n"
     "line per partition, fields separated by TAB:\n"
     "  Partition: T-0  Replicas: 4,2,3,1  Target: 4,2,3  Adding: 4  Removing: 1  State: copying\n"
     "State is copying (new replicas not in sync yet), removing (waiting to drop the replicas\n"
     "left out) or done (nothing to copy: e.g. only the order changed, which moves leadership).\n"},
    {"partitions reassignments", CommandKind::kPartitionsReassignments, "", "",
     "List the reassignments in progress.",
     "Prints a line per partition being moved, as 'runnel partitions reassign' does; nothing\n"
     "when none is in progress.\n"},
    {"cluster balance", CommandKind::kClusterBalance, "", "[--dry-run] [--throttle-bytes=N]",
     "Even out replicas and leaders over the brokers.",
     "Plans moves that spread replicas (then preferred leaders) evenly over the live brokers,\n"
     "moving as few replicas as it can, and starts them as reassignments (see 'runnel partitions\n"
     "reassign'; --throttle-bytes limits each new replica's copy rate). Moves that only change\n"
     "the preferred leader copy nothing. With --dry-run it only prints the plan. Run it after\n"
     "adding brokers. Prints on stdout a line per move, fields separated by TAB, then a summary:\n"
     "  Partition: T-0  From: 1,2  To: 4,2  Copies: 4\n"
     "  planned 1 move(s) copying 1 replica(s): started\n"
     "Copies is \"none\" for a move that only reorders.\n"},
    {"cluster decommission", CommandKind::kClusterDecommission, "BROKER",
     "BROKER [--dry-run] [--throttle-bytes=N]", "Move every replica off a broker.",
     "Plans and starts moves (as 'runnel cluster balance' does) that leave broker BROKER with\n"
     "no replica, spreading its replicas over the other live brokers; afterwards the broker\n"
     "gets no new partitions and later balances keep it empty, until it registers again (a\n"
     "restart). Once 'runnel partitions reassignments' shows nothing, stop the broker.\n"
     "Refused when the other brokers are too few for the replication factor. Output as for\n"
     "'runnel cluster balance'.\n"},
};

constexpr char kCommonHelp[] =
    "Every command takes --bootstrap=HOST:PORT, any broker of the cluster (default\n"
    "127.0.0.1:9092). The environment variable RUNNEL_BOOTSTRAP sets it too; the\n"
    "command line wins. No other flag reads the environment.\n"
    "\n"
    "Errors are one line on stderr starting with \"runnel: \". Exit status: 0 on success; 2 on\n"
    "bad input: usage errors, an unreachable bootstrap broker, and server answers\n"
    "INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE or FAILED_PRECONDITION (unknown\n"
    "topic, partition or offset out of range, a group that still has live members, ...); 1 on\n"
    "any other failure.\n";

// Every flag of every command; each command registers the ones it takes.
struct RawFlags {
  std::string bootstrap;
  int64_t partitions = 0;
  int64_t replication_factor = 0;
  std::vector<std::string> configs;
  std::vector<std::string> resets;
  std::string key_separator;
  std::string partition;
  std::string acks;
  std::string offset;
  bool from_beginning = false;
  int64_t max_messages = 0;
  int64_t timeout_ms = 0;
  bool print_key = false;
  bool print_offset = false;
  std::string group;
  std::string client_id;
  std::string assignor;
  int64_t session_timeout_ms = 0;
  std::string topic;
  bool to_earliest = false;
  bool to_latest = false;
  std::string to_offset;
  std::string to_timestamp;
  bool dry_run = false;
  std::string replicas;
  std::string plan;
  int64_t throttle_bytes = 0;
};

void Register(CommandKind kind, FlagSet& flags, RawFlags& raw) {
  flags.String("bootstrap", &raw.bootstrap, kDefaultBootstrap,
               "host:port of any broker of the cluster.");
  switch (kind) {
    case CommandKind::kTopicCreate:
      flags.Int("partitions", &raw.partitions, 1, "Number of partitions, at least 1.");
      flags.Int("replication-factor", &raw.replication_factor, 1,
                "Replicas of each partition, at least 1 and at most the live brokers.");
      flags.Repeated("config", &raw.configs,
                     "A topic config override KEY=VALUE (e.g. retention.ms=86400000); repeatable.");
      break;
    case CommandKind::kTopicAlterConfig:
      flags.Repeated("config", &raw.configs,
                     "Set a topic config override KEY=VALUE (e.g. retention.ms=86400000); "
                     "repeatable.");
      flags.Repeated("reset", &raw.resets,
                     "Remove the override of config KEY, back to the default; repeatable.");
      break;
    case CommandKind::kProduce:
      flags.String("key-separator", &raw.key_separator, "",
                   "Split each line at the first SEP into key and value (empty: no keys).");
      flags.String("partition", &raw.partition, "",
                   "Send every record to this partition (empty: by key, or sticky round robin).");
      flags.String("acks", &raw.acks, "all",
                   "Wait for all in-sync replicas (all), the leader only (1) or nothing (0).");
      break;
    case CommandKind::kTopicAlter:
      flags.Int("partitions", &raw.partitions, 0,
                "The new partition count, more than the topic has (required).");
      break;
    case CommandKind::kGroupResetOffsets:
      flags.String("topic", &raw.topic, "", "The topic whose offsets move (required).");
      flags.String("partition", &raw.partition, "", "Reset only this partition (empty: all).");
      flags.Bool("to-earliest", &raw.to_earliest, false, "To each partition's log start.");
      flags.Bool("to-latest", &raw.to_latest, false, "To each partition's log end.");
      flags.String("to-offset", &raw.to_offset, "", "To this offset.");
      flags.String("to-timestamp", &raw.to_timestamp, "",
                   "To the first record at or after this time (ms since the epoch, or RFC 3339).");
      flags.Bool("dry-run", &raw.dry_run, false, "Print the new offsets without setting them.");
      break;
    case CommandKind::kConsume:
      flags.String("group", &raw.group, "",
                   "Join this consumer group and read the partitions it assigns (empty: none).");
      flags.String("client-id", &raw.client_id, "",
                   "With --group: the name shown for this member (default runnel-cli).");
      flags.String("assignor", &raw.assignor, "",
                   "With --group: range, roundrobin or cooperative-sticky (the default).");
      flags.Int("session-timeout-ms", &raw.session_timeout_ms, 0,
                "With --group: the group drops this member after this long without a heartbeat "
                "(1000-300000; 0: 10000).");
      flags.String("partition", &raw.partition, "", "Read only this partition (empty: all).");
      flags.String("offset", &raw.offset, "",
                   "Start at this offset in each partition read (empty: latest).");
      flags.Bool("from-beginning", &raw.from_beginning, false,
                 "Start at the earliest offset of each partition.");
      flags.Int("max-messages", &raw.max_messages, 0, "Stop after this many records (0: no limit).");
      flags.Int("timeout-ms", &raw.timeout_ms, 0,
                "Stop after this many milliseconds without a new record (0: never).");
      flags.Bool("print-key", &raw.print_key, false, "Print each record's key and a TAB first.");
      flags.Bool("print-offset", &raw.print_offset, false,
                 "Print \"partition=P offset=O\" and a TAB first.");
      break;
    case CommandKind::kPartitionsReassign:
      flags.String("topic", &raw.topic, "", "The topic of the partition to move.");
      flags.String("partition", &raw.partition, "", "The partition to move.");
      flags.String("replicas", &raw.replicas, "",
                   "Comma-separated broker ids the partition moves to, preferred leader first.");
      flags.String("plan", &raw.plan, "",
                   "A JSON reassignment plan file (Kafka's format) instead of the three flags.");
      flags.Int("throttle-bytes", &raw.throttle_bytes, 0,
                "Copy rate limit per new replica, bytes per second (0: none).");
      break;
    case CommandKind::kClusterBalance:
    case CommandKind::kClusterDecommission:
      flags.Bool("dry-run", &raw.dry_run, false, "Print the plan without starting it.");
      flags.Int("throttle-bytes", &raw.throttle_bytes, 0,
                "Copy rate limit per new replica, bytes per second (0: none).");
      break;
    default:
      break;
  }
}

absl::Status Bad(absl::string_view message) { return absl::InvalidArgumentError(message); }

// partitions reassign: one partition by flags, or a plan file.
absl::Status ValidateReassign(const RawFlags& raw, Command* c) {
  if (raw.throttle_bytes < 0) {
    return Bad(
        absl::StrCat("--throttle-bytes must be 0 (none) or more (got ", raw.throttle_bytes, ")"));
  }
  c->throttle_bytes = raw.throttle_bytes;
  const bool by_flags = !raw.topic.empty() || !raw.partition.empty() || !raw.replicas.empty();
  if (!raw.plan.empty()) {
    if (by_flags) return Bad("--plan cannot be used with --topic, --partition or --replicas");
    c->plan_file = raw.plan;
    return absl::OkStatus();
  }
  if (raw.topic.empty()) return Bad("missing --topic=T (or --plan=FILE)");
  if (raw.partition.empty()) return Bad("missing --partition=P");
  if (raw.replicas.empty()) return Bad("missing --replicas=B1,B2,...: the brokers to move to");
  if (absl::Status s = ValidateTopicName(raw.topic); !s.ok()) return s;
  c->topic = raw.topic;
  for (absl::string_view id : absl::StrSplit(raw.replicas, ',')) {
    int32_t broker = 0;
    if (!absl::SimpleAtoi(id, &broker) || broker < 0) {
      return Bad(absl::StrCat("invalid --replicas '", raw.replicas,
                              "': expected comma-separated broker ids such as 1,2,4"));
    }
    c->replicas.push_back(broker);
  }
  return absl::OkStatus();
}

// An optional integer flag held as a string, so "not given" is visible.
absl::StatusOr<std::optional<int64_t>> OptionalInt(absl::string_view flag, const std::string& text,
                                                   int64_t max, absl::string_view expected) {
  if (text.empty()) return std::nullopt;
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < 0 || value > max) {
    return Bad(absl::StrCat("invalid --", flag, " '", text, "': expected ", expected));
  }
  return value;
}

// --config=KEY=VALUE flags into `configs`; each key at most once.
absl::Status ParseConfigFlags(const std::vector<std::string>& flags,
                              std::map<std::string, std::string>* configs) {
  for (const std::string& kv : flags) {
    size_t eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) {
      return Bad(absl::StrCat("invalid --config '", kv, "': expected KEY=VALUE"));
    }
    if (!configs->emplace(kv.substr(0, eq), kv.substr(eq + 1)).second) {
      return Bad(absl::StrCat("--config key '", kv.substr(0, eq), "' given twice"));
    }
  }
  return absl::OkStatus();
}

// --reset=KEY flags into `keys`, sorted; none may also be set by --config.
absl::Status ParseResetFlags(const std::vector<std::string>& flags,
                             const std::map<std::string, std::string>& configs,
                             std::vector<std::string>* keys) {
  std::set<std::string> seen;
  for (const std::string& key : flags) {
    if (key.empty()) return Bad("invalid --reset '': expected a config KEY");
    if (!seen.insert(key).second) {
      return Bad(absl::StrCat("--reset key '", key, "' given twice"));
    }
    if (configs.count(key) > 0) {
      return Bad(absl::StrCat("config '", key, "' given to both --config and --reset"));
    }
  }
  keys->assign(seen.begin(), seen.end());
  return absl::OkStatus();
}

// consume --group and the flags that only make sense with it.
absl::Status ValidateConsumeGroup(const RawFlags& raw, Command* c) {
  c->group = raw.group;
  if (c->group.empty()) {
    if (!raw.client_id.empty()) return Bad("--client-id needs --group");
    if (!raw.assignor.empty()) return Bad("--assignor needs --group");
    if (raw.session_timeout_ms != 0) return Bad("--session-timeout-ms needs --group");
    return absl::OkStatus();
  }
  if (raw.session_timeout_ms < 0) {
    return Bad(absl::StrCat("--session-timeout-ms must be 0 (default) or more (got ",
                            raw.session_timeout_ms, ")"));
  }
  if (raw.session_timeout_ms > 0) c->session_timeout_ms = raw.session_timeout_ms;
  if (absl::Status s = ValidateGroupId(c->group); !s.ok()) return s;
  if (c->offset) {
    return Bad(
        "--offset cannot be used with --group: the group's committed offsets apply (move "
        "them with 'runnel group reset-offsets')");
  }
  if (!raw.client_id.empty()) c->client_id = raw.client_id;
  if (!raw.assignor.empty()) {
    if (!IsKnownAssignor(raw.assignor)) {
      return Bad(absl::StrCat("invalid --assignor '", raw.assignor,
                              "': expected range, roundrobin or cooperative-sticky"));
    }
    c->assignor = raw.assignor;
  }
  return absl::OkStatus();
}

// ms since the Unix epoch, or an RFC 3339 time.
absl::StatusOr<int64_t> ParseTimestamp(const std::string& text) {
  int64_t ms = 0;
  if (absl::SimpleAtoi(text, &ms) && ms >= 0) return ms;
  absl::Time t;
  std::string error;
  if (absl::ParseTime(absl::RFC3339_full, text, &t, &error)) return absl::ToUnixMillis(t);
  return Bad(absl::StrCat("invalid --to-timestamp '", text,
                          "': expected milliseconds since the Unix epoch or an RFC 3339 time "
                          "such as 2024-05-01T12:00:00Z"));
}

// group reset-offsets: --topic and exactly one --to-*.
absl::Status ValidateReset(const RawFlags& raw, Command* c) {
  if (raw.topic.empty()) return Bad("missing --topic=T: the topic whose offsets move");
  if (absl::Status s = ValidateTopicName(raw.topic); !s.ok()) return s;
  c->topic = raw.topic;
  const int given = (raw.to_earliest ? 1 : 0) + (raw.to_latest ? 1 : 0) +
                    (raw.to_offset.empty() ? 0 : 1) + (raw.to_timestamp.empty() ? 0 : 1);
  if (given != 1) {
    return Bad(
        "give exactly one of --to-earliest, --to-latest, --to-offset=N or "
        "--to-timestamp=TIME");
  }
  if (raw.to_earliest) c->reset_to = ResetTo::kEarliest;
  if (raw.to_latest) c->reset_to = ResetTo::kLatest;
  if (!raw.to_offset.empty()) {
    auto offset = OptionalInt("to-offset", raw.to_offset, std::numeric_limits<int64_t>::max(),
                              "an offset (0 or more)");
    if (!offset.ok()) return offset.status();
    c->reset_to = ResetTo::kOffset;
    c->reset_value = **offset;
  }
  if (!raw.to_timestamp.empty()) {
    absl::StatusOr<int64_t> ms = ParseTimestamp(raw.to_timestamp);
    if (!ms.ok()) return ms.status();
    c->reset_to = ResetTo::kTimestamp;
    c->reset_value = *ms;
  }
  c->dry_run = raw.dry_run;
  return absl::OkStatus();
}

absl::Status Validate(const RawFlags& raw, Command* c) {
  const int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  c->bootstrap = raw.bootstrap;
  if (c->bootstrap.empty()) return Bad("--bootstrap must not be empty");
  if (!c->topic.empty() || c->kind == CommandKind::kTopicCreate) {
    if (absl::Status s = ValidateTopicName(c->topic); !s.ok()) return s;
  }
  if (!c->group.empty()) {
    if (absl::Status s = ValidateGroupId(c->group); !s.ok()) return s;
  }
  switch (c->kind) {
    case CommandKind::kTopicAlter:
      if (raw.partitions == 0) return Bad("missing --partitions=N: the new partition count");
      if (raw.partitions < 1 || raw.partitions > kInt32Max) {
        return Bad(absl::StrCat("--partitions must be at least 1 (got ", raw.partitions, ")"));
      }
      c->partitions = static_cast<int32_t>(raw.partitions);
      break;
    case CommandKind::kGroupResetOffsets:
      if (absl::Status s = ValidateReset(raw, c); !s.ok()) return s;
      break;
    case CommandKind::kPartitionsReassign:
      if (absl::Status s = ValidateReassign(raw, c); !s.ok()) return s;
      break;
    case CommandKind::kClusterBalance:
    case CommandKind::kClusterDecommission:
      if (raw.throttle_bytes < 0) {
        return Bad(absl::StrCat("--throttle-bytes must be 0 (none) or more (got ",
                                raw.throttle_bytes, ")"));
      }
      c->throttle_bytes = raw.throttle_bytes;
      c->dry_run = raw.dry_run;
      break;
    case CommandKind::kTopicCreate:
      if (raw.partitions < 1 || raw.partitions > kInt32Max) {
        return Bad(absl::StrCat("--partitions must be at least 1 (got ", raw.partitions, ")"));
      }
      if (raw.replication_factor < 1 || raw.replication_factor > kInt32Max) {
        return Bad(absl::StrCat("--replication-factor must be at least 1 (got ",
                                raw.replication_factor, ")"));
      }
      c->partitions = static_cast<int32_t>(raw.partitions);
      c->replication_factor = static_cast<int32_t>(raw.replication_factor);
      if (absl::Status s = ParseConfigFlags(raw.configs, &c->configs); !s.ok()) return s;
      break;
    case CommandKind::kTopicAlterConfig:
      if (absl::Status s = ParseConfigFlags(raw.configs, &c->configs); !s.ok()) return s;
      if (absl::Status s = ParseResetFlags(raw.resets, c->configs, &c->reset_configs); !s.ok()) {
        return s;
      }
      if (c->configs.empty() && c->reset_configs.empty()) {
        return Bad("nothing to alter: give --config=KEY=VALUE or --reset=KEY");
      }
      break;
    case CommandKind::kProduce: {
      if (!raw.key_separator.empty()) c->key_separator = raw.key_separator;
      if (raw.acks == "all" || raw.acks == "-1") {
        c->acks = runnel::v1::ACKS_ALL;
      } else if (raw.acks == "1") {
        c->acks = runnel::v1::ACKS_LEADER;
      } else if (raw.acks == "0") {
        c->acks = runnel::v1::ACKS_NONE;
      } else {
        return Bad(absl::StrCat("invalid --acks '", raw.acks, "': expected all, 1 or 0"));
      }
      break;
    }
    case CommandKind::kConsume: {
      auto offset = OptionalInt("offset", raw.offset, std::numeric_limits<int64_t>::max(),
                                "an offset (0 or more)");
      if (!offset.ok()) return offset.status();
      c->offset = *offset;
      c->from_beginning = raw.from_beginning;
      if (c->offset && c->from_beginning) {
        return Bad("--offset and --from-beginning cannot be used together");
      }
      if (raw.max_messages < 0) {
        return Bad(absl::StrCat("--max-messages must be 0 (no limit) or more (got ",
                                raw.max_messages, ")"));
      }
      if (raw.timeout_ms < 0) {
        return Bad(absl::StrCat("--timeout-ms must be 0 (never) or more (got ", raw.timeout_ms,
                                ")"));
      }
      if (raw.max_messages > 0) c->max_messages = raw.max_messages;
      if (raw.timeout_ms > 0) c->timeout_ms = raw.timeout_ms;
      c->print_key = raw.print_key;
      c->print_offset = raw.print_offset;
      if (absl::Status s = ValidateConsumeGroup(raw, c); !s.ok()) return s;
      break;
    }
    default:
      break;
  }
  if (c->kind == CommandKind::kProduce || c->kind == CommandKind::kConsume ||
      c->kind == CommandKind::kGroupResetOffsets || c->kind == CommandKind::kPartitionsReassign) {
    auto partition = OptionalInt("partition", raw.partition, kInt32Max, "a partition (0 or more)");
    if (!partition.ok()) return partition.status();
    if (*partition) c->partition = static_cast<int32_t>(**partition);
  }
  if (c->kind == CommandKind::kConsume && !c->group.empty() && c->partition) {
    return Bad("--partition cannot be used with --group: the group assigns the partitions");
  }
  return absl::OkStatus();
}

Command Help(std::string text) {
  Command c;
  c.kind = CommandKind::kHelp;
  c.help_text = std::move(text);
  return c;
}

bool IsHelp(const std::string& arg) { return arg == "--help" || arg == "-h"; }

// A command's entry in the usage lists.
std::string Line(const Spec& s) {
  return absl::StrCat("  runnel ", s.words, s.synopsis[0] == '\0' ? "" : " ", s.synopsis,
                      "\n      ", s.summary, "\n");
}

// The topic configs with their defaults, for the help of the commands that set them.
std::string TopicConfigHelp() {
  std::string out = "Topic configs, with their defaults:\n";
  for (const TopicConfigKey& k : KnownTopicConfigKeys()) {
    absl::StrAppend(&out, "  ", k.key, "=", k.default_value, "\n      ", k.help, "\n");
  }
  return out;
}

std::string GroupUsage(absl::string_view group) {
  std::string out = absl::StrCat("Usage: runnel ", group, " SUBCOMMAND ...\n\nSubcommands:\n");
  for (const Spec& s : kSpecs) {
    if (absl::StartsWith(s.words, absl::StrCat(group, " "))) absl::StrAppend(&out, Line(s));
  }
  absl::StrAppend(&out, "\nRun 'runnel ", group, " SUBCOMMAND --help' for details.\n");
  return out;
}

}  // namespace

std::string Usage() {
  std::string out =
      "runnel: command-line client for a Runnel cluster.\n\n"
      "Usage: runnel COMMAND [ARGUMENTS] [FLAGS]\n\nCommands:\n";
  for (const Spec& s : kSpecs) absl::StrAppend(&out, Line(s));
  absl::StrAppend(&out, "\nRun 'runnel COMMAND --help' for a command's flags and output.\n\n",
                  kCommonHelp);
  return out;
}

absl::StatusOr<std::vector<runnel::v1::PartitionReassignment>> ParseReassignmentPlan(
    const std::string& json) {
  namespace pb = google::protobuf;
  pb::Struct plan;
  if (const auto s = pb::util::JsonStringToMessage(json, &plan); !s.ok()) {
    return Bad(absl::StrCat("invalid plan: not a JSON object: ", s.ToString()));
  }
  auto field = plan.fields().find("partitions");
  if (field == plan.fields().end() || !field->second.has_list_value()) {
    return Bad("invalid plan: expected {\"partitions\": [...]}");
  }
  // A JSON number that is a whole int32 >= 0.
  auto whole = [](const pb::Value& v, int32_t* out) {
    if (v.kind_case() != pb::Value::kNumberValue) return false;
    const double d = v.number_value();
    if (d < 0 || d > std::numeric_limits<int32_t>::max() || d != static_cast<int32_t>(d)) {
      return false;
    }
    *out = static_cast<int32_t>(d);
    return true;
  };
  std::vector<runnel::v1::PartitionReassignment> out;
  for (const pb::Value& entry : field->second.list_value().values()) {
    const std::string where = absl::StrCat("invalid plan: entry ", out.size() + 1, ": ");
    if (!entry.has_struct_value()) return Bad(absl::StrCat(where, "expected an object"));
    const auto& f = entry.struct_value().fields();
    runnel::v1::PartitionReassignment r;
    auto topic = f.find("topic");
    if (topic == f.end() || topic->second.kind_case() != pb::Value::kStringValue) {
      return Bad(absl::StrCat(where, "expected \"topic\": a string"));
    }
    r.set_topic(topic->second.string_value());
    auto partition = f.find("partition");
    int32_t index = 0;
    if (partition == f.end() || !whole(partition->second, &index)) {
      return Bad(absl::StrCat(where, "expected \"partition\": a partition index (0 or more)"));
    }
    r.set_partition(index);
    auto replicas = f.find("replicas");
    if (replicas == f.end() || !replicas->second.has_list_value()) {
      return Bad(absl::StrCat(where, "expected \"replicas\": a list of broker ids"));
    }
    for (const pb::Value& id : replicas->second.list_value().values()) {
      int32_t broker = 0;
      if (!whole(id, &broker)) {
        return Bad(absl::StrCat(where, "expected \"replicas\": a list of broker ids"));
      }
      r.add_target_replicas(broker);
    }
    out.push_back(std::move(r));
  }
  if (out.empty()) return Bad("invalid plan: no partitions");
  return out;
}

absl::StatusOr<Command> ParseCommandLine(const std::vector<std::string>& args) {
  // Flags before the command words are moved after them.
  std::vector<std::string> leading;
  size_t i = 0;
  for (; i < args.size() && absl::StartsWith(args[i], "-"); ++i) {
    if (IsHelp(args[i])) return Help(Usage());
    leading.push_back(args[i]);
  }
  if (i == args.size()) return Bad("missing command (see 'runnel --help')");
  const std::string word = args[i++];
  if (word == "help") return Help(Usage());

  std::string words = word;
  if (word == "topic" || word == "cluster" || word == "group" || word == "partitions") {
    if (i == args.size() || absl::StartsWith(args[i], "-")) {
      if (i < args.size() && IsHelp(args[i])) return Help(GroupUsage(word));
      return Bad(absl::StrCat("missing subcommand for 'runnel ", word, "' (see 'runnel ", word,
                              " --help')"));
    }
    words = absl::StrCat(word, " ", args[i++]);
  }
  const Spec* spec = nullptr;
  for (const Spec& s : kSpecs) {
    if (words == s.words) spec = &s;
  }
  if (spec == nullptr) {
    std::string where = word == words ? "runnel" : absl::StrCat("runnel ", word);
    return Bad(absl::StrCat("unknown command '", words, "' (see '", where, " --help')"));
  }

  std::vector<std::string> rest = leading;
  rest.insert(rest.end(), args.begin() + i, args.end());
  const std::string program = absl::StrCat("runnel ", spec->words);
  FlagSet flags(program, absl::StrCat(program, " ", spec->synopsis, " [--bootstrap=HOST:PORT]"));
  RawFlags raw;
  Register(spec->kind, flags, raw);
  flags.LimitEnvTo({"bootstrap"});
  absl::StatusOr<std::vector<std::string>> positional = flags.Parse(rest);
  if (flags.help_requested()) {
    const bool sets_configs =
        spec->kind == CommandKind::kTopicCreate || spec->kind == CommandKind::kTopicAlterConfig;
    return Help(absl::StrCat(flags.Help(), "\n", spec->details, "\n",
                             sets_configs ? TopicConfigHelp() + "\n" : "", kCommonHelp));
  }
  const std::string see = absl::StrCat(" (see '", program, " --help')");
  if (!positional.ok()) return Bad(absl::StrCat(positional.status().message(), see));

  Command command;
  command.kind = spec->kind;
  const size_t wanted = spec->name[0] == '\0' ? 0 : 1;
  if (positional->size() < wanted) {
    return Bad(absl::StrCat("missing ", spec->name, " for '", program, "'", see));
  }
  if (positional->size() > wanted) {
    return Bad(absl::StrCat("unexpected argument '", (*positional)[wanted], "' for '", program,
                            "'", see));
  }
  if (wanted == 1 && absl::string_view(spec->name) == "BROKER") {
    const std::string& id = (*positional)[0];
    if (!absl::SimpleAtoi(id, &command.broker) || command.broker < 0) {
      return Bad(absl::StrCat("invalid BROKER '", id, "': expected a broker id (0 or more)"));
    }
  } else if (wanted == 1) {
    (absl::string_view(spec->name) == "GROUP" ? command.group : command.topic) = (*positional)[0];
  }
  if (absl::Status s = Validate(raw, &command); !s.ok()) return s;
  return command;
}

}  // namespace runnel::client::cli
