// Producer: publishes records to topics. Send() picks the partition (explicit,
// hashed key like Kafka's default partitioner, or sticky round robin for
// records without a key) and appends the record to that partition's open
// batch, then returns; a background sender thread delivers batches and
// reports each record's fate (its offset or an error) to the callback given
// to Send. This is Kafka's producer design:
//
//  - Batching: a partition's open batch is sealed when it reaches batch_bytes
//    or when it has waited `linger` (Kafka's linger.ms), whichever is first.
//    Flush() seals everything at once.
//  - Pipelining: sealed batches are grouped by leader broker into Produce
//    requests of up to max_request_bytes; up to max_in_flight_requests per
//    broker are outstanding at a time. A partition has at most one request in
//    flight (its later batches wait and then go together in the next one), so
//    retries can never reorder a partition's records.
//  - Bounded memory: records waiting or in flight take at most buffer_memory
//    bytes; Send blocks while the buffer is full, up to max_block.
//  - Retries: retriable failures (leader moved, broker restarting...) are
//    retried with a metadata refresh and backoff until delivery_timeout,
//    counted from when the record's batch was opened (Kafka's
//    delivery.timeout.ms: linger, waiting and retries all count).
//  - Compression: batches are compressed with `compression` as they are sealed.
//  - Outcomes: through a callback (Send) or a future (SendFuture).
//  - Close(timeout) delivers what it can within the timeout, then cancels
//    the rest; destroying the producer is Close(0).
//
// Retries can duplicate a record whose first attempt reached the broker but
// whose reply was lost (no idempotence yet).
//
// Thread-safety: Send, SendFuture and Flush may be called from several
// threads; Close from one. Delivery callbacks (and futures) complete on the
// producer's sender thread, one at a time and with no lock held: keep them
// short (they delay sending). A callback may call Send (which then never
// blocks on a full buffer) but not Flush or Close (FailedPrecondition: they
// would wait for themselves).
#ifndef RUNNEL_CLIENT_PRODUCER_H_
#define RUNNEL_CLIENT_PRODUCER_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <thread>
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

  // Close(0): records not yet sent fail with CANCELLED, and requests in
  // flight are cancelled (call Flush or Close(timeout) first to deliver).
  ~Producer();

  Producer(const Producer&) = delete;
  Producer& operator=(const Producer&) = delete;

  // Buffers a record. Errors that no retry can fix are returned at once, and
  // the callback is then not called: invalid topic name, unknown topic,
  // partition out of range, a record larger than max_request_bytes or
  // buffer_memory, or no reachable broker for the first metadata lookup; also
  // RESOURCE_EXHAUSTED when the buffer stayed full for max_block. Otherwise
  // the callback (if any) later receives the record's metadata or delivery
  // error. Blocks while the buffer is full.
  absl::Status Send(ProducerRecord record, DeliveryCallback on_delivery = nullptr);

  // As Send, but the outcome comes as a future instead of a callback: the
  // record's metadata or its delivery error, or at once the error Send
  // would have returned. The future is fulfilled on the sender thread.
  std::future<absl::StatusOr<RecordMetadata>> SendFuture(ProducerRecord record);

  // Sends every buffered record at once (ignoring linger) and waits until
  // every record accepted before the call has its outcome and its callback
  // has returned. Returns OK if every record whose outcome became known since
  // the previous Flush was delivered, else the first delivery error (each
  // record's own outcome went to its callback).
  absl::Status Flush();

  // Records accepted by Send whose callback has not run yet.
  size_t pending_records() const;

  // Sends everything buffered and waits up to `timeout` for every record to
  // have its outcome (as Flush); then fails what is left with CANCELLED,
  // cancels requests in flight, and stops the sender thread. Returns what
  // Flush would, or DEADLINE_EXCEEDED if the timeout ran out first. Later
  // Sends fail with FAILED_PRECONDITION. Idempotent; call it from one
  // thread, not from a delivery callback (FAILED_PRECONDITION).
  absl::Status Close(absl::Duration timeout = absl::InfiniteDuration());

  MetadataCache& metadata() { return *metadata_; }

 private:
  struct Pending {
    DeliveryCallback callback;
    int64_t timestamp_ms = 0;
  };
  // A sealed batch: encoded, waiting to be sent, in flight or being retried.
  struct Batch {
    std::string bytes;
    std::vector<Pending> records;
    size_t buffered = 0;  // bytes it holds of buffer_memory
    absl::Time created_at;     // when its first record was appended
    uint64_t sequence = 0;     // seal order, for Flush
    absl::Status build_error;  // encoding failed: fails without being sent
    absl::Status last_error;   // why the last attempt failed, for the timeout message
  };
  // Everything about one partition. Created on first use, never removed.
  struct PartitionQueue {
    explicit PartitionQueue(TopicPartition t, runnel::batch::Compression c)
        : tp(std::move(t)), builder(c) {}
    const TopicPartition tp;
    // The open batch: records appended but not sealed (open iff non-empty).
    runnel::batch::BatchBuilder builder;
    std::vector<Pending> open_records;
    size_t open_buffered = 0;
    absl::Time opened_at;
    int32_t num_partitions = 1;  // of the topic, for the sticky partitioner
    // Sealed batches in seal order, not yet in flight.
    std::deque<Batch> ready;
    std::string leader_address;  // where its last request went
    bool in_flight = false;      // a request carries this partition's batches
    absl::Time retry_at = absl::InfinitePast();
    int failures = 0;  // consecutive failed attempts, for the backoff
  };
  // A batch whose outcome is known, with its base offset or error.
  struct Completed {
    TopicPartition tp;
    Batch batch;
    absl::StatusOr<int64_t> base_offset;
  };
  struct TopicEntry {
    int32_t num_partitions = 0;
    absl::Time checked_at;
    std::vector<PartitionQueue*> queues;  // by partition; null until first used
  };
  struct InFlight;  // one Produce RPC; defined in producer.cc

  // The topic's entry, whose partition count is refreshed from MetadataCache
  // at most every second (MetadataCache itself refreshes on demand). Entries
  // are never removed, so the pointer stays valid; read it under mu_.
  absl::StatusOr<TopicEntry*> Topic(const std::string& topic, absl::Time now);
  PartitionQueue& QueueLocked(TopicEntry& entry, const std::string& topic, int32_t partition)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void SealLocked(PartitionQueue& q, absl::Time now) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void WakeSenderLocked(absl::Time by) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Waits until every batch sealed so far has its outcome or `deadline`
  // passes; returns (and clears) the first failure since the last call.
  absl::Status AwaitSealedLocked(absl::Time deadline) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  bool OnSenderThread() const;

  // The sender thread's loop and its steps.
  void RunSender();
  // Applies finished RPCs' outcomes: completions, or batches put back for a retry.
  void HandleResponsesLocked(absl::Time now, std::vector<Completed>* done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Seals lingered batches, expires timed-out ones, and lists partitions with
  // batches to send now; `wake` gets the next time something becomes due.
  void CollectLocked(absl::Time now, std::vector<PartitionQueue*>* sendable,
                     std::vector<Completed>* done, absl::Time* wake)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Puts a failed attempt's batches back at the front of their partition.
  void RetryLaterLocked(PartitionQueue& q, std::vector<Batch> batches, const absl::Status& why,
                        absl::Time now, std::vector<Completed>* done)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  void FailLocked(PartitionQueue& q, std::vector<Batch> batches, const absl::Status& why,
                  std::vector<Completed>* done) ABSL_EXCLUSIVE_LOCKS_REQUIRED(mu_);
  // Groups the partitions' batches into requests by leader and starts them.
  void SendRequests(const std::vector<PartitionQueue*>& sendable, std::vector<Completed>* done);
  void StartCall(std::unique_ptr<InFlight> call);
  // Runs the callbacks of `done`, then releases their records' accounting.
  void Finish(std::vector<Completed>* done);

  const ProducerOptions options_;
  std::shared_ptr<MetadataCache> metadata_;

  mutable absl::Mutex mu_;
  absl::CondVar sender_cv_;  // wakes the sender: work, a response, closing
  absl::CondVar space_cv_;   // buffer space freed, or batches completed (Flush)
  std::map<std::string, TopicEntry> topics_ ABSL_GUARDED_BY(mu_);
  std::map<TopicPartition, std::unique_ptr<PartitionQueue>> queues_ ABSL_GUARDED_BY(mu_);
  StickyPartitioner sticky_ ABSL_GUARDED_BY(mu_);
  uint64_t next_sequence_ ABSL_GUARDED_BY(mu_) = 0;
  std::set<uint64_t> incomplete_ ABSL_GUARDED_BY(mu_);  // sealed batches not finished
  size_t pending_ ABSL_GUARDED_BY(mu_) = 0;
  size_t buffered_ ABSL_GUARDED_BY(mu_) = 0;
  int blocked_senders_ ABSL_GUARDED_BY(mu_) = 0;  // Send calls waiting for space
  absl::Status first_failure_ ABSL_GUARDED_BY(mu_);
  // When the sleeping sender wakes up by itself; InfinitePast while awake.
  absl::Time sender_wake_at_ ABSL_GUARDED_BY(mu_) = absl::InfinitePast();
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  // RPCs: started, finished (waiting for the sender), and per broker address.
  std::map<InFlight*, std::unique_ptr<InFlight>> in_flight_ ABSL_GUARDED_BY(mu_);
  std::vector<InFlight*> finished_ ABSL_GUARDED_BY(mu_);
  std::map<std::string, int> in_flight_per_broker_ ABSL_GUARDED_BY(mu_);

  std::thread sender_;  // last: starts after everything above exists
};

}  // namespace runnel::client

#endif  // RUNNEL_CLIENT_PRODUCER_H_
