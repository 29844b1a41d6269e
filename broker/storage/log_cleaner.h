// Retention and log compaction: the background work that bounds partition
// logs by age and size (cleanup.policy=delete) and thins them to the latest
// record per key (cleanup.policy=compact), as Kafka's log retention and log
// cleaner do.
//
// Storage knows nothing of topics or replication, so the caller says, per
// partition, which TopicConfig applies and where the high watermark is
// (CleanerPolicyFn). Nothing at or above the high watermark is ever deleted
// or rewritten. The core steps, ApplyRetention and Compact, are plain
// functions with the clock passed in, so tests drive them directly;
// LogCleaner runs them over every partition on a background thread.
//
// Retention deletes whole batches from the front with
// PartitionLog::TruncatePrefix (the log start offset moves; fetches below it
// get OUT_OF_RANGE). Compaction never moves an offset: a batch that loses
// records is rewritten with the same base offset and last_offset_delta (so
// its RocksDB key, its last offset, stays), keeping the survivors at their
// offsets, their timestamps and the batch's codec; each rewrite is an atomic
// RocksDB write, so a crash at any moment leaves every batch either old or
// new. A batch left with no records is deleted, except the one holding the
// partition's last offset, which becomes an empty batch (record_count 0, as
// Kafka v2 keeps): the log end offset is recovered from that batch on
// restart. See Compact for the rules.
//
// Memory: batches are streamed one at a time (ScanBatches); compaction's key
// map has a fixed budget and the partition is processed in chunks of as
// many batches as the map holds keys for.
//
// Thread-safety: ApplyRetention and Compact may run concurrently with appends,
// reads and truncations of the same log (a truncation that races a rewrite
// wins: the rewrite is skipped). Run at most one of them per partition at a
// time. LogCleaner's methods are thread-safe.
#ifndef RUNNEL_BROKER_STORAGE_LOG_CLEANER_H_
#define RUNNEL_BROKER_STORAGE_LOG_CLEANER_H_

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <thread>

#include "absl/status/statusor.h"
#include "absl/synchronization/mutex.h"
#include "absl/time/time.h"
#include "broker/storage/log.h"
#include "common/topic_config.h"

