// Per-partition errors of the broker's request path. Core code returns
// absl::Status; a status made by PartitionError carries the exact
// runnel.v1.ErrorCode as a payload, so the response can say NOT_LEADER rather
// than a generic FAILED_PRECONDITION. Statuses from elsewhere (storage, the
// codec) map by their canonical code.
// Thread-safety: pure functions.
#ifndef RUNNEL_BROKER_REPLICATION_ERRORS_H_
#define RUNNEL_BROKER_REPLICATION_ERRORS_H_

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::replication {

// A status with `code`'s canonical absl code, `message`, and `code` attached.
absl::Status PartitionError(runnel::v1::ErrorCode code, absl::string_view message);

// The ErrorCode a status stands for (ERROR_CODE_NONE for OK).
runnel::v1::ErrorCode ErrorCodeOf(const absl::Status& status);

// Fills error_code and error_message of any per-partition response message.
template <typename Response>
void SetPartitionError(const absl::Status& status, Response* response) {
  response->set_error_code(ErrorCodeOf(status));
  response->set_error_message(std::string(status.message()));
}

}  // namespace runnel::replication

#endif  // RUNNEL_BROKER_REPLICATION_ERRORS_H_
