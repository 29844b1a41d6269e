// A fresh directory for a test or benchmark: under $TEST_TMPDIR (Bazel's
// per-test temp dir, removed by Bazel) or /tmp, named PREFIX-XXXXXX.
//
// Thread-safety: safe to call from any thread (mkdtemp picks unique names).
#ifndef RUNNEL_COMMON_TEMP_DIR_H_
#define RUNNEL_COMMON_TEMP_DIR_H_

#include <string>

#include "absl/strings/string_view.h"

namespace runnel {

// The new directory's path. Aborts with a message if it cannot be made:
// nothing that asks for one can go on without it.
std::string MakeTempDir(absl::string_view prefix);

}  // namespace runnel

#endif  // RUNNEL_COMMON_TEMP_DIR_H_
