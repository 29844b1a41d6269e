#include "client/types.h"

#include "absl/strings/str_cat.h"

namespace runnel::client {

std::string ToString(const TopicPartition& tp) { return absl::StrCat(tp.topic, "-", tp.partition); }

absl::Status ValidateTopicName(absl::string_view name) {
  bool ok = !name.empty() && name.size() <= 249 && name != "." && name != "..";
  for (char c : name) {
    bool legal = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                 c == '.' || c == '_' || c == '-';
    if (!legal) ok = false;
  }
  if (ok) return absl::OkStatus();
  return absl::InvalidArgumentError(
      absl::StrCat("invalid topic name '", name,
                   "': use 1-249 characters from [A-Za-z0-9._-], other than '.' and '..'"));
}

}  // namespace runnel::client
