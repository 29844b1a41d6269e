#include "broker/replication/errors.h"

#include <string>

#include "absl/strings/cord.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace runnel::replication {

namespace {
constexpr char kPayloadUrl[] = "type.runnel.dev/runnel.v1.ErrorCode";

absl::StatusCode CanonicalCode(runnel::v1::ErrorCode code) {
  using runnel::v1::ErrorCode;
  switch (code) {
    case ErrorCode::ERROR_CODE_NONE:
      return absl::StatusCode::kOk;
    case ErrorCode::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION:
      return absl::StatusCode::kNotFound;
    case ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case ErrorCode::ERROR_CODE_CORRUPT_BATCH:
    case ErrorCode::ERROR_CODE_INVALID_REQUEST:
      return absl::StatusCode::kInvalidArgument;
    case ErrorCode::ERROR_CODE_BATCH_TOO_LARGE:
      return absl::StatusCode::kResourceExhausted;
    case ErrorCode::ERROR_CODE_NOT_LEADER:
    case ErrorCode::ERROR_CODE_FENCED_LEADER_EPOCH:
    case ErrorCode::ERROR_CODE_UNKNOWN_LEADER_EPOCH:
      return absl::StatusCode::kFailedPrecondition;
    case ErrorCode::ERROR_CODE_LEADER_NOT_AVAILABLE:
    case ErrorCode::ERROR_CODE_NOT_ENOUGH_REPLICAS:
      return absl::StatusCode::kUnavailable;
    case ErrorCode::ERROR_CODE_REQUEST_TIMED_OUT:
      return absl::StatusCode::kDeadlineExceeded;
    case ErrorCode::ERROR_CODE_STORAGE_ERROR:
      return absl::StatusCode::kInternal;
    default:
      return absl::StatusCode::kUnknown;
  }
}
}  // namespace

absl::Status PartitionError(runnel::v1::ErrorCode code, absl::string_view message) {
  absl::Status s(CanonicalCode(code), message);
  s.SetPayload(kPayloadUrl, absl::Cord(absl::StrCat(static_cast<int>(code))));
  return s;
}

runnel::v1::ErrorCode ErrorCodeOf(const absl::Status& status) {
  using runnel::v1::ErrorCode;
  if (status.ok()) return ErrorCode::ERROR_CODE_NONE;
  if (auto payload = status.GetPayload(kPayloadUrl)) {
    int code = 0;
    if (absl::SimpleAtoi(std::string(*payload), &code) && runnel::v1::ErrorCode_IsValid(code)) {
      return static_cast<ErrorCode>(code);
    }
  }
  switch (status.code()) {
    case absl::StatusCode::kNotFound:
      return ErrorCode::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION;
    case absl::StatusCode::kOutOfRange:
      return ErrorCode::ERROR_CODE_OFFSET_OUT_OF_RANGE;
    case absl::StatusCode::kInvalidArgument:
      return ErrorCode::ERROR_CODE_INVALID_REQUEST;
    case absl::StatusCode::kResourceExhausted:
      return ErrorCode::ERROR_CODE_BATCH_TOO_LARGE;
    case absl::StatusCode::kDeadlineExceeded:
      return ErrorCode::ERROR_CODE_REQUEST_TIMED_OUT;
    case absl::StatusCode::kInternal:
    case absl::StatusCode::kDataLoss:
    case absl::StatusCode::kAborted:
      return ErrorCode::ERROR_CODE_STORAGE_ERROR;
    default:
      return ErrorCode::ERROR_CODE_UNKNOWN;
  }
}

}  // namespace runnel::replication
