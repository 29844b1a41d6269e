#include "client/cli/command.h"

#include <limits>
#include <set>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "client/types.h"
#include "common/flags.h"
#include "common/topic_config.h"

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
     "NAME [--partitions=P] [--replication-factor=R] [--config=KEY=VALUE ...]",
     "Create a topic.",
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
     "TOPIC [--partition=N] [--offset=O|--from-beginning] [--max-messages=N] [--timeout-ms=T] "
     "[--print-key] [--print-offset]",
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
     "the valid range.\n"},
    {"cluster info", CommandKind::kClusterInfo, "", "", "List the brokers.",
     "Prints on stdout the cluster id, then a line per broker, fields separated by TAB:\n"
     "  ClusterId: ID\n"
     "  Broker: 1  Address: HOST:PORT  Rack: none  State: alive  BrokerEpoch: 3  "
     "MillisSinceHeartbeat: 120  PartitionsLed: 2  PartitionsFollowed: 4\n"
     "State is alive or fenced; Rack is \"none\" when unset.\n"},
};

constexpr char kCommonHelp[] =
    "Every command takes --bootstrap=HOST:PORT, any broker of the cluster (default\n"
    "127.0.0.1:9092). The environment variable RUNNEL_BOOTSTRAP sets it too; the\n"
    "command line wins. No other flag reads the environment.\n"
    "\n"
    "Errors are one line on stderr starting with \"runnel: \". Exit status: 0 on success; 2 on\n"
    "bad input: usage errors, an unreachable bootstrap broker, and server answers\n"
    "INVALID_ARGUMENT, NOT_FOUND, ALREADY_EXISTS, OUT_OF_RANGE or FAILED_PRECONDITION (unknown\n"
    "topic, partition or offset out of range, ...); 1 on any other failure.\n";

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
    case CommandKind::kConsume:
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
    default:
      break;
  }
}

absl::Status Bad(absl::string_view message) { return absl::InvalidArgumentError(message); }

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

absl::Status Validate(const RawFlags& raw, Command* c) {
  const int64_t kInt32Max = std::numeric_limits<int32_t>::max();
  c->bootstrap = raw.bootstrap;
  if (c->bootstrap.empty()) return Bad("--bootstrap must not be empty");
  if (!c->topic.empty() || c->kind == CommandKind::kTopicCreate) {
    if (absl::Status s = ValidateTopicName(c->topic); !s.ok()) return s;
  }
  switch (c->kind) {
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
      break;
    }
    default:
      break;
  }
  if (c->kind == CommandKind::kProduce || c->kind == CommandKind::kConsume) {
    auto partition = OptionalInt("partition", raw.partition, kInt32Max, "a partition (0 or more)");
    if (!partition.ok()) return partition.status();
    if (*partition) c->partition = static_cast<int32_t>(**partition);
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
  if (word == "topic" || word == "cluster") {
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
  if (wanted == 1) command.topic = (*positional)[0];
  if (absl::Status s = Validate(raw, &command); !s.ok()) return s;
  return command;
}

}  // namespace runnel::client::cli
