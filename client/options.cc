#include "client/options.h"

#include <algorithm>

namespace runnel::client {

absl::Duration RetryBackoff(const ClientOptions& options, int attempt) {
  absl::Duration d = options.retry_backoff;
  for (int i = 0; i < attempt && d < options.retry_backoff_max; ++i) d *= 2;
  return std::min(d, options.retry_backoff_max);
}

}  // namespace runnel::client
