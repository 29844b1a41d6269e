// Error helpers of the batch codec, so every check reports in the same shape.
// Corrupt or unsupported input is InvalidArgument (the caller sent bad bytes);
// a size over a caller-set limit is ResourceExhausted.
//
// Thread-safety: stateless free functions.
#ifndef RUNNEL_PROTO_BATCH_ERRORS_H_
#define RUNNEL_PROTO_BATCH_ERRORS_H_

#include <string>

#include "absl/status/status.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/string_view.h"

namespace runnel::batch {

// InvalidArgument with the pieces concatenated, e.g.
// Corrupt("record 3: key length ", n, " is negative").
template <typename... Args>
absl::Status Corrupt(const Args&... args) {
  return absl::InvalidArgumentError(absl::StrCat(args...));
}

// Same code, message prefixed with where the error happened ("batch 2 at byte
// 4096: ..."). OK stays OK.
inline absl::Status WithContext(const absl::Status& status, absl::string_view context) {
  if (status.ok()) return status;
  return absl::Status(status.code(), absl::StrCat(context, ": ", status.message()));
}

}  // namespace runnel::batch

#endif  // RUNNEL_PROTO_BATCH_ERRORS_H_
