// LatencyHistogram: a fixed-size, log-linear histogram of non-negative
// integer samples (runnel-perf records microseconds), for percentiles without
// keeping every sample. Values below 256 are exact; larger ones are kept to 8
// significant bits, so any percentile is within 0.4% of the true sample.
// Recording is a few arithmetic operations and one increment.
//
// Thread-safety: none; one writer, or external synchronisation.
#ifndef RUNNEL_CLIENT_PERF_HISTOGRAM_H_
#define RUNNEL_CLIENT_PERF_HISTOGRAM_H_

#include <cstdint>
#include <vector>

namespace runnel::perf {

class LatencyHistogram {
 public:
  LatencyHistogram();

  // Negative values count as 0.
  void Record(int64_t value);

  int64_t count() const { return count_; }
  int64_t max() const { return max_; }
  double mean() const { return count_ == 0 ? 0.0 : static_cast<double>(sum_) / count_; }

  // The smallest recorded value v such that a fraction q (0 < q <= 1) of the
  // samples is <= v, up to the bucket precision; 0 when empty.
  int64_t Percentile(double q) const;

 private:
  static int BucketOf(int64_t value);
  static int64_t UpperBound(int bucket);  // largest value in the bucket

  std::vector<int64_t> buckets_;
  int64_t count_ = 0;
  int64_t sum_ = 0;
  int64_t max_ = 0;
};

}  // namespace runnel::perf

#endif  // RUNNEL_CLIENT_PERF_HISTOGRAM_H_
