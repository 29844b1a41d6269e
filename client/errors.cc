#include "client/errors.h"

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace runnel::client {
namespace {

using runnel::v1::ErrorCode;

constexpr char kErrorCodeUrl[] = "type.runnel.dev/runnel.v1.ErrorCode";
constexpr char kBootstrapUrl[] = "type.runnel.dev/runnel.client.BootstrapUnreachable";

absl::StatusCode StatusCodeFor(ErrorCode code) {
  switch (code) {
    case runnel::v1::ERROR_CODE_NONE:
      return absl::StatusCode::kOk;
    case runnel::v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION:
      return absl::StatusCode::kNotFound;
    case runnel::v1::ERROR_CODE_OFFSET_OUT_OF_RANGE:
      return absl::StatusCode::kOutOfRange;
    case runnel::v1::ERROR_CODE_NOT_LEADER:
    case runnel::v1::ERROR_CODE_LEADER_NOT_AVAILABLE:
    case runnel::v1::ERROR_CODE_FENCED_LEADER_EPOCH:
    case runnel::v1::ERROR_CODE_UNKNOWN_LEADER_EPOCH:
    case runnel::v1::ERROR_CODE_NOT_ENOUGH_REPLICAS:
      return absl::StatusCode::kUnavailable;
    case runnel::v1::ERROR_CODE_REQUEST_TIMED_OUT:
      return absl::StatusCode::kDeadlineExceeded;
    case runnel::v1::ERROR_CODE_CORRUPT_BATCH:
      return absl::StatusCode::kDataLoss;
    case runnel::v1::ERROR_CODE_BATCH_TOO_LARGE:
    case runnel::v1::ERROR_CODE_INVALID_REQUEST:
      return absl::StatusCode::kInvalidArgument;
    case runnel::v1::ERROR_CODE_STORAGE_ERROR:
      return absl::StatusCode::kInternal;
    case runnel::v1::ERROR_CODE_UNKNOWN_MEMBER_ID:
    case runnel::v1::ERROR_CODE_STALE_GENERATION:
      return absl::StatusCode::kAborted;
    default:
      return absl::StatusCode::kUnknown;
  }
}

// Used when the broker sent no message.
const char* Describe(ErrorCode code) {
  switch (code) {
    case runnel::v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION:
      return "unknown topic or partition";
    case runnel::v1::ERROR_CODE_NOT_LEADER:
      return "broker is not the partition's leader";
    case runnel::v1::ERROR_CODE_OFFSET_OUT_OF_RANGE:
      return "offset out of range";
    case runnel::v1::ERROR_CODE_CORRUPT_BATCH:
      return "corrupt record batch";
    case runnel::v1::ERROR_CODE_BATCH_TOO_LARGE:
      return "record batch too large";
    case runnel::v1::ERROR_CODE_INVALID_REQUEST:
      return "invalid request";
    case runnel::v1::ERROR_CODE_NOT_ENOUGH_REPLICAS:
      return "not enough in-sync replicas";
    case runnel::v1::ERROR_CODE_FENCED_LEADER_EPOCH:
      return "leader epoch is stale";
    case runnel::v1::ERROR_CODE_UNKNOWN_LEADER_EPOCH:
      return "leader epoch is newer than the broker's";
    case runnel::v1::ERROR_CODE_LEADER_NOT_AVAILABLE:
      return "partition has no leader";
    case runnel::v1::ERROR_CODE_REQUEST_TIMED_OUT:
      return "request timed out";
    case runnel::v1::ERROR_CODE_STORAGE_ERROR:
      return "broker storage error";
    case runnel::v1::ERROR_CODE_UNKNOWN_MEMBER_ID:
      return "not a member of the group (removed after its session timeout?)";
    case runnel::v1::ERROR_CODE_STALE_GENERATION:
      return "partition no longer owned by this member (the group rebalanced)";
    default:
      return "unknown broker error";
  }
}

}  // namespace

absl::Status PartitionError(ErrorCode code, absl::string_view message, absl::string_view topic,
                            int32_t partition) {
  if (code == runnel::v1::ERROR_CODE_NONE) return absl::OkStatus();
  std::string text = message.empty()
                         ? absl::StrCat(Describe(code), " (", topic, "-", partition, ")")
                         : std::string(message);
  absl::Status status(StatusCodeFor(code), text);
  status.SetPayload(kErrorCodeUrl, absl::Cord(absl::StrCat(static_cast<int>(code))));
  return status;
}

ErrorCode ErrorCodeOf(const absl::Status& status) {
  absl::optional<absl::Cord> payload = status.GetPayload(kErrorCodeUrl);
  int code = 0;
  if (!payload.has_value() || !absl::SimpleAtoi(std::string(*payload), &code) ||
      !runnel::v1::ErrorCode_IsValid(code)) {
    return runnel::v1::ERROR_CODE_NONE;
  }
  return static_cast<ErrorCode>(code);
}

bool IsRetriable(ErrorCode code) {
  switch (code) {
    case runnel::v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION:
    case runnel::v1::ERROR_CODE_NOT_LEADER:
    case runnel::v1::ERROR_CODE_NOT_ENOUGH_REPLICAS:
    case runnel::v1::ERROR_CODE_FENCED_LEADER_EPOCH:
    case runnel::v1::ERROR_CODE_UNKNOWN_LEADER_EPOCH:
    case runnel::v1::ERROR_CODE_LEADER_NOT_AVAILABLE:
    case runnel::v1::ERROR_CODE_REQUEST_TIMED_OUT:
      return true;
    default:
      return false;
  }
}

bool NeedsMetadataRefresh(ErrorCode code) {
  switch (code) {
    case runnel::v1::ERROR_CODE_UNKNOWN_TOPIC_OR_PARTITION:
    case runnel::v1::ERROR_CODE_NOT_LEADER:
    case runnel::v1::ERROR_CODE_FENCED_LEADER_EPOCH:
    case runnel::v1::ERROR_CODE_UNKNOWN_LEADER_EPOCH:
    case runnel::v1::ERROR_CODE_LEADER_NOT_AVAILABLE:
      return true;
    default:
      return false;
  }
}

bool IsRetriable(const absl::Status& status) {
  ErrorCode code = ErrorCodeOf(status);
  if (code != runnel::v1::ERROR_CODE_NONE) return IsRetriable(code);
  return IsTransportFailure(status);
}

bool IsTransportFailure(const absl::Status& status) {
  return ErrorCodeOf(status) == runnel::v1::ERROR_CODE_NONE &&
         (status.code() == absl::StatusCode::kUnavailable ||
          status.code() == absl::StatusCode::kDeadlineExceeded);
}

absl::Status WithContext(const absl::Status& status, absl::string_view what) {
  return absl::Status(status.code(), absl::StrCat(what, ": ", status.message()));
}

absl::Status FromGrpcStatus(const grpc::Status& status) {
  if (status.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(status.error_code()), status.error_message());
}

absl::Status BootstrapUnreachable(absl::string_view address, absl::string_view detail) {
  absl::Status status = absl::UnavailableError(
      absl::StrCat("cannot reach bootstrap broker ", address, ": ", detail));
  status.SetPayload(kBootstrapUrl, absl::Cord(address));
  return status;
}

bool IsBootstrapUnreachable(const absl::Status& status) {
  return status.GetPayload(kBootstrapUrl).has_value();
}

absl::Status TopicNotFound(absl::string_view topic) {
  return absl::NotFoundError(absl::StrCat("topic '", topic, "' not found"));
}

absl::Status PartitionOutOfRange(absl::string_view topic, int64_t partition,
                                 int32_t num_partitions) {
  std::string valid = num_partitions == 1 ? "0" : absl::StrCat("0-", num_partitions - 1);
  return absl::InvalidArgumentError(absl::StrCat(
      "partition ", partition, " out of range for topic '", topic, "' (", num_partitions,
      num_partitions == 1 ? " partition: " : " partitions: ", valid, ")"));
}

}  // namespace runnel::client
