#include "client/types.h"

#include "absl/strings/str_cat.h"

namespace runnel::client {

std::string ToString(const TopicPartition& tp) { return absl::StrCat(tp.topic, "-", tp.partition); }

std::ostream& operator<<(std::ostream& out, const TopicPartition& tp) {
  return out << ToString(tp);
}

namespace {

// 1-249 characters from [A-Za-z0-9._-]: the rule topic names and group ids share.
bool LegalName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 249;
  for (char c : name) {
    bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
    if (!legal) ok = false;
  }
  return ok;
}

}  // namespace

absl::Status ValidateTopicName(absl::string_view name) {
  if (LegalName(name) && name != "." && name != "..") return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid topic name '", name,
                   "': use 1-249 characters from [A-Za-z0-9._-], other than '.' and '..'"));
}

absl::Status ValidateGroupId(absl::string_view id) {
  if (LegalName(id)) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid group id '", id, "': use 1-249 characters from [A-Za-z0-9._-]"));
}

}  // namespace runnel::client