namespace runnel::storage {

// What the cleaner must be told about one partition.
struct CleanerPolicy {
  // The topic's effective configuration (cleanup.policy, retention.*,
  // delete.retention.ms, min.compaction.lag.ms).
  TopicConfig config;
  // Offsets at or above this are not committed yet: never touched.
  int64_t high_watermark = 0;
};

// The policy of a partition, or nullopt to leave it alone (e.g. the broker
// does not know the topic yet, right after a restart).
using CleanerPolicyFn = std::function<std::optional<CleanerPolicy>(const PartitionId&)>;

struct RetentionResult {
  int64_t log_start_offset = 0;  // after retention
  int64_t batches_deleted = 0;
  int64_t bytes_deleted = 0;
};

// Applies retention.ms and retention.bytes when config.cleanup_delete: deletes
// whole batches from the front while either
//  - the batch and all before it are older than retention.ms (its max
//    timestamp < now_ms - retention.ms; the first young batch stops this), or
//  - the partition is larger than retention.bytes (so it may end up a little
//    below the limit),
// never deleting a batch that ends at or above high_watermark. -1 disables a
// limit. Reads only the batches it deletes (and the one after).
absl::StatusOr<RetentionResult> ApplyRetention(PartitionLog& log, const TopicConfig& config,
                                               int64_t high_watermark, int64_t now_ms);

struct CompactionOptions {
  // Where the records not compacted yet begin (CompactionResult::cleaned_end
  // of the previous pass); records before it already have unique keys. Only
  // the keys of [first_dirty_offset, ...) are mapped, but every batch from
  // the log start may lose records. 0 treats the whole log as dirty.
  int64_t first_dirty_offset = 0;
  // Size of the clean part, [log start, first_dirty_offset), for the ratio.
  int64_t clean_bytes = 0;
  // Compact only when the cleanable dirty bytes are at least this fraction of
  // clean + cleanable dirty bytes (Kafka's min.cleanable.dirty.ratio), since
  // every pass rewrites from the log start. 0 always compacts.
  double min_cleanable_ratio = 0;
  // Budget of the key map; a pass maps as many batches as fit (at least one).
  size_t map_memory_bytes = 64 << 20;
  // Rewrites are buffered up to this many bytes of original batches, then
  // written together (each batch's rewrite is atomic either way).
  size_t max_write_bytes = 4 << 20;
  // When set and true, Compact stops at the next batch with Cancelled.
  const std::atomic<bool>* cancel = nullptr;
};

struct CompactionResult {
  // False when nothing was cleanable (no batch below the high watermark that
  // is older than min.compaction.lag.ms) or the ratio was not reached.
  bool compacted = false;
  // The end of the range whose keys were mapped: the next pass's
  // first_dirty_offset. Below the end of the cleanable range when the map
  // filled up: call again to go on.
  int64_t cleaned_end = 0;
  // Bytes of [log start, cleaned_end) after this pass.
  int64_t clean_bytes = 0;
  int64_t records_removed = 0;
  int64_t batches_rewritten = 0;  // replaced by a smaller or an empty batch
  int64_t batches_deleted = 0;
};

// Compacts when config.cleanup_compact. The cleanable range ends at the high
// watermark, at the first batch younger than min.compaction.lag.ms (by max
// timestamp), or where the key map fills up. A record is removed when
//  - a later record in the mapped range has the same key, or
//  - it is a tombstone (null value) whose timestamp is more than
//    delete.retention.ms before now_ms (consumers had that long to see it).
// Keyless records are kept (produce rejects them on compacted topics, but a
// topic may have been switched to compact) and control batches are left
// alone. DataLoss if a stored batch does not decode; the log is unchanged
// for batches not yet rewritten.
absl::StatusOr<CompactionResult> Compact(PartitionLog& log, const TopicConfig& config,
                                         int64_t high_watermark, int64_t now_ms,
                                         const CompactionOptions& options = {});

struct LogCleanerOptions {
  // Time between passes over all partitions.
  absl::Duration interval = absl::Seconds(30);
  // Memory for compaction's key map (one pass at a time).
  size_t map_memory_bytes = 64 << 20;
  // See CompactionOptions::min_cleanable_ratio (Kafka's default).
  double min_cleanable_ratio = 0.5;
};

// Runs retention and compaction over every partition of a LogManager, every
// interval on its own thread. Remembers per partition where compaction got
// to (in memory: after a restart the first pass treats each compacted
// partition as all dirty, which costs one full pass but is always correct).
class LogCleaner {
 public:
  // `logs` must outlive the cleaner.
  LogCleaner(LogManager* logs, CleanerPolicyFn policy, LogCleanerOptions options = {});
  ~LogCleaner();  // Stop()s
  LogCleaner(const LogCleaner&) = delete;
  LogCleaner& operator=(const LogCleaner&) = delete;

  // Starts the background thread; its first pass is one interval from now.
  void Start();
  // Interrupts a running pass (between batches) and joins the thread.
  void Stop();

  // One pass over every partition on the calling thread, at now_ms: what the
  // thread runs each interval. For tests; serialised with the thread's passes.
  void RunOnce(int64_t now_ms);

 private:
  // Compaction progress of one partition.
  struct DirtyState {
    int64_t first_dirty_offset = 0;
    int64_t clean_bytes = 0;
  };
  void Loop();
  void CleanPartition(PartitionLog& log, const CleanerPolicy& policy, int64_t now_ms,
                      DirtyState* state);

  LogManager* const logs_;
  const CleanerPolicyFn policy_;
  const LogCleanerOptions options_;
  std::atomic<bool> cancel_{false};

  absl::Mutex run_mu_;  // one pass at a time
  std::map<PartitionId, DirtyState> dirty_ ABSL_GUARDED_BY(run_mu_);

  absl::Mutex mu_;
  bool stop_ ABSL_GUARDED_BY(mu_) = false;
  std::thread thread_;
};

}  // namespace runnel::storage

#endif  // RUNNEL_BROKER_STORAGE_LOG_CLEANER_H_
