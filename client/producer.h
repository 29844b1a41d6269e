// Producer: publishes records to topics. Send() picks the partition (explicit,
// hashed key like Kafka's default partitioner, or sticky round robin for
// records without a key), and appends the record to that partition's open
// batch. A batch is sealed when it reaches batch_bytes; sealed batches are
// sent at once, and Flush() seals and sends everything. Sending groups
// batches by leader broker into one Produce RPC per broker, retries retriable
// failures (leader moved, broker restarting...) with a metadata refresh and
// backoff until delivery_timeout, and reports each record's fate (its offset
// or an error) to the callback given to Send.
//
// Today sending happens inside Send (when a batch fills) and Flush, on the
// calling thread; a later version adds a background sender with linger.ms and
// buffer.memory. Code written against this API keeps working if it does not
// assume on which thread callbacks run, and calls Flush before relying on
// delivery.
//
// Retries can duplicate a record whose first attempt reached the broker but
// whose reply was lost (no idempotence yet). Records of one partition are
// never reordered by retries.
//
// Thread-safety: Send and Flush may be called from several threads; batches
// of one partition are sent in order. Callbacks run with no lock held and may
// call Send or Flush.
#ifndef RUNNEL_CLIENT_PRODUCER_H_
#define RUNNEL_CLIENT_PRODUCER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "client/metadata_cache.h"
#include "client/options.h"
#include "client/partitioner.h"
#include "client/types.h"
#include "proto/batch/record_batch.h"

namespace runnel::client {

struct ProducerRecord {
  std::string topic;
  std::optional<std::string> key;    // nullopt: no key (sticky partitioning)
  std::optional<std::string> value;  // nullopt: a tombstone
  Headers headers;
  std::optional<int32_t> partition;     // set: overrides the partitioner
  std::optional<int64_t> timestamp_ms;  // unset: the time of Send
};

// Where a record was written.
struct RecordMetadata {
  std::string topic;
  int32_t partition = 0;
  int64_t offset = -1;  // -1 with acks=none (the broker does not say)
  int64_t timestamp_ms = 0;
};

using DeliveryCallback = std::function<void(const absl::StatusOr<RecordMetadata>&)>;

class Producer {
 public:
  explicit Producer(ProducerOptions options);
  // Shares `metadata` (e.g. with an Admin or Consumer); its ClientOptions apply.
  Producer(ProducerOptions options, std::shared_ptr<MetadataCache> metadata);

  // Records still buffered are failed with CANCELLED (call Flush first).
  ~Producer();

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Buffers a record. Errors that no retry can fix are returned at once, and
  // the callback is then not called: invalid topic name, unknown topic,
  // partition out of range, a record larger than max_request_bytes, or no
  // reachable broker for the first metadata lookup. Otherwise the callback
  // (if any) later receives the record's metadata or delivery error. May
  // block while sealed batches are sent.
  absl::Status Send(ProducerRecord record, DeliveryCallback on_delivery = nullptr);

  // Sends every buffered record and waits for the outcomes. Returns OK if
  // every record sent since the previous Flush was delivered, else the first
  // delivery error (each record's own outcome went to its callback).
  absl::Status Flush();

  // Records accepted by Send whose outcome is not known yet.
  size_t pending_records() const;

  MetadataCache& metadata() { return *metadata_; }

 private:
  struct Pending {
    DeliveryCallback callback;
    int64_t timestamp_ms = 0;
  };
  struct OpenBatch {
    runnel::batch::BatchBuilder builder;
    std::vector<Pending> records;
    int32_t num_partitions = 1;  // of the topic, for the sticky partitioner
    explicit OpenBatch(runnel::batch::Compression c) : builder(c) {}
  };
  struct SealedBatch {
    TopicPartition tp;
    std::string bytes;
    std::vector<Pending> records;
    absl::Time sealed_at;
    uint64_t sequence = 0;     // seal order: keeps a partition's batches in order
    absl::Status build_error;  // encoding failed: fails without being sent
    absl::Status last_error;   // why the last attempt failed, for the timeout message
  };
  // A record's outcome, delivered to its callback after locks are released.
  using Completion = std::pair<DeliveryCallback, absl::StatusOr<RecordMetadata>>;

  void SealLocked(const TopicPartition& tp) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Sends the sealed batches (all open ones first if `seal_all`) and returns
  // the first delivery failure since the last Flush when `flushing`.
  absl::Status SendSealed(bool seal_all, bool flushing);
  // The delivery loop: sends in rounds until every batch succeeded, failed
  // for good, or timed out. Returns the completions.
  std::vector<Completion> Deliver(std::deque<SealedBatch> batches);
  void Complete(const SealedBatch& batch, const absl::StatusOr<int64_t>& base_offset,
                std::vector<Completion>* done);

  const ProducerOptions options_;
  std::shared_ptr<MetadataCache> metadata_;

  // Lock order: send_mu_ before mu_. send_mu_ is held while delivering, so
  // batches of a partition leave in seal order.
  absl::Mutex send_mu_;
  mutable absl::Mutex mu_;
  std::map<TopicPartition, OpenBatch> open_ ABSL_GUARDED_BY(mu_);
  std::deque<SealedBatch> sealed_ ABSL_GUARDED_BY(mu_);
  StickyPartitioner sticky_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  absl::Status first_failure_ ABSL_GUARDED_BY(mu_);
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_PRODUCER_H_
