#include "broker/replication/throttle.h"

#include <algorithm>
#include <cmath>

namespace runnel::replication {

TokenBucket::TokenBucket(int64_t bytes_per_second, absl::Time now)
    : rate_(std::max<int64_t>(bytes_per_second, 1)), tokens_(capacity()), last_(now) {}

double TokenBucket::capacity() const { return std::max(static_cast<double>(rate_) / 4, 1.0); }

void TokenBucket::Refill(absl::Time now) {
  if (now > last_) {
    tokens_ = std::min(capacity(), tokens_ + rate_ * absl::ToDoubleSeconds(now - last_));
    last_ = now;
  }
}

void TokenBucket::SetRate(int64_t bytes_per_second, absl::Time now) {
  Refill(now);
  rate_ = std::max<int64_t>(bytes_per_second, 1);
  tokens_ = std::min(tokens_, capacity());
}

int64_t TokenBucket::Allowance(absl::Time now) {
  Refill(now);
  return tokens_ >= 1 ? static_cast<int64_t>(std::floor(tokens_)) : 0;
}

absl::Time TokenBucket::ReadyAt(absl::Time now) {
  Refill(now);
  if (tokens_ >= 1) return now;
  return now + absl::Seconds((1 - tokens_) / static_cast<double>(rate_));
}

void TokenBucket::Consume(int64_t bytes) { tokens_ -= static_cast<double>(bytes); }

}  // namespace runnel::replication
