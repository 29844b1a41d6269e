// The Runnel client's error vocabulary, in one place: how a broker's
// per-partition ErrorCode and a gRPC status become an absl::Status, which
// failures are worth retrying, and the messages for errors the client itself
// detects (unknown topic, partition out of range, unreachable bootstrap).
//
// A status made from an ErrorCode carries the code as a payload, so retry
// logic can ask ErrorCodeOf(status) instead of parsing messages.
//
// Thread-safety: pure functions.
#ifndef RUNNEL_CLIENT_ERRORS_H_
#define RUNNEL_CLIENT_ERRORS_H_

#include <cstdint>
#include <string>

#include <grpcpp/support/status.h>

#include "absl/status/status.h"
#include "absl/strings/string_view.h"
#include "proto/runnel/v1/types.pb.h"

namespace runnel::client {

// Status for one partition's result. ERROR_CODE_NONE gives OK. The broker's
// message is kept verbatim (it names the problem, e.g. the valid offset
// range); when it is empty a description naming the topic-partition is used.
// Codes map to status codes as follows:
//   UNKNOWN_TOPIC_OR_PARTITION -> NOT_FOUND       OFFSET_OUT_OF_RANGE -> OUT_OF_RANGE
//   NOT_LEADER, LEADER_NOT_AVAILABLE, FENCED_LEADER_EPOCH, UNKNOWN_LEADER_EPOCH,
//   NOT_ENOUGH_REPLICAS -> UNAVAILABLE            REQUEST_TIMED_OUT -> DEADLINE_EXCEEDED
//   CORRUPT_BATCH -> DATA_LOSS                    BATCH_TOO_LARGE, INVALID_REQUEST ->
//   INVALID_ARGUMENT STORAGE_ERROR -> INTERNAL                     UNKNOWN and anything else ->
//   UNKNOWN UNKNOWN_MEMBER_ID, STALE_GENERATION -> ABORTED (a consumer group rebalanced under the
//   caller)
absl::Status PartitionError(runnel::v1::ErrorCode code, absl::string_view message,
                            absl::string_view topic, int32_t partition);

// The broker ErrorCode a status was made from, or ERROR_CODE_NONE.
runnel::v1::ErrorCode ErrorCodeOf(const absl::Status& status);

// Codes after which a retry may succeed (the leader moved or is being
// elected, the broker has not learnt of a new topic yet, too few in-sync
// replicas, a timeout).
bool IsRetriable(runnel::v1::ErrorCode code);

// Codes after which the client's metadata is probably stale.
bool NeedsMetadataRefresh(runnel::v1::ErrorCode code);

// A status is retriable if it carries a retriable ErrorCode, or if it has no
// ErrorCode and is UNAVAILABLE or DEADLINE_EXCEEDED (a transport failure).
bool IsRetriable(const absl::Status& status);

// UNAVAILABLE or DEADLINE_EXCEEDED without an ErrorCode: the call did not
// reach a server that could answer it (connection refused, timeout).
bool IsTransportFailure(const absl::Status& status);

// `status` with "<what>: " before its message (same code, no payload).
absl::Status WithContext(const absl::Status& status, absl::string_view what);

// gRPC status -> absl status (the codes correspond one to one).
absl::Status FromGrpcStatus(const grpc::Status& status);

// "cannot reach bootstrap broker 127.0.0.1:1: <grpc message>", UNAVAILABLE,
// marked so that IsBootstrapUnreachable recognises it.
absl::Status BootstrapUnreachable(absl::string_view address, absl::string_view detail);
bool IsBootstrapUnreachable(const absl::Status& status);

// NOT_FOUND "topic 'orders' not found".
absl::Status TopicNotFound(absl::string_view topic);

// INVALID_ARGUMENT "partition 5 out of range for topic 'orders' (3 partitions: 0-2)".
absl::Status PartitionOutOfRange(absl::string_view topic, int64_t partition,
                                 int32_t num_partitions);

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_ERRORS_H_
