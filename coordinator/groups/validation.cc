#include "coordinator/groups/validation.h"

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "coordinator/errors.h"
#include "coordinator/groups/assignor.h"
#include "coordinator/topics/validation.h"

namespace runnel::coordinator::groups {
namespace {

absl::Status InField(absl::string_view field, const absl::Status& s) {
  if (s.ok()) return s;
  return absl::Status(s.code(), absl::StrCat(field, ": ", s.message()));
}

}  // namespace

absl::Status ValidateGroupId(absl::string_view id) {
  bool ok = !id.empty() && id.size() <= kMaxGroupIdLength;
  for (char c : id) {
    ok = ok &&
         (absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-');
  }
  if (ok) return absl::OkStatus();
  return InvalidGroupIdError(
      id, absl::StrCat("use 1-", kMaxGroupIdLength, " characters from [A-Za-z0-9._-]"));
}

absl::StatusOr<absl::Duration> EffectiveSessionTimeout(int32_t ms) {
  if (ms == 0) ms = kDefaultSessionTimeoutMs;
  if (ms < kMinSessionTimeoutMs || ms > kMaxSessionTimeoutMs) {
    return absl::InvalidArgumentError(
        absl::StrCat("session_timeout_ms must be from ", kMinSessionTimeoutMs, " to ",
                     kMaxSessionTimeoutMs, " (0 means ", kDefaultSessionTimeoutMs, "), got ", ms));
  }
  return absl::Milliseconds(ms);
}

absl::StatusOr<absl::Duration> EffectiveRebalanceTimeout(int32_t ms) {
  if (ms == 0) ms = kDefaultRebalanceTimeoutMs;
  if (ms < 1 || ms > kMaxRebalanceTimeoutMs) {
    return absl::InvalidArgumentError(absl::StrCat("rebalance_timeout_ms must be from 1 to ",
                                                   kMaxRebalanceTimeoutMs, " (0 means ",
                                                   kDefaultRebalanceTimeoutMs, "), got ", ms));
  }
  return absl::Milliseconds(ms);
}

absl::StatusOr<std::string> EffectiveAssignor(absl::string_view name) {
  if (name.empty()) return std::string(kDefaultAssignor);
  if (!IsKnownAssignor(name)) return InField("assignor", UnknownAssignorError(name));
  return std::string(name);
}

absl::StatusOr<std::set<std::string>> ParseSubscription(
    const google::protobuf::RepeatedPtrField<std::string>& topics) {
  std::set<std::string> out;
  for (const std::string& topic : topics) {
    if (absl::Status s = topics::ValidateTopicName(topic); !s.ok()) {
      return InField("subscribed_topics", s);
    }
    out.insert(topic);
  }
  return out;
}

absl::StatusOr<PartitionSet> ParsePartitions(absl::string_view field,
                                             const TopicPartitionsList& list) {
  for (const v1::TopicPartitions& tp : list) {
    if (absl::Status s = topics::ValidateTopicName(tp.topic()); !s.ok()) return InField(field, s);
    for (int32_t p : tp.partitions()) {
      if (p < 0) {
        return absl::InvalidArgumentError(
            absl::StrCat(field, ": partition ", p, " of topic '", tp.topic(), "' is negative"));
      }
    }
  }
  return FromProto(list);
}

absl::Status ValidateOffset(const v1::PartitionOffset& offset) {
  const std::string partition = PartitionName(offset.topic(), offset.partition());
  if (absl::Status s = topics::ValidateTopicName(offset.topic()); !s.ok()) return s;
  if (offset.partition() < 0) {
    return absl::InvalidArgumentError(absl::StrCat(
        "partition must be >= 0, got ", offset.partition(), " for topic '", offset.topic(), "'"));
  }
  if (offset.offset() < 0) {
    return absl::InvalidArgumentError(
        absl::StrCat("offset must be >= 0, got ", offset.offset(), " for ", partition));
  }
  if (offset.metadata().size() > kMaxOffsetMetadataBytes) {
    return absl::InvalidArgumentError(
        absl::StrCat("metadata of ", partition, " is ", offset.metadata().size(),
                     " bytes, more than the limit of ", kMaxOffsetMetadataBytes));
  }
  return absl::OkStatus();
}

}  // namespace runnel::coordinator::groups
