#include "coordinator/topics/validation.h"

#include <functional>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "coordinator/errors.h"

namespace runnel::coordinator::topics {
namespace {

// Checks one value; returns what was expected when it is not valid ("" if ok).
using ValueCheck = std::function<std::string(absl::string_view value, int32_t rf)>;

struct ConfigRule {
  TopicConfigDef def;
  ValueCheck check;
};

// A long of at least -1, -1 meaning "no limit".
std::string LongOrUnlimited(absl::string_view value, absl::string_view unit) {
  int64_t n = 0;
  if (absl::SimpleAtoi(value, &n) && n >= -1) return "";
  return absl::StrCat("expected a number of ", unit, " >= 0, or -1 for no limit");
}

std::string OneOf(absl::string_view value, const std::vector<absl::string_view>& allowed) {
  for (absl::string_view a : allowed) {
    if (value == a) return "";
  }
  return absl::StrCat("expected one of ", absl::StrJoin(allowed, ", "));
}

const std::vector<ConfigRule>& Rules() {
  static const auto* rules = new std::vector<ConfigRule>{
      {{"cleanup.policy", "delete",
        "delete old segments by retention, compact to the latest value per key, or both"},
       [](absl::string_view v, int32_t) {
         return OneOf(v, {"delete", "compact", "compact,delete", "delete,compact"});
       }},
      {{"max.message.bytes", "1048576", "largest record batch the topic accepts, in bytes"},
       [](absl::string_view v, int32_t) -> std::string {
         int32_t n = 0;
         if (absl::SimpleAtoi(v, &n) && n > 0) return "";
         return "expected an integer > 0";
       }},
      {{"min.insync.replicas", "1",
        "in-sync replicas an acks=all write needs; at most the replication factor"},
       [](absl::string_view v, int32_t rf) -> std::string {
         int32_t n = 0;
         if (absl::SimpleAtoi(v, &n) && n >= 1 && n <= rf) return "";
         return absl::StrCat("expected an integer from 1 to the replication factor ", rf);
       }},
      {{"retention.bytes", "-1", "partition size above which old data is deleted; -1 = no limit"},
       [](absl::string_view v, int32_t) { return LongOrUnlimited(v, "bytes"); }},
      {{"retention.ms", "604800000", "age after which data is deleted; -1 = forever"},
       [](absl::string_view v, int32_t) { return LongOrUnlimited(v, "milliseconds"); }},
      {{"unclean.leader.election.enable", "false",
        "let an out-of-sync replica become leader (may lose committed data)"},
       [](absl::string_view v, int32_t) {
         return OneOf(v, {"true", "false"});
       }},
  };
  return *rules;
}

bool IsTopicNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

}  // namespace

const std::vector<TopicConfigDef>& KnownTopicConfigs() {
  static const auto* defs = [] {
    auto* out = new std::vector<TopicConfigDef>;
    for (const ConfigRule& rule : Rules()) out->push_back(rule.def);
    return out;
  }();
  return *defs;
}

absl::Status ValidateTopicName(absl::string_view name) {
  if (name == "." || name == "..") {
    return InvalidTopicNameError(name, "'.' and '..' are reserved");
  }
  bool ok = !name.empty() && name.size() <= kMaxTopicNameLength;
  for (char c : name) ok = ok && IsTopicNameChar(c);
  if (!ok) {
    return InvalidTopicNameError(
        name, absl::StrCat("use 1-", kMaxTopicNameLength, " characters from [A-Za-z0-9._-]"));
  }
  return absl::OkStatus();
}

absl::Status ValidatePartitionCount(int32_t partitions) {
  if (partitions < 1) {
    return absl::InvalidArgumentError(absl::StrCat("partitions must be >= 1, got ", partitions));
  }
  if (partitions > kMaxPartitions) {
    return absl::InvalidArgumentError(
        absl::StrCat("partitions must be <= ", kMaxPartitions, ", got ", partitions));
  }
  return absl::OkStatus();
}

absl::StatusOr<int32_t> EffectiveReplicationFactor(int32_t replication_factor) {
  if (replication_factor < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("replication factor must be >= 1 (0 means 1), got ", replication_factor));
  }
  return replication_factor == 0 ? 1 : replication_factor;
}

absl::Status ValidateTopicConfigs(const std::map<std::string, std::string>& configs,
                                  int32_t replication_factor) {
  for (const auto& [key, value] : configs) {
    const ConfigRule* rule = nullptr;
    for (const ConfigRule& r : Rules()) {
      if (r.def.key == key) rule = &r;
    }
    if (rule == nullptr) {
      std::vector<absl::string_view> known;
      for (const ConfigRule& r : Rules()) known.push_back(r.def.key);
      return UnknownTopicConfigError(key, absl::StrJoin(known, ", "));
    }
    std::string expected = rule->check(value, replication_factor);
    if (!expected.empty()) return InvalidTopicConfigError(key, value, expected);
  }
  return absl::OkStatus();
}

}  // namespace runnel::coordinator::topics
