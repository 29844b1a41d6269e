#include "common/topic_config.h"

#include <limits>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace runnel {
namespace {

// One known key: how to read its value into a TopicConfig and how to print
// the field back. Defaults are printed from a default TopicConfig, so the
// documented default can never drift from the struct's initialiser.
struct Rule {
  const char* key;
  const char* help;
  // Sets the field from `value`; returns what was expected if `value` is
  // invalid, "" if it is fine.
  std::string (*apply)(absl::string_view value, TopicConfig* config);
  std::string (*print)(const TopicConfig& config);
};

// A decimal integer in [min, max], with no surrounding whitespace (which
// SimpleAtoi would otherwise skip).
template <typename Int>
bool ParseInt(absl::string_view value, Int min, Int max, Int* out) {
  if (value.empty() || absl::ascii_isspace(static_cast<unsigned char>(value.front())) ||
      absl::ascii_isspace(static_cast<unsigned char>(value.back()))) {
    return false;
  }
  Int n = 0;
  if (!absl::SimpleAtoi(value, &n) || n < min || n > max) return false;
  *out = n;
  return true;
}

constexpr int64_t kInt64Max = std::numeric_limits<int64_t>::max();
constexpr int32_t kInt32Max = std::numeric_limits<int32_t>::max();

// A limit where -1 means "none" (retention.ms, retention.bytes).
std::string ParseLimit(absl::string_view value, absl::string_view unit, int64_t* out) {
  if (ParseInt<int64_t>(value, -1, kInt64Max, out)) return "";
  return absl::StrCat("expected a number of ", unit, " >= 0, or -1 for no limit");
}

std::string ParseMillis(absl::string_view value, int64_t* out) {
  if (ParseInt<int64_t>(value, 0, kInt64Max, out)) return "";
  return "expected a number of milliseconds >= 0";
}

std::string ParseCleanupPolicy(absl::string_view value, TopicConfig* c) {
  if (value == "delete") {
    c->cleanup_delete = true;
    c->cleanup_compact = false;
  } else if (value == "compact") {
    c->cleanup_delete = false;
    c->cleanup_compact = true;
  } else if (value == "compact,delete" || value == "delete,compact") {
    c->cleanup_delete = true;
    c->cleanup_compact = true;
  } else {
    return "expected delete, compact or compact,delete (either order)";
  }
  return "";
}

std::string PrintCleanupPolicy(const TopicConfig& c) {
  if (c.cleanup_compact && c.cleanup_delete) return "compact,delete";
  return c.cleanup_compact ? "compact" : "delete";
}

std::string PrintBool(bool b) { return b ? "true" : "false"; }

// Sorted by key.
const std::vector<Rule>& Rules() {
  static const auto* rules = new std::vector<Rule>{
      {"cleanup.policy",
       "delete old data by retention, compact to the latest value per key, or both",
       ParseCleanupPolicy, PrintCleanupPolicy},
      {"delete.retention.ms", "how long compaction keeps tombstones (records with a null value)",
       [](absl::string_view v, TopicConfig* c) { return ParseMillis(v, &c->delete_retention_ms); },
       [](const TopicConfig& c) { return absl::StrCat(c.delete_retention_ms); }},
      {"max.message.bytes", "largest record batch the topic accepts, in bytes",
       [](absl::string_view v, TopicConfig* c) -> std::string {
         int64_t n = 0;
         if (!ParseInt<int64_t>(v, 1, kInt32Max, &n)) {
           return absl::StrCat("expected a number of bytes from 1 to ", kInt32Max);
         }
         c->max_message_bytes = n;
         return "";
       },
       [](const TopicConfig& c) { return absl::StrCat(c.max_message_bytes); }},
      {"min.compaction.lag.ms", "records younger than this are never compacted away",
       [](absl::string_view v, TopicConfig* c) {
         return ParseMillis(v, &c->min_compaction_lag_ms);
       },
       [](const TopicConfig& c) { return absl::StrCat(c.min_compaction_lag_ms); }},
      {"min.insync.replicas",
       "in-sync replicas an acks=all write needs; at most the replication factor",
       [](absl::string_view v, TopicConfig* c) -> std::string {
         if (!ParseInt<int32_t>(v, 1, kInt32Max, &c->min_insync_replicas)) {
           return "expected an integer >= 1";
         }
         return "";
       },
       [](const TopicConfig& c) { return absl::StrCat(c.min_insync_replicas); }},
      {"retention.bytes", "partition size above which the oldest data is deleted; -1 = no limit",
       [](absl::string_view v, TopicConfig* c) {
         return ParseLimit(v, "bytes", &c->retention_bytes);
       },
       [](const TopicConfig& c) { return absl::StrCat(c.retention_bytes); }},
      {"retention.ms", "age after which data is deleted; -1 = forever",
       [](absl::string_view v, TopicConfig* c) {
         return ParseLimit(v, "milliseconds", &c->retention_ms);
       },
       [](const TopicConfig& c) { return absl::StrCat(c.retention_ms); }},
      {"unclean.leader.election.enable",
       "let an out-of-sync replica become leader (may lose committed data)",
       [](absl::string_view v, TopicConfig* c) -> std::string {
         if (v != "true" && v != "false") return "expected true or false";
         c->unclean_leader_election_enable = v == "true";
         return "";
       },
       [](const TopicConfig& c) { return PrintBool(c.unclean_leader_election_enable); }},
  };
  return *rules;
}

const Rule* FindRule(absl::string_view key) {
  for (const Rule& rule : Rules()) {
    if (key == rule.key) return &rule;
  }
  return nullptr;
}

}  // namespace

const std::vector<TopicConfigKey>& KnownTopicConfigKeys() {
  static const auto* keys = [] {
    const TopicConfig defaults;
    auto* out = new std::vector<TopicConfigKey>;
    for (const Rule& rule : Rules()) out->push_back({rule.key, rule.print(defaults), rule.help});
    return out;
  }();
  return *keys;
}

bool IsKnownTopicConfigKey(absl::string_view key) { return FindRule(key) != nullptr; }

absl::Status UnknownTopicConfigError(absl::string_view key) {
  std::vector<absl::string_view> known;
  for (const Rule& rule : Rules()) known.push_back(rule.key);
  return absl::InvalidArgumentError(
      absl::StrCat("unknown topic config '", key, "' (known: ", absl::StrJoin(known, ", "), ")"));
}

absl::Status InvalidTopicConfigError(absl::string_view key, absl::string_view value,
                                     absl::string_view expected) {
  return absl::InvalidArgumentError(
      absl::StrCat("invalid value '", value, "' for topic config '", key, "': ", expected));
}

absl::StatusOr<TopicConfig> ParseTopicConfig(const std::map<std::string, std::string>& overrides) {
  TopicConfig config;
  for (const auto& [key, value] : overrides) {
    const Rule* rule = FindRule(key);
    if (rule == nullptr) return UnknownTopicConfigError(key);
    std::string expected = rule->apply(value, &config);
    if (!expected.empty()) return InvalidTopicConfigError(key, value, expected);
  }
  return config;
}

}  // namespace runnel
