#include "client/perf/histogram.h"

#include <algorithm>
#include <cmath>

namespace runnel::perf {
namespace {

constexpr int kExactBits = 8;                    // values below 256 are exact
constexpr int64_t kExact = int64_t{1} << kExactBits;
constexpr int64_t kHalf = kExact / 2;            // sub-buckets per power of two above
constexpr int kBuckets = kExact + (63 - kExactBits) * kHalf;

int HighestBit(uint64_t v) { return 63 - __builtin_clzll(v); }

}  // namespace

LatencyHistogram::LatencyHistogram() : buckets_(kBuckets, 0) {}

int LatencyHistogram::BucketOf(int64_t value) {
  if (value < kExact) return static_cast<int>(value);
  // Keep the top kExactBits bits: [2^n, 2^(n+1)) splits into kHalf buckets.
  const int shift = HighestBit(static_cast<uint64_t>(value)) - (kExactBits - 1);
  return static_cast<int>(kExact + (shift - 1) * kHalf + ((value >> shift) - kHalf));
}

int64_t LatencyHistogram::UpperBound(int bucket) {
  if (bucket < kExact) return bucket;
  const int shift = (bucket - kExact) / kHalf + 1;
  const int64_t top = (bucket - kExact) % kHalf + kHalf;
  return ((top + 1) << shift) - 1;
}

void LatencyHistogram::Record(int64_t value) {
  value = std::max<int64_t>(value, 0);
  ++buckets_[BucketOf(value)];
  ++count_;
  sum_ += value;
  max_ = std::max(max_, value);
}

int64_t LatencyHistogram::Percentile(double q) const {
  if (count_ == 0) return 0;
  const int64_t rank =
      std::clamp<int64_t>(static_cast<int64_t>(std::ceil(q * count_)), 1, count_);
  int64_t seen = 0;
  for (int b = 0; b < kBuckets; ++b) {
    seen += buckets_[b];
    if (seen >= rank) return std::min(UpperBound(b), max_);
  }
  return max_;
}

}  // namespace runnel::perf
