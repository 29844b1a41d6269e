// Conversions between absl::Status (used by all core logic) and grpc::Status
// (used only at service edges). The codes correspond one to one.
// Thread-safety: pure functions.
#ifndef RUNNEL_COMMON_GRPC_STATUS_H_
#define RUNNEL_COMMON_GRPC_STATUS_H_

#include <grpcpp/support/status.h>

#include "absl/status/status.h"

namespace runnel {

inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  if (s.ok()) return grpc::Status::OK;
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  if (s.ok()) return absl::OkStatus();
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace runnel

#endif  // RUNNEL_COMMON_GRPC_STATUS_H_
