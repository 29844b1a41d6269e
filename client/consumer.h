// Consumer: reads records from explicitly assigned partitions (consumer
// groups come later). Assign() sets where each partition starts (an offset,
// or earliest/latest resolved with ListOffsets); Poll() long-polls every
// assigned partition's leader with Fetch, one request per leader in parallel,
// and returns records in offset order per partition, advancing each
// partition's position past what it returns.
//
// When a Poll returns records, the consumer at once sends the next Fetch for
// the new positions (as Kafka's consumer does), so that brokers read the next
// records while the caller processes these; Seek and Assign discard it.
//
// Leader changes and brokers that restart are handled inside Poll by a
// metadata refresh and backoff; a partition that fails more than max_retries
// times in a row makes Poll return the error. OFFSET_OUT_OF_RANGE is returned
// at once as OUT_OF_RANGE with the broker's message (which names the valid
// range); the position is left unchanged so the caller can Seek. Records are
// never lost to an error: if some partitions returned records and another
// failed in the same round, Poll returns the records and the next Poll the
// error.
//
// Thread-safety: not thread-safe, like Kafka's consumer: use one thread.
#ifndef RUNNEL_CLIENT_CONSUMER_H_
#define RUNNEL_CLIENT_CONSUMER_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "client/metadata_cache.h"
#include "client/options.h"
#include "client/types.h"

namespace runnel::client {

// Where a partition's consumption starts.
struct StartOffset {
  enum class Kind { kOffset, kEarliest, kLatest };
  Kind kind = Kind::kLatest;
  int64_t offset = 0;  // for kOffset

  static StartOffset At(int64_t offset) { return {Kind::kOffset, offset}; }
  static StartOffset Earliest() { return {Kind::kEarliest, 0}; }
  static StartOffset Latest() { return {Kind::kLatest, 0}; }
};

struct PartitionAssignment {
  std::string topic;
  int32_t partition = 0;
  StartOffset start;
};

class Consumer {
 public:
  explicit Consumer(ConsumerOptions options);
  // Shares `metadata`; its ClientOptions apply.
  Consumer(ConsumerOptions options, std::shared_ptr<MetadataCache> metadata);

  // Cancels a prefetch in flight.
  ~Consumer();

  Consumer(const Consumer&) = delete;
  Consumer& operator=(const Consumer&) = delete;

  // Replaces the assignment. Checks that each topic exists (TopicNotFound)
  // and each partition is in range (PartitionOutOfRange), rejects duplicates,
  // and resolves earliest/latest starts with ListOffsets (retrying retriable
  // errors). An explicit offset is not checked here: a bad one surfaces as
  // OUT_OF_RANGE from Poll. On error the previous assignment is kept.
  absl::Status Assign(const std::vector<PartitionAssignment>& assignments);

  // Returns the next records, waiting up to `timeout` for at least one. An
  // empty result means none arrived in time.
  absl::StatusOr<std::vector<ConsumerRecord>> Poll(absl::Duration timeout);

  // The offset of the next record Poll returns for an assigned partition.
  absl::StatusOr<int64_t> Position(const TopicPartition& tp) const;

  // Moves an assigned partition's position.
  absl::Status Seek(const TopicPartition& tp, int64_t offset);

  // The high watermark from the partition's latest fetch, -1 before any.
  absl::StatusOr<int64_t> HighWatermark(const TopicPartition& tp) const;

  std::vector<TopicPartition> assignment() const;

  MetadataCache& metadata() { return *metadata_; }

 private:
  struct PartitionState {
    int64_t position = 0;
    int64_t high_watermark = -1;
    int failures = 0;  // consecutive retriable failures
  };

  // Resolves earliest/latest for `partitions` into `positions`.
  absl::Status ResolveStarts(const std::vector<PartitionAssignment>& partitions,
                             std::map<TopicPartition, int64_t>* positions);

  struct PendingFetch;  // one round of Fetch calls in flight; in consumer.cc

  // One parallel round of Fetch calls (the prefetched one if any); appends
  // records, returns a fatal error. Sets *back_off when a retriable failure
  // happened.
  absl::Status FetchRound(absl::Duration max_wait, std::vector<ConsumerRecord>* records,
                          bool* back_off);
  // Starts Fetch calls for every assigned partition, from its position or
  // from its offset in `next`; *out stays null when no partition has a
  // reachable leader. A prefetch gives up quietly instead of counting failures.
  absl::Status StartFetch(absl::Duration max_wait, bool prefetch,
                          const std::map<TopicPartition, int64_t>& next,
                          std::unique_ptr<PendingFetch>* out, bool* back_off);
  // Applies a settled round's answers to the partitions.
  absl::Status ProcessFetch(PendingFetch& fetch, bool cancelled,
                            std::vector<ConsumerRecord>* records, bool* back_off);
  static void CancelAndWait(PendingFetch& fetch);
  void DropPrefetch();

  // Counts a retriable failure of `tp`; returns it once max_retries is exceeded.
  absl::Status RetriableFailure(const TopicPartition& tp, const absl::Status& status);

  const ConsumerOptions options_;
  std::shared_ptr<MetadataCache> metadata_;
  std::map<TopicPartition, PartitionState> partitions_;
  absl::Status deferred_error_;  // to return from the next Poll
  std::unique_ptr<PendingFetch> prefetch_;  // the next round, already in flight
  int backoff_round_ = 0;
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_CONSUMER_H_
