#include "coordinator/topics/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "common/topic_config.h"
#include "coordinator/errors.h"

namespace runnel::coordinator::topics {
namespace {

bool IsTopicNameChar(char c) {
  return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
}

}  // namespace

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
  absl::StatusOr<TopicConfig> config = ParseTopicConfig(configs);
  if (!config.ok()) return config.status();
  if (config->min_insync_replicas > replication_factor) {
    return InvalidTopicConfigError(
        "min.insync.replicas", absl::StrCat(config->min_insync_replicas),
        absl::StrCat("expected an integer from 1 to the replication factor ", replication_factor));
  }
  return absl::OkStatus();
}

}  // namespace runnel::coordinator::topics
